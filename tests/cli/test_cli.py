"""The command-line contract: outputs, metrics JSON, and every user-error path."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dip_gui.cli.main import build_parser, main
from dip_gui.core.imaging import load_image, save_image
from dip_gui.core.problem.degradations import add_gaussian_noise

FAST = ["--iters", "3", "--quiet"]


@pytest.fixture
def photo(tmp_path, smooth_image) -> Path:
    path = tmp_path / "photo.png"
    save_image(path, smooth_image(24, 20))
    return path


def run_cli(*args) -> int:
    return main([str(a) for a in args])


def test_run_denoise_writes_output_and_metrics(photo, tmp_path):
    out, metrics = tmp_path / "out.png", tmp_path / "m.json"
    assert run_cli("run", photo, "-o", out, "--task", "denoise", "--reference", photo, "--metrics-json", metrics, *FAST) == 0
    assert load_image(out).size == (24, 20)
    data = json.loads(metrics.read_text())
    assert data["iterations"] == 3 and data["preset"] == "fast" and data["device"] == "cpu"
    assert data["parameters"] > 0 and len(data["history"]) == 3
    assert {"iteration", "loss", "seconds", "psnr"} <= set(data["history"][0])
    assert data["best"]["iteration"] in (1, 2, 3)
    assert data["start_seconds"] > 0, "the denoiser's non-local means start takes time before iteration 1"
    saved_psnr = data["final"]["psnr"]
    from dip_gui.core.metrics import psnr

    assert saved_psnr == pytest.approx(psnr(load_image(out).rgb, load_image(photo).rgb), abs=1e-6)


def test_a_denoise_run_judges_its_result_against_its_start_unless_told_to_run_on(tmp_path, smooth_image, capsys):
    noisy = tmp_path / "noisy.png"
    save_image(noisy, add_gaussian_noise(smooth_image(24, 20), 25, seed=1))
    out, metrics = tmp_path / "out.png", tmp_path / "m.json"
    assert run_cli("run", noisy, "-o", out, "--task", "denoise", "--iters", "3", "--metrics-json", metrics) == 0
    check = json.loads(metrics.read_text())["start_check"]
    assert check["iteration"] == 3 and check["measure"] == "recorrupted copy" and 0 <= check["network_share"] <= 1
    told = capsys.readouterr().err
    assert "checking the result against its classical start" in told and "recorrupted copy of the photo" in told
    assert run_cli("run", noisy, "-o", out, "--task", "denoise", "--iters", "3", "--metrics-json", metrics,
                   "--no-auto-stop", "--quiet") == 0
    assert "start_check" not in json.loads(metrics.read_text())


def test_run_sr_output_is_k_times_larger(photo, tmp_path):
    out = tmp_path / "big.png"
    assert run_cli("run", photo, "-o", out, "--task", "sr", "--scale", "2", *FAST) == 0
    assert load_image(out).size == (48, 40)


def test_an_x2_super_resolution_judges_its_result_on_the_photo_s_downscaled_copy(tmp_path, smooth_image, capsys):
    small = tmp_path / "small.png"
    save_image(small, smooth_image(40, 36))
    out, metrics = tmp_path / "big.png", tmp_path / "m.json"
    assert run_cli("run", small, "-o", out, "--task", "sr", "--scale", "2", "--iters", "3", "--metrics-json", metrics) == 0
    check = json.loads(metrics.read_text())["start_check"]
    assert check["iteration"] == 3 and check["measure"] == "downscaled copy" and 0 <= check["network_share"] <= 1
    told = capsys.readouterr().err
    assert "to check the result" in told.split("estimate:")[1].splitlines()[0]  # the estimate counts the check
    assert "the photo's own downscaled copy" in told
    assert load_image(out).size == (80, 72)


def test_a_small_photo_the_camera_blurred_is_made_and_restored_with_that_blur(tmp_path, smooth_image):
    clean, sharp, small = tmp_path / "clean.png", tmp_path / "sharp.png", tmp_path / "small.png"
    save_image(clean, smooth_image(40, 36))
    assert run_cli("degrade", clean, "-o", small, "--downscale", "2", "--blur", "1.5") == 0
    assert run_cli("degrade", clean, "-o", sharp, "--downscale", "2") == 0
    assert np.abs(np.diff(load_image(small).rgb, axis=1)).mean() < np.abs(np.diff(load_image(sharp).rgb, axis=1)).mean()
    assert run_cli("degrade", clean, "-o", tmp_path / "x.png", "--blur", "1.5") == 2  # blur is before a downscale
    out, metrics = tmp_path / "big.png", tmp_path / "m.json"
    assert run_cli("run", small, "-o", out, "--task", "sr", "--scale", "2", "--blur", "1.5", "--iters", "3",
                   "--metrics-json", metrics, "--quiet") == 0
    assert json.loads(metrics.read_text())["blur"] == 1.5 and load_image(out).size == (40, 36)


def test_run_inpaint_keeps_known_pixels_with_a_user_mask(photo, tmp_path):
    holes = np.zeros((24, 20), np.float32)
    holes[8:14, 6:12] = 1.0  # white = fill
    mask = tmp_path / "mask.png"
    save_image(mask, holes)
    out = tmp_path / "filled.png"
    assert run_cli("run", photo, "-o", out, "--task", "inpaint", "--mask", mask, *FAST) == 0
    result, source = load_image(out).rgb, load_image(photo).rgb
    known = holes == 0
    np.testing.assert_allclose(result[known], source[known], atol=1 / 255 + 1e-6)


def test_paper_mask_convention_option(photo, tmp_path):
    known_white = np.ones((24, 20), np.float32)
    known_white[3:6, 3:6] = 0.0  # black = hole (the paper's files)
    mask = tmp_path / "paper_mask.png"
    save_image(mask, known_white)
    out = tmp_path / "o.png"
    assert run_cli("run", photo, "-o", out, "--task", "inpaint", "--mask", mask, "--mask-white-known", *FAST) == 0


@pytest.mark.timing
def test_max_seconds_stops_early(photo, tmp_path):
    metrics = tmp_path / "m.json"
    args = ("run", photo, "-o", tmp_path / "o.png", "--task", "denoise", "--iters", "100000", "--max-seconds", "0.5")
    assert run_cli(*args, "--metrics-json", metrics, "--quiet") == 0
    data = json.loads(metrics.read_text())
    assert 0 < data["iterations"] < 100000 and data["seconds"] < 5


def test_degrade_all_kinds(photo, tmp_path):
    assert run_cli("degrade", photo, "-o", tmp_path / "n.png", "--noise", "25") == 0
    assert run_cli("degrade", photo, "-o", tmp_path / "d.png", "--downscale", "4") == 0
    assert load_image(tmp_path / "d.png").size == (6, 5)
    assert run_cli("degrade", photo, "-o", tmp_path / "j.jpg", "--jpeg", "20") == 0
    assert run_cli("degrade", photo, "-o", tmp_path / "r.png", "--drop", "0.5", "--seed", "3") == 0
    hole = load_image(tmp_path / "r_mask.png").rgb[:, :, 0] > 0.5
    assert 0.3 < hole.mean() < 0.7
    assert np.all(load_image(tmp_path / "r.png").rgb[hole] == 0)


def test_presets_json_lists_every_task_with_parameter_counts(capsys):
    assert run_cli("presets", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    tasks = {row["task"] for row in rows}
    assert tasks == {"denoise", "jpeg", "sr", "inpaint", "restore", "flash"}
    by_key = {(r["task"], r["name"]): r for r in rows}
    assert by_key[("denoise", "paper")]["parameters"] == 2_217_831
    assert by_key[("denoise", "paper")]["lr"] == 0.01 and by_key[("denoise", "paper")]["iterations"] == 3000
    assert all({"fast", "paper"} <= {r["name"] for r in rows if r["task"] == t} for t in tasks)


# --- error paths: exit 2, one line on stderr, no traceback, no output file ----------------------


def _broken_files(tmp_path: Path) -> dict[str, Path]:
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("this is not an image")
    truncated = tmp_path / "truncated.png"
    good = tmp_path / "good.png"
    Image.fromarray(np.zeros((64, 64, 3), np.uint8) + 100).save(good)
    truncated.write_bytes(good.read_bytes()[:60])
    return {"empty": empty, "text": text, "truncated": truncated}


def error_cases(photo: Path, tmp_path: Path):
    from tests.makers import smooth_image
    broken = _broken_files(tmp_path)
    wrong_mask = tmp_path / "wrong_mask.png"
    save_image(wrong_mask, np.ones((5, 5), np.float32))
    empty_mask = tmp_path / "empty_mask.png"
    save_image(empty_mask, np.zeros((24, 20), np.float32))
    small = tmp_path / "small.png"
    save_image(small, smooth_image(10, 10))
    out = tmp_path / "out.png"
    base = ["-o", out, *FAST]
    return {
        "missing input": ["run", tmp_path / "nope.png", "--task", "denoise", *base],
        "empty input": ["run", broken["empty"], "--task", "denoise", *base],
        "not an image": ["run", broken["text"], "--task", "denoise", *base],
        "truncated": ["run", broken["truncated"], "--task", "denoise", *base],
        "output is input": ["run", photo, "-o", photo, "--task", "denoise", *FAST],
        "bad output format": ["run", photo, "-o", tmp_path / "out.xyz", "--task", "denoise", *FAST],
        "missing output folder": ["run", photo, "-o", tmp_path / "no" / "out.png", "--task", "denoise", *FAST],
        "inpaint without mask": ["run", photo, "--task", "inpaint", *base],
        "mask wrong size": ["run", photo, "--task", "inpaint", "--mask", wrong_mask, *base],
        "mask with no hole": ["run", photo, "--task", "inpaint", "--mask", empty_mask, *base],
        "sr without scale": ["run", photo, "--task", "sr", *base],
        "flash without guide": ["run", photo, "--task", "flash", *base],
        "flash guide wrong size": ["run", photo, "--task", "flash", "--guide", small, *base],
        "zero iterations": ["run", photo, "--task", "denoise", "-o", out, "--iters", "0"],
        "negative lr": ["run", photo, "--task", "denoise", "--lr", "-1", *base],
        "zero seconds": ["run", photo, "--task", "denoise", "--max-seconds", "0", *base],
        "unknown preset": ["run", photo, "--task", "denoise", "--preset", "turbo", *base],
        "reference wrong size": ["run", photo, "--task", "denoise", "--reference", small, *base],
        "cuda missing": ["run", photo, "--task", "denoise", "--device", "cuda", *base],
        "degrade nothing": ["degrade", photo, "-o", out],
        "degrade over input": ["degrade", photo, "-o", photo, "--noise", "5"],
        "degrade bad drop": ["degrade", photo, "-o", out, "--drop", "1.5"],
    }


def test_every_error_path_exits_cleanly(photo, tmp_path, capsys):
    import torch

    before = photo.read_bytes()
    for name, args in error_cases(photo, tmp_path).items():
        if name == "cuda missing" and torch.cuda.is_available():
            continue
        code = run_cli(*args)
        err = capsys.readouterr().err.strip()
        assert code == 2, f"{name}: exit {code}"
        assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, f"{name}: {err!r}"
        assert not (tmp_path / "out.png").exists(), name
    assert photo.read_bytes() == before


def test_a_real_process_prints_one_line_and_no_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "dip_gui", "run", str(tmp_path / "missing.png"), "-o", str(tmp_path / "o.png"),
         "--task", "denoise"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: {tmp_path / 'missing.png'}: no such file"


def test_scale_three_is_refused_by_the_parser(photo, tmp_path):
    with pytest.raises(SystemExit) as exc:
        run_cli("run", photo, "-o", tmp_path / "o.png", "--task", "sr", "--scale", "3")
    assert exc.value.code == 2


def test_auto_stop_saves_the_suggested_iteration_and_its_psnr(photo, tmp_path, monkeypatch):
    from dip_gui.core.stopping import detectors

    # A tiny run cannot overfit for real: make the detector fire after a short patience.
    def quick(cls, n, start=0, suggests=True):
        return cls(window=3, patience=4, start=start, suggests=suggests)

    monkeypatch.setattr(detectors.VarianceStopDetector, "for_run", classmethod(quick))
    out, metrics, snaps = tmp_path / "o.png", tmp_path / "m.json", tmp_path / "snaps"
    args = ("run", photo, "-o", out, "--task", "denoise", "--iters", "60", "--reference", photo, "--metrics-json", metrics,
            "--auto-stop", "--save-snapshots", snaps, "--quiet")
    assert run_cli(*args) == 0
    data = json.loads(metrics.read_text())
    suggestion = data["stop_suggestion"]
    assert {"iteration", "measure", "score", "window", "patience"} <= set(suggestion)
    assert suggestion["measure"] == "output variance"
    assert data["iterations"] < 60 and data["final"]["iteration"] == suggestion["iteration"]
    from dip_gui.core.metrics import psnr

    assert data["final"]["psnr"] == pytest.approx(psnr(load_image(out).rgb, load_image(photo).rgb), abs=1e-6)
    files = sorted(p.name for p in snaps.iterdir())
    assert files and f"snapshot_{suggestion['iteration']:06d}.png" in files


def quick_detector(monkeypatch) -> None:
    """A tiny run cannot overfit for real: make the detector fire after a short patience."""
    from dip_gui.core.stopping import detectors

    def quick(cls, n, start=0, suggests=True):
        return cls(window=3, patience=4, start=start, suggests=suggests)

    monkeypatch.setattr(detectors.VarianceStopDetector, "for_run", classmethod(quick))


def test_a_run_left_alone_stops_at_the_suggestion_and_saves_that_result(photo, tmp_path, monkeypatch):
    """Stopping at the detected point is the default; keeping going is asked for with --no-auto-stop."""
    quick_detector(monkeypatch)
    metrics = tmp_path / "m.json"
    assert run_cli("run", photo, "-o", tmp_path / "o.png", "--task", "denoise", "--iters", "60", "--metrics-json", metrics,
                   "--quiet") == 0
    data = json.loads(metrics.read_text())
    stop = data["stop_suggestion"]["iteration"]
    assert data["end_reason"] == "auto-stopped" and data["final"]["iteration"] == stop and data["iterations"] < 60

    assert run_cli("run", photo, "-o", tmp_path / "all.png", "--task", "denoise", "--iters", "60", "--metrics-json",
                   metrics, "--quiet", "--no-auto-stop") == 0
    data = json.loads(metrics.read_text())
    assert data["end_reason"] == "done" and data["iterations"] == 60 == data["final"]["iteration"]


def test_a_reference_measures_but_never_moves_the_stop(photo, tmp_path, monkeypatch):
    quick_detector(monkeypatch)
    ends = []
    for extra in ([], ["--reference", photo]):
        metrics = tmp_path / "m.json"
        assert run_cli("run", photo, "-o", tmp_path / "o.png", "--task", "denoise", "--iters", "60", "--metrics-json",
                       metrics, "--quiet", *extra) == 0
        ends.append(json.loads(metrics.read_text())["final"]["iteration"])
    assert ends[0] == ends[1] < 60


@pytest.mark.parametrize("kind", [["--noise", "25"], ["--jpeg", "30"], ["--downscale", "2"], ["--drop", "0.5"]])
def test_degrading_a_grey_photo_degrades_its_one_channel(tmp_path, kind, smooth_image):
    grey = tmp_path / "grey.png"
    Image.fromarray((64 + smooth_image(40, 40)[:, :, 0] * 128).astype(np.uint8)).save(grey)  # no clipping
    out = tmp_path / "out.png"
    assert run_cli("degrade", grey, "-o", out, *kind, "--seed", "4") == 0
    assert load_image(out).grey
    if kind[0] == "--noise":
        from dip_gui.core.metrics import psnr

        clean, noisy = load_image(grey).rgb, load_image(out).rgb
        assert psnr(noisy, clean) == pytest.approx(20.2, abs=0.5)  # sigma 25 (25/sqrt(3) would give 25 dB)


def test_a_run_that_keeps_diverging_still_saves_the_last_good_result(photo, tmp_path, monkeypatch):
    from dip_gui.core.errors import DivergenceError
    from dip_gui.core.session import session as session_module

    original = session_module.Session.step

    def step(self, want_image=False):
        if self.iteration >= 4:
            raise DivergenceError("the optimisation diverged 7 times; stopped and kept the last good result")
        return original(self, want_image)

    monkeypatch.setattr(session_module.Session, "step", step)
    out, metrics = tmp_path / "o.png", tmp_path / "m.json"
    assert run_cli("run", photo, "-o", out, "--task", "denoise", "--iters", "50", "--metrics-json", metrics, "--quiet") == 0
    assert load_image(out).size == (24, 20)
    data = json.loads(metrics.read_text())
    assert data["stopped_early"] == "diverged" and data["iterations"] == 4


@pytest.mark.parametrize("text", ["CUDA out of memory. Tried to allocate 20.00 GiB",
                                  "DefaultCPUAllocator: can't allocate memory: you tried to allocate 9000000000 bytes"])
def test_out_of_memory_is_a_message_that_says_what_to_change(photo, tmp_path, capsys, monkeypatch, text):
    from dip_gui.core.networks import SkipNet

    def exhausted(self, x):
        raise RuntimeError(text)

    monkeypatch.setattr(SkipNet, "forward", exhausted)
    before = photo.read_bytes()
    code = main(["run", str(photo), "-o", str(tmp_path / "out.png"), "--task", "denoise", "--iters", "3", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "out of memory" in err and "smaller preset" in err and "CPU" in err
    assert not (tmp_path / "out.png").exists() and photo.read_bytes() == before


def test_a_long_run_is_announced_with_a_warning(photo, tmp_path, capsys, monkeypatch):
    import dip_gui.cli.run as runner

    monkeypatch.setattr(runner, "LONG_RUN_S", 1e-6)
    assert main(["run", str(photo), "-o", str(tmp_path / "a.png"), "--task", "denoise", "--iters", "2"]) == 0
    err = capsys.readouterr().err
    assert "estimate: ~" in err and "warning: This run would take about" in err
    assert main(["run", str(photo), "-o", str(tmp_path / "b.png"), "--task", "denoise", "--iters", "2",
                 "--max-seconds", "1e-9"]) == 0  # a time budget bounds the run: no warning about time
    assert "warning" not in capsys.readouterr().err


def test_the_announced_estimate_follows_the_host_memory_setting(photo, tmp_path, capsys):
    from dip_gui.core.estimate.memory import plan_for_setting
    from dip_gui.core.problem.presets import get_preset

    announced = {}
    for setting in ("fast", "lean"):
        assert main(["run", str(photo), "-o", str(tmp_path / f"{setting}.png"), "--task", "denoise", "--iters", "1",
                     "--host-memory", setting]) == 0
        line = next(x for x in capsys.readouterr().err.splitlines() if x.startswith("estimate: "))
        announced[setting] = line.rsplit("~", 1)[1]
    planned = {s: plan_for_setting(s, get_preset("denoise", "fast"), (20, 24), 3, None).estimated_bytes
               for s in ("fast", "lean")}
    assert planned["fast"] != planned["lean"]  # else the test shows nothing
    assert announced == {s: f"{b / 2**20:,.0f} MB" for s, b in planned.items()}


def test_tiled_run_writes_the_whole_photo_and_refuses_single_session_options(tmp_path, capsys, smooth_image):
    photo = tmp_path / "wide.png"
    save_image(photo, smooth_image(40, 150))
    metrics = tmp_path / "m.json"
    assert main(["run", str(photo), "-o", str(tmp_path / "out.png"), "--task", "denoise", "--iters", "2", "--tile", "64",
                 "--tile-overlap", "16", "--metrics-json", str(metrics), "--reference", str(photo), "--quiet"]) == 0
    report = json.loads(metrics.read_text())
    assert report["tiles"] == 3 and "psnr" in report["final"]
    assert load_image(tmp_path / "out.png").size == (40, 150)
    assert main(["run", str(photo), "-o", str(tmp_path / "x.png"), "--task", "denoise", "--tile", "64",
                 "--resume", str(tmp_path / "c.dips")]) == 2
    assert "does not work with --tile" in capsys.readouterr().err
    assert main(["run", str(photo), "-o", str(tmp_path / "x.png"), "--task", "denoise", "--tile", "20"]) == 2
    assert "more than twice the overlap" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_a_budget_keeps_the_default_preset_of_every_task(photo, tmp_path):
    """A long --max-seconds budget keeps `fast`: it gets further than `balanced` in any CPU budget
    (docs/presets.md); the budget only bounds the run."""
    from dip_gui.cli.run_inputs import preset_for
    from dip_gui.core.imaging import load_image

    loaded = load_image(photo)

    parser = build_parser()
    for task, scale in (("sr", ["--scale", "2"]), ("denoise", [])):
        args = parser.parse_args(["run", str(photo), "-o", str(tmp_path / "x.png"), "--task", task, *scale,
                                  "--device", "cpu", "--max-seconds", "1e6"])
        assert preset_for(args, loaded).name == "fast"
    args = parser.parse_args(["run", str(photo), "-o", str(tmp_path / "x.png"), "--task", "sr", "--scale", "2",
                              "--device", "cpu", "--max-seconds", "1e6", "--preset", "balanced"])
    assert preset_for(args, loaded).name == "balanced"  # a named preset is kept


@pytest.mark.parametrize("victim", ["mask", "reference", "resume"])
def test_metrics_json_never_overwrites_a_file_the_run_reads(photo, tmp_path, capsys, victim):
    """Every path the run writes is checked against every path it reads, before the first iteration."""
    import hashlib

    mask = tmp_path / "m.png"
    holes = np.zeros((24, 20), np.float32)
    holes[8:12, 6:10] = 1.0  # white = fill
    save_image(mask, holes)
    inputs = {"mask": ["--task", "inpaint", "--mask", mask], "reference": ["--task", "denoise", "--reference", photo]}
    if victim == "resume":
        session_file = tmp_path / "run.dips"
        assert run_cli("run", photo, "-o", tmp_path / "a.png", "--task", "denoise", "--iters", "2", "--checkpoint",
                       session_file, "--quiet") == 0
        args, target = ["--resume", session_file], session_file
    else:
        args, target = [photo, *inputs[victim]], mask if victim == "mask" else photo
    before = hashlib.sha256(target.read_bytes()).hexdigest()
    code = run_cli("run", *args, "-o", tmp_path / "out.png", "--iters", "2", "--metrics-json", target, "--quiet")
    assert code == 2 and "--metrics-json" in capsys.readouterr().err
    assert hashlib.sha256(target.read_bytes()).hexdigest() == before and not (tmp_path / "out.png").exists()


@pytest.fixture
def saved_run(photo, tmp_path) -> Path:
    path = tmp_path / "saved.dips"
    assert run_cli("run", photo, "-o", tmp_path / "first.png", "--task", "denoise", "--iters", "2", "--checkpoint", path,
                   "--quiet") == 0
    return path


@pytest.mark.parametrize("case, words", [
    ("quality 0", "--quality"), ("quality 500", "--quality"), ("huge seed", "--seed"),
    ("metrics in a missing folder", "folder"), ("metrics onto a folder", "folder"),
    ("snapshots onto a file", "--save-snapshots"), ("mask for denoise", "--mask"),
    ("blur for denoise", "super-resolution"),
])
def test_a_mistake_gets_one_line_and_exit_2_before_any_iteration(photo, tmp_path, capsys, case, words):
    out = tmp_path / "out.png"
    (tmp_path / "a-file.txt").write_text("not a folder")
    (tmp_path / "a-folder").mkdir()
    extra = {
        "quality 0": ["--quality", "0"], "quality 500": ["--quality", "500"],
        "huge seed": ["--seed", "99999999999999999999"],
        "metrics in a missing folder": ["--metrics-json", tmp_path / "nowhere" / "m.json"],
        "metrics onto a folder": ["--metrics-json", tmp_path / "a-folder"],
        "snapshots onto a file": ["--save-snapshots", tmp_path / "a-file.txt"],
        "mask for denoise": ["--mask", photo],
        "blur for denoise": ["--blur", "1"],
    }[case]
    code = run_cli("run", photo, "-o", out, "--task", "denoise", "--iters", "2", "--quiet", *extra)
    err = capsys.readouterr().err
    assert code == 2 and words in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("option", [["--task", "sr"], ["--scale", "2"], ["--blur", "1"], ["--preset", "paper"],
                                    ["--lr", "0.1"], ["--mask", "m.png"], ["PHOTO"]])
def test_resume_refuses_options_the_saved_session_decides(saved_run, photo, tmp_path, capsys, option):
    option = [str(photo) if o == "PHOTO" else o for o in option]
    code = run_cli("run", *option, "--resume", saved_run, "-o", tmp_path / "out.png", "--quiet")
    err = capsys.readouterr().err
    assert code == 2 and "--resume" in err and len(err.strip().splitlines()) == 1


def test_a_strongly_compressed_jpeg_gets_the_shorter_schedule(tmp_path):
    """Quality read from the pixels: below 20 the JPEG preset runs 150 iterations at lr 0.02, above
    it 300 at 0.01; --iters still wins."""
    from dip_gui.cli.run_inputs import preset_for
    from dip_gui.core.imaging import LoadedImage
    from dip_gui.core.problem.degradations import jpeg_compress
    from tests.core.problem.test_jpeg_quality import sample

    parser = build_parser()
    image = sample()
    args = parser.parse_args(["run", "x.png", "-o", str(tmp_path / "x.png"), "--task", "jpeg", "--device", "cpu"])
    strong, light = (preset_for(args, LoadedImage(jpeg_compress(image, quality))) for quality in (10, 40))
    assert (strong.iterations, strong.lr) == (150, 0.02)
    assert (light.iterations, light.lr) == (300, 0.01)
    args = parser.parse_args(["run", "x.png", "-o", str(tmp_path / "x.png"), "--task", "jpeg", "--iters", "77"])
    assert preset_for(args, LoadedImage(jpeg_compress(image, 10))).iterations == 77


def test_a_noisy_photo_gets_the_schedule_its_noise_calls_for(tmp_path):
    """Noise read from the pixels: sigma 30 runs 20 iterations, sigma 12 runs 40, a clean photo the
    preset's 1200; --iters still wins."""
    from dip_gui.cli.run_inputs import preset_for
    from dip_gui.core.imaging import LoadedImage
    from dip_gui.core.problem.degradations import add_gaussian_noise
    from tests.core.problem.test_jpeg_quality import sample

    parser = build_parser()
    image = sample()
    args = parser.parse_args(["run", "x.png", "-o", str(tmp_path / "x.png"), "--task", "denoise", "--device", "cpu"])
    lengths = [preset_for(args, LoadedImage(add_gaussian_noise(image, sigma, seed=3))).iterations
               for sigma in (30, 12, 0)]
    assert lengths == [20, 40, 1200]
    args = parser.parse_args(["run", "x.png", "-o", str(tmp_path / "x.png"), "--task", "denoise", "--iters", "77"])
    assert preset_for(args, LoadedImage(add_gaussian_noise(image, 30))).iterations == 77


