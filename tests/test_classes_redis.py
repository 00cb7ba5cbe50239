"""The live class with its state in a real Redis: the API's tests again on the Redis store, expiry by
key TTLs, and two server processes sharing one class (a push on one reaches a student on the other)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import threading
import time

import httpx
import pytest
import redis
from classes_helpers import Stream, join, start_class, wait_for
from test_classes_api import (  # noqa: F401 (collected again here, on the Redis store)
    test_a_class_holds_at_most_class_max_students,
    test_a_guess_round_groups_guesses_as_typed,
    test_a_poll_collects_one_answer_per_student_the_last_one_counting,
    test_a_push_reaches_every_listener_in_order,
    test_a_student_gets_the_state_first_then_the_count,
    test_a_student_who_reconnects_gets_the_current_state_and_the_open_poll,
    test_class_creation_is_rate_limited,
    test_join_attempts_are_rate_limited_failed_ones_too,
    test_teacher_routes_need_the_key_and_an_existing_class,
    test_the_server_holds_at_most_max_classes,
)

from helpers import char_gpt, free_port, iter_sse, run_coroutine, server_process

REDIS = shutil.which("redis-server")
if REDIS is None:
    print("tests/test_classes_redis.py: redis-server is not on PATH (make redis installs it); skipped")
pytestmark = pytest.mark.skipif(REDIS is None, reason="redis-server is not on PATH (make redis installs it)")


@contextlib.contextmanager
def redis_server():
    """A redis-server of its own on a free port, nothing saved; its URL once it answers."""
    port = free_port()
    proc = subprocess.Popen(
        [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(redis.ConnectionError):
                if redis.Redis.from_url(url).ping():
                    break
            assert proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def redis_url():
    with redis_server() as url:
        yield url


@pytest.fixture(autouse=True)
def _empty(redis_url):
    redis.Redis.from_url(redis_url).flushdb()


@pytest.fixture
def make_client(make_client, redis_url):
    """The app with its classes in this module's Redis: every test above runs on the Redis store."""
    return lambda **settings: make_client(**{"redis_url": redis_url, **settings})


@pytest.fixture
def c(make_client):
    return make_client()


def test_the_store_is_redis_and_keeps_nothing_past_the_class(c, redis_url):
    from server.classroom.redis_store import RedisStore

    assert isinstance(c.app.state.classes, RedisStore)
    code, key = start_class(c)
    join(c, code, "Ann")
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    assert 0 < r.ttl(f"tp:class:{code}") <= 14400 and 0 < r.ttl(f"tp:class:{code}:students") <= 14400
    c.delete(f"/api/classes/{code}", headers=key)
    assert r.keys("tp:class:*") == [] and r.zcard("tp:classes") == 0


def test_an_idle_class_expires_in_redis_and_its_listeners_are_told(make_client):
    c = make_client(class_idle_s=1)
    code, key = start_class(c)
    s = Stream(c, code, join(c, code))
    assert s.events()[-1] == {"event": "end", "reason": "expired"}  # the keys' TTL, seen by the sweep
    assert c.get(f"/api/classes/{code}", headers=key).status_code == 404


class Reader:
    """A real stream from a real server, read line by line in a thread."""

    def __init__(self, url: str) -> None:
        self.events: list[dict] = []
        self.thread = threading.Thread(target=self.read, args=(url,), daemon=True)
        self.thread.start()

    def read(self, url: str) -> None:
        with httpx.Client(timeout=30) as client, client.stream("GET", url) as r:
            assert r.status_code == 200
            for event in iter_sse(r.iter_lines()):
                self.events.append(event)
                if event["event"] == "end":
                    return

    def wait(self, event: str, n: int = 1) -> list[dict]:
        wait_for(lambda: len([e for e in self.events if e["event"] == event]) >= n, timeout=15)
        return [e for e in self.events if e["event"] == event]


