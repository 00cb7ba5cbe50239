"""Helpers of the live-class tests: a class started, students joined, event streams read in threads."""

from __future__ import annotations

import threading
import time

from helpers import sse_events


def start_class(c, **body) -> tuple[str, dict[str, str]]:
    r = c.post("/api/classes", json=body)
    assert r.status_code == 200, r.text
    return r.json()["code"], {"X-Teacher-Key": r.json()["teacher_key"]}


def join(c, code: str, name: str = "") -> str:
    r = c.post(f"/api/classes/{code}/join", json={"name": name})
    assert r.status_code == 200, r.text
    return r.json()["student"]


def listeners(c, code: str) -> int:
    return len(c.app.state.classes.listeners.get(code, ()))


class Stream:
    """An event stream read in a thread of its own (a TestClient reads a response whole): open it, act,
    end the class, then ``events()`` is everything the stream got."""

    def __init__(self, c, code: str, student: str | None = None) -> None:
        before = listeners(c, code)
        url = f"/api/classes/{code}/events" + (f"?student={student}" if student else "")
        self.box: dict = {}
        self.thread = threading.Thread(target=lambda: self.box.setdefault("r", c.get(url)), daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while listeners(c, code) <= before:
            assert time.monotonic() < deadline, "the stream did not open"
            assert "r" not in self.box, self.box["r"].text
            time.sleep(0.01)

    def events(self) -> list[dict]:
        self.thread.join(10)
        assert not self.thread.is_alive(), "the stream did not end"
        return sse_events(self.box["r"])


def wait_for(check, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
