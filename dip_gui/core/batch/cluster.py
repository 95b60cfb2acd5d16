"""A batch on a Ray cluster: each photo a Ray task, the results and the report written by the driver.

Ray (``pip install 'dip-studio[cluster]'``) schedules the photos over the cluster's workers: a GPU
per photo where the cluster has GPUs (``gpus_per_photo``; a fraction shares one GPU between small
photos), else ``cpus_per_photo`` CPU threads (by default as many as a local batch would use, up to
the largest node's CPUs). A worker reads the photo and mask from the bytes the
driver sends, so only the driver needs the input folders; it sends back the encoded result, which
the driver writes. A worker lost mid-photo (a node gone, a process killed) is retried by Ray up to
``MAX_RETRIES`` times; the retry resumes the photo from its checkpoint where the workers can reach
the output folder (a local instance, or a folder shared by the cluster), else it starts the photo
again.

On the CPU the last bit of a result depends on the number of torch threads, so a photo restored
with ``cpus_per_photo`` threads matches, bit for bit, a local batch run with that many threads
(``OMP_NUM_THREADS``): the default matches the local batch of the same machine. One thread per photo
runs as many photos as there are cores side by side; on 2 cores that is no faster (606 against 697
photos an hour for 256 px denoising, ``python benchmarks/batch_throughput.py``, docs/batch.md).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dip_gui.core.atomic import atomic_target
from dip_gui.core.batch.plan import BatchItem
from dip_gui.core.batch.report import BatchReport
from dip_gui.core.batch.restore import restore_photo
from dip_gui.core.batch.runner import (
    BatchEvents,
    BatchSummary,
    batch_lock,
    check_settings,
    failure_line,
    open_batch,
    outcome_facts,
)
from dip_gui.core.batch.settings import BatchSettings
from dip_gui.core.errors import InvalidParameterError

#: Times Ray runs a photo again after losing its worker.
MAX_RETRIES = 3


@dataclass(frozen=True)
class WorkerJob:
    """What a worker needs for one photo: the files' bytes, where to checkpoint, the settings."""

    relative: Path
    photo: bytes
    mask_name: str | None
    mask: bytes | None
    checkpoint: Path
    output_suffix: str
    settings: BatchSettings
    threads: int


@dataclass(frozen=True)
class WorkerResult:
    """The encoded result and the run's facts, or the one-line reason the photo failed."""

    data: bytes | None = None
    facts: dict[str, Any] | None = None
    finished: bool = True
    error: str | None = None


def restore_on_worker(job: WorkerJob) -> WorkerResult:
    """One photo on a Ray worker (the function Ray runs): the same run as a local batch's."""
    import torch

    torch.set_num_threads(job.threads)
    with tempfile.TemporaryDirectory(prefix="dip-batch-") as folder:
        source = Path(folder) / job.relative.name
        source.write_bytes(job.photo)
        mask = None
        if job.mask is not None and job.mask_name is not None:
            mask = Path(folder) / "mask" / job.mask_name
            mask.parent.mkdir()
            mask.write_bytes(job.mask)
        output = Path(folder) / ("result" + job.output_suffix)
        item = BatchItem(source=source, relative=job.relative, output=output, checkpoint=job.checkpoint, mask=mask)
        try:
            outcome = restore_photo(item, job.settings)
        except Exception as exc:  # reported by the driver; Ray retries only lost workers
            return WorkerResult(error=failure_line(exc))
        data = output.read_bytes() if outcome.finished else None
        return WorkerResult(data=data, facts=outcome_facts(outcome), finished=outcome.finished)


