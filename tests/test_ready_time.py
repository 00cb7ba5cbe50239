"""``scripts/ready_time.py``: starts the server, times it to its first /healthz answer, names the imports."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_one_start_is_timed_and_the_slowest_imports_listed():
    out = subprocess.run(
        [sys.executable, "scripts/ready_time.py", "-n", "1", "--top", "3", "--no-compile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode in (0, 1), out.stderr  # 1: slower than the target on this (busy) machine
    wall, cpu = map(float, re.search(r"start 1: ready in ([\d.]+) s \(([\d.]+) s CPU\)", out.stdout).groups())
    assert 0 < cpu and 0 < wall < 120
    assert re.search(r"median of 1: [\d.]+ s, [\d.]+ s CPU \(target ≤ 1.5 s\) (PASS|FAIL)", out.stdout)
    imports = out.stdout.split("slowest imports")[1].splitlines()[1:]
    assert len(imports) == 3 and imports[0].split()[1] == "server.main"  # the whole app, slowest of all