def test_run_keeps_the_photos_profile_and_exif_and_names_a_multi_frame_file(tmp_path, capsys):
    """A phone photo's colour profile and camera EXIF reach the result; an animation is restored from
    its first frame, and the run says so."""
    from PIL import Image

    from tests.core.test_photo_metadata import COPYRIGHT, wide_gamut_profile

    exif = Image.Exif()
    exif[COPYRIGHT] = "(c) A. Photographer"
    pixels = np.random.default_rng(1).integers(0, 255, (24, 32, 3), dtype=np.uint8)
    photo = tmp_path / "phone.jpg"
    Image.fromarray(pixels).save(photo, icc_profile=wide_gamut_profile(), exif=exif.tobytes())
    out = tmp_path / "out.png"
    assert run_cli("run", photo, "--task", "denoise", "--iters", "1", "-o", out, "--quiet") == 0
    with Image.open(out) as written:
        assert written.info.get("icc_profile") == wide_gamut_profile()
        assert written.getexif()[COPYRIGHT] == "(c) A. Photographer"
    capsys.readouterr()
    animation = tmp_path / "anim.gif"
    frames = [Image.fromarray(pixels), Image.fromarray(255 - pixels)]
    frames[0].save(animation, save_all=True, append_images=frames[1:])
    assert run_cli("run", animation, "--task", "denoise", "--iters", "1", "-o", tmp_path / "a.png", "--quiet") == 0
    assert "anim.gif has 2 frames or pages; only the first is restored" in capsys.readouterr().err