def test_two_servers_share_a_class_through_redis(tmp_path, redis_url):
    zoo = tmp_path / "zoo"
    char_gpt(zoo / "tiny")
    env = {"PLAYGROUND_REDIS_URL": redis_url, "PLAYGROUND_DEFAULT_MODEL": "tiny"}
    with (
        server_process(zoo, tmp_path / "a.log", **env) as (_, a),
        server_process(zoo, tmp_path / "b.log", **env) as (_, b),
    ):
        created = httpx.post(f"{a}/api/classes", json={}).json()
        code, key = created["code"], {"X-Teacher-Key": created["teacher_key"]}
        joined = httpx.post(f"{b}/api/classes/{code}/join", json={"name": "Bea"}).json()
        teacher = Reader(f"{a}/api/classes/{code}/events")
        student = Reader(f"{b}{joined['events']}")
        wait_for(lambda: httpx.get(f"{a}/api/classes/{code}", headers=key).json()["students"] == 1, 15)
        wait_for(lambda: {"event": "count", "students": 1} in teacher.events, 15)  # B's student, told on A
        assert httpx.post(
            f"{a}/api/classes/{code}/state", headers=key, json={"page": "/learn/qkv"}
        ).json() == {"version": 1}
        assert student.wait("state", 2)[-1]["page"] == "/learn/qkv"
        body = {"question": "Which?", "options": ["x", "y"]}
        poll = httpx.post(f"{a}/api/classes/{code}/polls", headers=key, json=body).json()["poll_id"]
        assert student.wait("poll")[0]["poll_id"] == poll
        answer = {"poll_id": poll, "answer": "y", "student": joined["student"]}
        assert httpx.post(f"{b}/api/classes/{code}/answers", json=answer).json() == {"ok": True}
        tally = httpx.get(f"{a}/api/classes/{code}/polls/{poll}", headers=key).json()
        assert (tally["tally"], tally["answers"], tally["students"]) == ({"x": 0, "y": 1}, 1, 1)
        assert teacher.wait("answers")[-1] == {"event": "answers", "poll_id": poll, "answers": 1}
        assert httpx.delete(f"{a}/api/classes/{code}", headers=key).status_code == 204
        assert student.wait("end") == [{"event": "end", "reason": "ended by the teacher"}]


@pytest.fixture(params=["memory", "redis"])
def replicas(request, redis_url):
    """Two stores with small caps: two replicas sharing one Redis, or one process's store twice."""
    from server.classroom import make_store
    from server.settings import Settings

    url = redis_url if request.param == "redis" else None
    settings = Settings(redis_url=url, class_max_students=5, max_classes=3)

    async def opened():
        first = make_store(settings)
        second = make_store(settings) if url else first
        for store in {id(s): s for s in (first, second)}.values():
            await store.open()
        return first, second

    return opened


def test_the_caps_hold_when_requests_race_on_both_stores(replicas):
    import asyncio

    from server.classroom.core import Full

    async def race():
        a, b = await replicas()
        try:
            code, _ = await a.create("")
            joins = await asyncio.gather(*(s.join(code, "") for s in (a, b) * 10), return_exceptions=True)
            made = await asyncio.gather(*(s.create("") for s in (a, b) * 5), return_exceptions=True)
            return joins, made
        finally:
            await a.close()
            if b is not a:
                await b.close()

    joins, made = run_coroutine(race())
    assert sum(isinstance(j, str) for j in joins) == 5 and sum(isinstance(j, Full) for j in joins) == 15
    assert sum(isinstance(m, tuple) for m in made) == 2 and sum(isinstance(m, Full) for m in made) == 8


def test_a_redis_that_stops_answering_gives_503_not_500(make_client):
    """The class routes of a replica whose Redis went away answer 503 with Retry-After; the rest serves."""
    with redis_server() as url:
        c = make_client(redis_url=url)
        code, key = start_class(c)
    r = c.post(f"/api/classes/{code}/state", headers=key, json={"page": "/learn/qkv"})
    assert r.status_code == 503 and r.headers["retry-after"], r.text
    assert "Redis" in r.json()["detail"]
    assert c.get("/healthz").status_code == 200
