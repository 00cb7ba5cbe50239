"""scripts/audit_pypi.py against a fake PyPI: a pin equal to the latest release is audited from its
vulnerability list; a pin behind it, or a lookup that fails, is reported as not audited."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("audit_pypi", ROOT / "scripts" / "audit_pypi.py")
audit_pypi = importlib.util.module_from_spec(spec)
sys.modules["audit_pypi"] = audit_pypi  # its dataclass looks its module up
spec.loader.exec_module(audit_pypi)

VULN = {
    "id": "PYSEC-2099-1",
    "aliases": ["CVE-2099-0001"],
    "fixed_in": ["1.0.1"],
    "summary": "a crafted template escapes",
}
PROJECTS = {
    "clean": {"info": {"version": "2.0"}, "vulnerabilities": []},
    "broken": {"info": {"version": "1.0"}, "vulnerabilities": [VULN]},
    "old": {"info": {"version": "9.9"}, "vulnerabilities": [VULN]},  # the latest's, not ours
}


def fake_pypi(request: httpx.Request) -> httpx.Response:
    name = request.url.path.split("/")[2]
    if name not in PROJECTS:
        return httpx.Response(404, json={"message": "Not Found"})
    return httpx.Response(200, json=PROJECTS[name])


def run(tmp_path, capsys, lines: list[str]) -> tuple[int, str]:
    lock = tmp_path / "requirements.lock"
    lock.write_text("# a comment\n" + "\n".join(lines) + "\n")
    rc = audit_pypi.main([str(lock)], transport=httpx.MockTransport(fake_pypi))
    return rc, capsys.readouterr().out


def test_a_vulnerable_latest_pin_fails_the_audit(tmp_path, capsys):
    rc, out = run(tmp_path, capsys, ["clean==2.0", "broken==1.0", "old==1.2", "gone==0.1"])
    assert rc == 1
    assert "clean==2.0: no known vulnerabilities" in out
    assert "broken==1.0: VULNERABLE: PYSEC-2099-1 (CVE-2099-0001) fixed in 1.0.1" in out
    assert "old==1.2: not audited: behind the latest release 9.9" in out
    assert "gone==0.1: not audited: HTTPStatusError" in out
    assert out.strip().endswith("audited: 2 of 4 pins; vulnerable: 1; not audited: 2")


def test_clean_pins_pass_and_nothing_audited_is_its_own_status(tmp_path, capsys):
    assert run(tmp_path, capsys, ["clean==2.0", "old==1.2"])[0] == 0
    assert run(tmp_path, capsys, ["old==1.2", "gone==0.1"])[0] == 2


def test_an_unpinned_line_is_refused(tmp_path):
    lock = tmp_path / "requirements.lock"
    lock.write_text("fastapi>=0.1\n")
    with pytest.raises(ValueError, match="not pinned"):
        audit_pypi.read_pins(lock)