def test_every_file_the_run_writes_is_tried_before_the_first_iteration(photo, tmp_path, capsys, monkeypatch):
    """A name the file system refuses, a folder where the output goes, a file where the snapshots'
    folder goes: one line and exit 2 before any work, for every path the run writes."""
    import dip_gui.core.session.session as session_module

    def no_session(*args, **kwargs):
        raise AssertionError("the run started")

    monkeypatch.setattr(session_module.Session, "prepare", no_session)
    too_long = tmp_path / ("a" * 300 + ".png")
    (tmp_path / "folder.png").mkdir()
    (tmp_path / "file").write_text("")
    cases = {
        ("-o", too_long): "File name too long",
        ("-o", tmp_path / "folder.png"): "a folder has that name",
        ("--metrics-json", tmp_path / ("m" * 300 + ".json")): "File name too long",
        ("--checkpoint", tmp_path / ("c" * 300 + ".dips")): "File name too long",
        ("--save-snapshots", tmp_path / "file" / "snaps"): "cannot be made",
    }
    for (option, path), reason in cases.items():
        extra = [] if option == "-o" else ["-o", tmp_path / "out.png"]
        code = run_cli("run", photo, "--task", "denoise", "--iters", "2", option, path, *extra, "--quiet")
        err = capsys.readouterr().err
        assert code == 2 and reason in err and len(err.strip().splitlines()) == 1, (option, err)
    capsys.readouterr()
    code = run_cli("run", tmp_path / ("p" * 300 + ".png"), "--task", "denoise", "-o", tmp_path / "x.png")
    assert code == 2 and "cannot be read (File name too long)" in capsys.readouterr().err