def run_on_ray(items: Sequence[BatchItem], settings: BatchSettings, out_dir: Path, address: str | None = None, *,
               overwrite: bool = False, events: BatchEvents | None = None, cpus_per_photo: int | None = None,
               gpus_per_photo: float | None = None, ray_init: dict[str, Any] | None = None) -> BatchSummary:
    """Restore ``items`` into ``out_dir`` on the Ray cluster at ``address`` (None: start a local
    instance; where this process is connected to Ray already, that connection). ``gpus_per_photo``
    None: one GPU per photo where the cluster has GPUs, else none. ``ray_init``: more arguments for
    ``ray.init`` (a local instance's ``num_cpus``)."""
    ray = _ray()
    check_settings(items, settings)
    if cpus_per_photo is not None and cpus_per_photo < 1:
        raise InvalidParameterError(f"--cpus-per-photo must be 1 or more, not {cpus_per_photo}")
    out_dir.mkdir(parents=True, exist_ok=True)
    with batch_lock(out_dir):
        report, summary, todo = open_batch(items, settings, out_dir, overwrite, events)
        if not todo:
            return summary
        started_here = not ray.is_initialized()  # a caller's own Ray session is used as it is
        if started_here:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING,
                     **(ray_init or {}))
        try:
            _gather(ray, _submit(ray, todo, settings, cpus_per_photo, gpus_per_photo), report, summary, events)
        finally:
            if started_here:
                ray.shutdown()
    return summary


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise InvalidParameterError("--ray needs Ray: pip install 'dip-studio[cluster]' (or pip install ray)") from None
    return ray


def _submit(ray: Any, todo: Sequence[BatchItem], settings: BatchSettings, cpus_per_photo: int | None,
            gpus_per_photo: float | None) -> dict[Any, BatchItem]:
    """One Ray task per photo, GPUs where the cluster has them."""
    if gpus_per_photo is None:
        gpus_per_photo = 1.0 if ray.cluster_resources().get("GPU", 0) > 0 else 0.0
    threads = cpus_per_photo or _local_threads(ray)
    cpus = 1 if gpus_per_photo > 0 and cpus_per_photo is None else threads  # a GPU photo's threads only feed it
    task = ray.remote(restore_on_worker).options(num_cpus=cpus, num_gpus=gpus_per_photo,
                                                 max_retries=MAX_RETRIES, retry_exceptions=False)
    return {task.remote(_job(item, settings, threads)): item for item in todo}


def _local_threads(ray: Any) -> int:
    """The torch threads of a local batch on this machine, no more than the largest node has CPUs
    (a task asking for more would never be scheduled)."""
    import torch

    largest = max((node.get("Resources", {}).get("CPU", 0) for node in ray.nodes() if node.get("Alive")), default=1)
    return max(1, min(torch.get_num_threads(), int(largest)))


def _job(item: BatchItem, settings: BatchSettings, threads: int) -> WorkerJob:
    mask = item.mask
    return WorkerJob(relative=item.relative, photo=item.source.read_bytes(), mask_name=None if mask is None else mask.name,
                     mask=None if mask is None else mask.read_bytes(), checkpoint=item.checkpoint.resolve(),
                     output_suffix=item.output.suffix, settings=item.settings_within(settings), threads=threads)


def _gather(ray: Any, running: dict[Any, BatchItem], report: BatchReport, summary: BatchSummary,
            events: BatchEvents | None) -> None:
    """Write each result as it arrives; Ctrl+C cancels the photos still running (their checkpoints stay)."""
    for item in running.values():
        report.record(item, "running", write=False)
    report.write()
    index = 0
    try:
        while running:
            ready, _ = ray.wait(list(running), num_returns=1)
            item = running.pop(ready[0])
            summary.count(_settle(ray, ready[0], item, report))
            if events is not None:
                events.photo_ended(index, item, report.photos[item.name])
            index += 1
    except KeyboardInterrupt:
        for ref, item in running.items():
            ray.cancel(ref, force=True)
            report.record(item, "interrupted", write=False)
        report.write()
        summary.stopped = True


def _settle(ray: Any, ref: Any, item: BatchItem, report: BatchReport) -> str:
    """The photo's result written and its report entry set; returns its status."""
    try:
        result: WorkerResult = ray.get(ref)
    except ray.exceptions.RayError as exc:  # the worker lost more often than retried, or the task cancelled
        report.record(item, "failed", error=f"the Ray task failed: {failure_line(exc)}")
        return "failed"
    if result.error is not None:
        report.record(item, "failed", error=result.error)
        return "failed"
    if not result.finished or result.data is None:
        report.record(item, "interrupted", **(result.facts or {}))
        return "interrupted"
    try:
        item.output.parent.mkdir(parents=True, exist_ok=True)
        with atomic_target(item.output, suffix=item.output.suffix) as tmp:
            Path(tmp).write_bytes(result.data)
    except OSError as exc:
        report.record(item, "failed", error=f"{item.output}: cannot write ({exc.strerror or exc})")
        return "failed"
    item.checkpoint.unlink(missing_ok=True)
    report.record(item, "done", **(result.facts or {}))
    return "done"
