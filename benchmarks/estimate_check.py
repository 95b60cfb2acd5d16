"""The estimate before a run against the run: time per iteration and peak memory, CPU, ``auto``.

For each row (task:preset:size) the estimate is made in a fresh process (``estimate_run_cost``, as
the window and ``run`` make it, with the session's memory plan), then the run is measured in another
(``python -m dip_gui bench ... --iters 3 --warmup 1 --json``). Run nothing else meanwhile.

    python benchmarks/estimate_check.py denoise:paper:512 denoise:fast:1024 inpaint:fast:1024
"""

from __future__ import annotations

import json
import subprocess
import sys

ESTIMATE = """
import json, sys
from dip_gui.cli.bench import make_session
from dip_gui.core.session.cost_probe import estimate_run_cost
from dip_gui.core.runtime.device import available_memory_bytes, resolve_device
from dip_gui.core.estimate.memory import plan_cpu_memory
task, preset, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
session = make_session(task, preset, size, "cpu", host_memory="lean")  # lean: builds nothing it keeps
problem = session.problem
cost = estimate_run_cost(session.preset, problem.out_size, problem.channels, "cpu")
plan = plan_cpu_memory(session.preset, problem.out_size, problem.channels, available_memory_bytes(resolve_device("cpu")))
print(json.dumps({"seconds": cost.seconds_per_iteration, "memory_mb": cost.memory_bytes / 2**20,
                  "plan": [plan.host_memory, "lean" if plan.lean_network else "pairs"]}))
"""


def last_json_line(command: list[str]) -> dict:
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> int:
    if {"-h", "--help"} & set(sys.argv[1:]):
        print(__doc__)
        return 0
    rows = sys.argv[1:] or ["denoise:fast:512", "denoise:paper:512"]
    for row in rows:
        task, preset, size = row.split(":")
        estimate = last_json_line([sys.executable, "-c", ESTIMATE, task, preset, size])
        run = last_json_line([sys.executable, "-m", "dip_gui", "bench", "--task", task, "--preset", preset, "--size", size,
                              "--iters", "3", "--warmup", "1", "--device", "cpu", "--json"])
        print(f"{row:22s} plan {'/'.join(estimate['plan']):10s} time {estimate['seconds']:.2f} / "
              f"{run['seconds_per_iter']:.2f} s ({estimate['seconds'] / run['seconds_per_iter']:.2f})  memory "
              f"{estimate['memory_mb']:.0f} / {run['peak_memory_mb']:.0f} MB "
              f"({estimate['memory_mb'] / run['peak_memory_mb']:.2f})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
