"""Known vulnerabilities of requirements.lock's pins, from PyPI's project JSON: the fallback of
``make audit`` where pip-audit's per-version lookups and OSV cannot be reached.

PyPI's project endpoint (``/pypi/<name>/json``) describes the project's latest release and lists
that release's known vulnerabilities (from the Python advisory database). A pin equal to the latest
release is therefore audited; a pin behind it is reported as not audited, with the latest version.

    python scripts/audit_pypi.py [requirements.lock] [--index https://pypi.org/pypi]

Exit status: 1 when a pin has a known vulnerability, 2 when no pin could be audited, else 0.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Result:
    name: str
    pinned: str
    latest: str | None = None
    vulns: list[dict] = field(default_factory=list)
    error: str | None = None

    @property
    def audited(self) -> bool:
        return self.error is None and self.latest == self.pinned


def read_pins(path: Path) -> list[tuple[str, str]]:
    pins = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            if not version:
                raise ValueError(f"{path}: {line!r} is not pinned with ==")
            pins.append((name.strip(), version.strip()))
    return pins


def check(client: httpx.Client, index: str, name: str, pinned: str) -> Result:
    try:
        r = client.get(f"{index}/{name}/json")
        r.raise_for_status()
        data = r.json()
    except (httpx.HTTPError, ValueError) as e:
        return Result(name, pinned, error=f"{type(e).__name__}: {e}")
    return Result(name, pinned, latest=data["info"]["version"], vulns=data.get("vulnerabilities") or [])


def describe(vuln: dict) -> str:
    aliases = ", ".join(vuln.get("aliases") or [])
    fixed = ", ".join(vuln.get("fixed_in") or ["-"])
    what = (vuln.get("summary") or vuln.get("details") or "")[:120]
    return f"{vuln.get('id')} ({aliases}) fixed in {fixed}: {what}"


def main(argv: list[str] | None = None, transport: httpx.BaseTransport | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("lock", nargs="?", type=Path, default=ROOT / "requirements.lock")
    ap.add_argument("--index", default="https://pypi.org/pypi")
    args = ap.parse_args(argv)
    pins = read_pins(args.lock)
    client = httpx.Client(timeout=30, follow_redirects=True, transport=transport)
    with client, ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda p: check(client, args.index, *p), pins))

    audited = [r for r in results if r.audited]
    found = [r for r in audited if r.vulns]
    print(f"PyPI project JSON ({args.index}) for {len(pins)} pins of {args.lock}")
    for r in results:
        if r.error:
            status = f"not audited: {r.error}"
        elif not r.audited:
            status = f"not audited: behind the latest release {r.latest}"
        elif r.vulns:
            status = "VULNERABLE: " + "; ".join(describe(v) for v in r.vulns)
        else:
            status = "no known vulnerabilities"
        print(f"  {r.name}=={r.pinned}: {status}")
    print(
        f"audited: {len(audited)} of {len(pins)} pins; vulnerable: {len(found)}; "
        f"not audited: {len(pins) - len(audited)}"
    )
    if found:
        return 1
    return 2 if not audited else 0


if __name__ == "__main__":
    sys.exit(main())
