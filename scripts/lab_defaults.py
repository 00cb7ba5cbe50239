"""What each training-lab task's default run reaches, and how fast, on this machine.

Runs every task's default ``LabRun`` (the settings the /train page opens with) on the CPU with the
server's thread count (``--threads``, default 1: the lab trains beside the streams) and prints, per
task: steps, wall time, the first evaluation at ≥ 95 % held-out exact match (tasks with one right
answer), the final held-out accuracy or loss, and, for induction, the best head's induction score.
Evaluations and snapshots are included in the wall time, as on the page.

    python scripts/lab_defaults.py [--threads N] [--tasks copy reverse ...] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from models.training.lab import LAB_TASKS, LabRun, LabSettings


def measure(task: str) -> dict:
    seen: list[tuple[float, str, dict]] = []
    start = time.perf_counter()
    LabRun(LabSettings(task=task), lambda e, d: seen.append((time.perf_counter() - start, e, d))).run()
    evals = [(t, d) for t, e, d in seen if e == "eval"]
    at95 = next(((t, d["step"]) for t, d in evals if d.get("accuracy", 0) >= 0.95), None)
    final = seen[-1][2]["metrics"]
    out = {
        "task": task,
        "steps": seen[-1][2]["step"],
        "seconds": round(seen[-1][0], 1),
        "seconds_to_95": None if at95 is None else round(at95[0], 1),
        "step_at_95": None if at95 is None else at95[1],
        "accuracy": final.get("accuracy"),
        "val_loss": round(final["val_loss"], 4),
    }
    if "induction_score" in final:
        out["induction_score"] = final["induction_score"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tasks", nargs="+", choices=LAB_TASKS, default=list(LAB_TASKS))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for task in args.tasks:
        row = measure(task)
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