def test_a_name_near_the_file_system_limit_is_written(photo, tmp_path):
    """The temporary file beside it keeps a shorter name: a 250-byte name is as good as any."""
    long_name = tmp_path / ("b" * 246 + ".png")
    assert run_cli("run", photo, "--task", "denoise", "--iters", "1", "-o", long_name, "--quiet") == 0
    assert load_image(long_name).size == (24, 20)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_version_and_the_mask_convention_in_the_message(photo, tmp_path, capsys):
    from dip_gui import __version__

    with pytest.raises(SystemExit) as exit_info:
        run_cli("--version")
    assert exit_info.value.code == 0 and capsys.readouterr().out.strip() == f"DIP Studio {__version__}"
    white = tmp_path / "white.png"
    save_image(white, np.ones((24, 20), np.float32))
    code = run_cli("run", photo, "--task", "inpaint", "--mask", white, "--mask-white-known", "-o", tmp_path / "o.png")
    err = capsys.readouterr().err
    assert code == 2 and "holes are black" in err and "paint the holes white" not in err


def test_a_result_whose_output_fails_after_the_run_is_saved_elsewhere_and_said_where(photo, tmp_path, capsys,
                                                                                    monkeypatch):
    """The output's folder is removed while the run goes: the result is not lost."""
    import shutil

    from dip_gui.core.session.session import Session

    folder, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    prepare = Session.prepare

    def prepare_then_lose_the_folder(self):
        prepare(self)
        if folder.exists():
            shutil.rmtree(folder)

    monkeypatch.setattr(Session, "prepare", prepare_then_lose_the_folder)
    code = run_cli("run", photo, "--task", "denoise", "--iters", "2", "-o", folder / "result.png", "--quiet")
    err = capsys.readouterr().err.strip()
    rescued = list(elsewhere.glob("result-rescued-*.png"))
    assert code == 2 and len(err.splitlines()) == 1 and len(rescued) == 1
    assert f"the result is saved at {rescued[0]} instead" in err
    assert load_image(rescued[0]).size == (24, 20)


