"""Write requirements.lock: the exact versions of the project's run-time dependencies.

The closure is read from an environment where the project is installed (``make lock`` uses .venv):
starting from transformer-playground's own requirements (no test extras), every requirement whose
marker holds here is followed to the installed distribution. The image installs with the lock as
pip constraints, so two builds get the same versions the tests ran with; ``make audit`` audits it.

    python scripts/lock.py [--out requirements.lock] [--check]
"""

from __future__ import annotations

import argparse
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

PROJECT = "transformer-playground"
HEADER = """\
# Run-time dependencies of transformer-playground, exact versions (Linux, CPython 3.11).
# Written by `make lock` (scripts/lock.py) from the environment the tests ran in; the image
# installs with `pip install -c requirements.lock`, and `make audit` audits this list.
"""


def closure(root: str = PROJECT) -> dict[str, str]:
    """{canonical name: installed version} of ``root``'s run-time requirements, recursively."""
    seen: dict[str, str] = {}
    todo: list[tuple[str, frozenset[str]]] = [(root, frozenset())]
    while todo:
        name, extras = todo.pop()
        dist = metadata.distribution(name)
        key = canonicalize_name(dist.metadata["Name"])
        if key != canonicalize_name(root):
            seen[key] = dist.version
        for line in dist.requires or []:
            req = Requirement(line)
            wanted = req.marker is None or any(req.marker.evaluate({"extra": e}) for e in (extras or {""}))
            if not wanted:
                continue
            child = canonicalize_name(req.name)
            if child in seen and not req.extras:
                continue
            todo.append((req.name, frozenset(req.extras)))
    return seen


def render(pins: dict[str, str]) -> str:
    # a local label (torch's "+cpu") is dropped: "==2.13.0" matches 2.13.0+cpu and 2.13.0 alike
    lines = [f"{name}=={Version(v).public}" for name, v in sorted(pins.items())]
    return HEADER + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "requirements.lock")
    ap.add_argument("--check", action="store_true", help="exit 1 if the file differs from this environment")
    args = ap.parse_args(argv)
    try:
        text = render(closure())
    except metadata.PackageNotFoundError as e:
        print(f"lock: {e.name} is not installed here; run it in the project's environment", file=sys.stderr)
        return 2
    if args.check:
        same = args.out.exists() and args.out.read_text() == text
        print(f"lock: {args.out} {'matches' if same else 'differs from'} this environment")
        return 0 if same else 1
    args.out.write_text(text)
    print(f"lock: {len(text.splitlines()) - HEADER.count(chr(10))} packages → {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
