"""benchmarks/quality.py rewrites the tables of docs/quality.md and keeps the notes under them."""

import importlib.util
from pathlib import Path

import pytest

QUALITY = Path(__file__).resolve().parents[2] / "benchmarks" / "quality.py"


@pytest.fixture(scope="module")
def quality():
    spec = importlib.util.spec_from_file_location("quality_benchmark", QUALITY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DOCUMENT = """# Quality under wall-clock budgets

## Denoising

| photo | PSNR |
|---|---|
| F16 | 30.00 |

Notes: the notes on what changed, which a re-run must keep.

## Super-resolution

| photo | PSNR |
|---|---|
| zebra | 25.00 |
"""


def test_only_the_measured_tables_change_and_the_notes_stay(quality):
    rows = ["| photo | PSNR |", "|---|---|", "| F16 | 32.21 |", "| barbara | 29.64 |"]
    updated = quality.update_tables(DOCUMENT, [("Denoising", rows)])
    assert "| F16 | 32.21 |\n| barbara | 29.64 |\n\nNotes: the notes" in updated
    assert "30.00" not in updated and "| zebra | 25.00 |" in updated  # the other section as it was
    assert quality.update_tables(updated, [("Denoising", rows)]) == updated  # a second run changes nothing


def test_a_new_section_is_added_at_the_end_and_a_missing_table_before_the_notes(quality):
    updated = quality.update_tables(DOCUMENT, [("Inpainting", ["| kate | 41.32 |"])])
    assert updated.endswith("## Inpainting\n\n| kate | 41.32 |\n") and updated.startswith(DOCUMENT.rstrip("\n"))
    notes_only = "## Inpainting\n\nNotes, no table yet.\n"
    assert quality.update_tables(notes_only, [("Inpainting", ["| kate |"])]) == \
        "## Inpainting\n\n| kate |\n\nNotes, no table yet.\n"
