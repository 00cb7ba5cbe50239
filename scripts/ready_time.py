"""How long the server takes to be ready: process start → the first ``/healthz`` answer.

    python scripts/ready_time.py [-n 5] [--top 15] [--against OTHER_CHECKOUT]

Starts ``python -m server.cli serve`` on a free port ``-n`` times, polls ``/healthz`` every 10 ms,
prints each time, their median and the load average, then ``python -X importtime`` of the app's
import: the ``--top`` modules by cumulative import time (where start-up goes). With ``--against``,
another checkout of the project (e.g. ``git archive`` of an older commit) is started in turn with
this one, so both medians, and their ratio, are measured under the same load.

The checkouts' ``server`` and ``models`` are compiled to bytecode first (``compileall``), as an
installed package is (pip compiles on install, and the image runs with PYTHONDONTWRITEBYTECODE, like
this machine): otherwise each start compiles the project's sources again. ``--no-compile`` skips it.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 1.5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def compile_tree(root: Path) -> None:
    """Write the bytecode of ``root``'s packages (``__pycache__``, ignored by git), as an install does."""
    dirs = [str(root / "server"), str(root / "models")]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *dirs], check=True)


def ready_once(root: Path = ROOT, timeout_s: float = 30.0) -> tuple[float, float]:
    """(wall seconds, CPU seconds) from starting the server process (the code in ``root``) to its
    first 200 from /healthz. The CPU time does not grow with the machine's load, the wall time does."""
    port = free_port()
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--port", str(port)],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while time.perf_counter() - start < timeout_s:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited with {proc.returncode} before answering")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    if r.status == 200:
                        return time.perf_counter() - start, cpu_seconds(proc.pid)
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.01)
        raise RuntimeError(f"no /healthz answer within {timeout_s:.0f} s")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def import_top(top: int) -> list[tuple[float, str]]:
    """(cumulative ms, module) of the slowest imports of ``server.main`` and ``server.cli``."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import server.cli, server.serve, server.main"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    rows = []
    for line in out.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]) / 1000, parts[2].rstrip()))
    return sorted(rows, reverse=True)[:top]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5, help="server starts to time (default 5)")
    parser.add_argument("--top", type=int, default=15, help="slowest imports to list (default 15)")
    parser.add_argument("--against", type=Path, help="another checkout, started in turn with this one")
    parser.add_argument("--no-compile", action="store_true", help="start from the sources, uncompiled")
    args = parser.parse_args(argv)
    if not args.no_compile:
        for root in [ROOT, *([args.against.resolve()] if args.against else [])]:
            compile_tree(root)
    load = os.getloadavg()
    times: list[float] = []
    cpu: list[float] = []
    other: list[float] = []
    other_cpu: list[float] = []
    for i in range(args.n):
        if args.against:
            wall, used = ready_once(args.against.resolve())
            other.append(wall)
            other_cpu.append(used)
            print(f"start {i + 1}: {args.against} ready in {wall:.2f} s ({used:.2f} s CPU)", flush=True)
        wall, used = ready_once()
        times.append(wall)
        cpu.append(used)
        print(f"start {i + 1}: ready in {wall:.2f} s ({used:.2f} s CPU)", flush=True)
    median = statistics.median(times)
    verdict = "PASS" if median <= TARGET_S else "FAIL"
    print(
        f"median of {args.n}: {median:.2f} s, {statistics.median(cpu):.2f} s CPU "
        f"(target ≤ {TARGET_S} s) {verdict}"
    )
    if other:
        was, was_cpu = statistics.median(other), statistics.median(other_cpu)
        print(
            f"{args.against}: median {was:.2f} s, {was_cpu:.2f} s CPU; this checkout takes "
            f"{median / was:.2f}× its time, {statistics.median(cpu) / was_cpu:.2f}× its CPU"
        )
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; after: ", end="")
    print(" ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(f"\nslowest imports (cumulative ms, one run of python -X importtime), top {args.top}:")
    for ms, name in import_top(args.top):
        print(f"{ms:9.1f}  {name}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