def test_ctrl_c_during_a_tiled_run_saves_the_tiles_done(photo, tmp_path, capsys, monkeypatch):
    from dip_gui.core.session.session import Session

    step, steps = Session.step, []

    def interrupted_in_the_second_tile(self, *args, **kwargs):
        steps.append(1)
        if len(steps) == 5:  # a step of the second tile (three iterations a tile)
            raise KeyboardInterrupt
        return step(self, *args, **kwargs)

    monkeypatch.setattr(Session, "step", interrupted_in_the_second_tile)
    out, metrics = tmp_path / "out.png", tmp_path / "m.json"
    code = run_cli("run", photo, "--task", "denoise", "--iters", "3", "--tile", "18", "--tile-overlap", "8",
                   "--no-auto-stop", "-o", out, "--metrics-json", metrics)
    err = capsys.readouterr().err
    assert code == 130 and "interrupted in tile 2 of" in err and f"saved {out}" in err
    assert load_image(out).size == (24, 20)
    report = json.loads(metrics.read_text())
    assert report["end_reason"] == "interrupted" and report["tiles_reached"] == 2


def test_run_to_srgb_converts_a_wide_gamut_photo_and_checks_its_profile_first(tmp_path, capsys):
    from dip_gui.core.colour import srgb_profile
    from tests.makers import adobe_rgb_profile

    pixels = np.zeros((24, 32, 3), np.uint8) + np.array([90, 200, 60], np.uint8)  # a green sRGB has no room for
    photo = tmp_path / "adobe.png"
    Image.fromarray(pixels).save(photo, icc_profile=adobe_rgb_profile())
    kept, converted = tmp_path / "kept.png", tmp_path / "srgb.png"
    assert run_cli("run", photo, "--task", "denoise", "--iters", "1", "-o", kept, "--quiet") == 0
    assert run_cli("run", photo, "--task", "denoise", "--iters", "1", "-o", converted, "--quiet", "--to-srgb") == 0
    assert load_image(kept).metadata.icc_profile == adobe_rgb_profile()
    assert load_image(converted).metadata.icc_profile == srgb_profile()
    assert np.abs(load_image(converted).rgb - load_image(kept).rgb).max() > 20 / 255  # the colours moved

    broken = tmp_path / "broken-profile.png"
    Image.fromarray(pixels).save(broken, icc_profile=bytes(16) + b"RGB " + bytes(108) + b"junk")
    capsys.readouterr()
    out = tmp_path / "never.png"
    assert run_cli("run", broken, "--task", "denoise", "--iters", "1", "-o", out, "--quiet", "--to-srgb") == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "--to-srgb" in error and not out.exists()
