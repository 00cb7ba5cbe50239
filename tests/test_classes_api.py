"""The live class's API in one process: codes and keys, the teacher's routes, students' streams, polls,
what is refused (with the field named) and the limits."""

from __future__ import annotations

import re
import time

import pytest
from classes_helpers import Stream, join, start_class, wait_for

from server.classroom.core import MAX_PENDING, Listener

from helpers import run_coroutine

STATE_FIELDS = {"event", "version", "page", "params", "lock", "hide", "mode", "present"}


@pytest.fixture
def c(make_client):
    return make_client()


def test_create_gives_a_code_a_key_and_links(c):
    r = c.post("/api/classes", json={"title": "Attention, 3rd period"})
    body = r.json()
    assert re.fullmatch(r"[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{6}", body["code"])
    assert len(body["teacher_key"]) >= 32
    code = body["code"]
    assert body["join_url"] == f"http://testserver/join/{code}" and "join_note" not in body
    assert body["qr"] == f"/api/classes/{code}/qr.svg" and body["events"] == f"/api/classes/{code}/events"
    assert c.post("/api/classes", json={}).json()["code"] != code
    qr = c.get(body["qr"])
    assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml")
    assert qr.text.startswith("<svg") and 'fill="#fff"' in qr.text  # white, with its quiet zone
    side = re.search(r'width="(\d+)"', qr.text)[1]
    assert f'viewBox="0 0 {side} {side}"' in qr.text and int(side) >= 250  # scales up for a projector
    assert c.post("/api/classes", json={"colour": "red"}).status_code == 422


def test_a_loopback_address_is_not_the_join_link(make_client):
    c = make_client()
    body = c.post("http://localhost:8123/api/classes", json={}).json()
    assert "localhost" in body["join_note"]
    assert "localhost" not in body["join_url"] or "no network address" in body["join_note"]
    assert body["join_url"].endswith(f"/join/{body['code']}")
    public = make_client(public_url="https://class.example.org/")
    body = public.post("http://127.0.0.1:8000/api/classes", json={}).json()
    assert body["join_url"] == f"https://class.example.org/join/{body['code']}" and "join_note" not in body


def teacher_routes(code: str) -> list[tuple[str, str, dict | None]]:
    return [
        ("GET", f"/api/classes/{code}", None),
        ("POST", f"/api/classes/{code}/state", {"page": "/learn/qkv"}),
        ("POST", f"/api/classes/{code}/polls", {"question": "q", "options": ["a", "b"]}),
        ("GET", f"/api/classes/{code}/polls/abc", None),
        ("POST", f"/api/classes/{code}/polls/abc/reveal", {"model": {}}),
        ("DELETE", f"/api/classes/{code}", None),
    ]


def test_teacher_routes_need_the_key_and_an_existing_class(c):
    code, key = start_class(c)
    for method, url, body in teacher_routes(code):
        missing = c.request(method, url, json=body)
        assert (missing.status_code, missing.json()["detail"]) == (403, "teacher key missing"), url
        wrong = c.request(method, url, json=body, headers={"X-Teacher-Key": "x" * 32})
        assert (wrong.status_code, wrong.json()["detail"]) == (403, "teacher key does not match"), url
    for method, url, body in teacher_routes("ZZZZZZ"):
        assert c.request(method, url, json=body, headers=key).status_code == 404, url
    assert c.post("/api/classes/ZZZZZZ/join", json={}).status_code == 404
    assert c.get("/api/classes/ZZZZZZ/events").status_code == 404
    assert c.get("/api/classes/ZZZZZZ/qr.svg").status_code == 404
    assert c.get(f"/api/classes/{code}", headers=key).status_code == 200


def test_a_student_gets_the_state_first_then_the_count(c):
    code, key = start_class(c)
    student = join(c, code.lower(), "  Ada  ")
    teacher_view = Stream(c, code)
    s = Stream(c, code, student)
    wait_for(lambda: c.get(f"/api/classes/{code}", headers=key).json()["students"] == 1)
    info = c.get(f"/api/classes/{code}", headers=key).json()
    assert (info["students"], info["joined"], info["names"]) == (1, 1, ["Ada"])  # the view is not counted
    time.sleep(0.4)  # the count goes out within a quarter of a second
    assert c.delete(f"/api/classes/{code}", headers=key).status_code == 204
    events = s.events()
    assert set(events[0]) == STATE_FIELDS and events[0]["event"] == "state" and events[0]["version"] == 0
    assert events[1] == {"event": "count", "students": 1}
    assert events[-1] == {"event": "end", "reason": "ended by the teacher"}
    seen = teacher_view.events()
    assert [e["event"] for e in seen] == ["state", "count", "count", "end"]
    assert [e["students"] for e in seen if e["event"] == "count"] == [0, 1]
    assert c.get(f"/api/classes/{code}", headers=key).status_code == 404
    assert c.post(f"/api/classes/{code}/join", json={}).status_code == 404


def test_a_push_reaches_every_listener_in_order(c):
    code, key = start_class(c)
    streams = [Stream(c, code, join(c, code)) for _ in range(2)]
    for n in range(1, 4):
        r = c.post(
            f"/api/classes/{code}/state", headers=key, json={"page": "/learn/qkv", "params": {"step": n}}
        )
        assert r.json() == {"version": n}
        # each read before the next push: a listener that lags gets only the latest (tested below)
        wait_for(lambda: not any(x.items for x in c.app.state.classes.listeners[code]))
    c.post(f"/api/classes/{code}/state", headers=key, json={"lock": ["temperature"], "mode": "free"})
    c.delete(f"/api/classes/{code}", headers=key)
    for s in streams:
        states = [e for e in s.events() if e["event"] == "state"]
        assert [e["version"] for e in states] == [0, 1, 2, 3, 4]
        assert [e["params"] for e in states[1:4]] == [{"step": 1}, {"step": 2}, {"step": 3}]
        last = states[-1]
        assert (last["page"], last["params"], last["lock"], last["mode"]) == (
            "/learn/qkv",
            {"step": 3},
            ["temperature"],
            "free",
        )


def test_a_student_who_reconnects_gets_the_current_state_and_the_open_poll(c):
    code, key = start_class(c)
    student = join(c, code)
    c.post(f"/api/classes/{code}/state", headers=key, json={"page": "/playground", "present": True})
    poll = c.post(
        f"/api/classes/{code}/polls", headers=key, json={"question": "Next?", "options": ["a", "b"]}
    )
    s = Stream(c, code, student)
    c.delete(f"/api/classes/{code}", headers=key)
    events = s.events()
    assert [e["event"] for e in events] == ["state", "count", "poll", "end"]
    assert (events[0]["version"], events[0]["page"], events[0]["present"]) == (1, "/playground", True)
    assert events[2] == {
        "event": "poll",
        "poll_id": poll.json()["poll_id"],
        "kind": "choice",
        "question": "Next?",
        "options": ["a", "b"],
        "context": {},
    }


def test_a_poll_collects_one_answer_per_student_the_last_one_counting(c):
    code, key = start_class(c)
    ann, bob, cy = (join(c, code, n) for n in ("Ann", "Bob", "Cy"))
    other_code, _ = start_class(c)
    stranger = join(c, other_code)
    body = {"question": "Which head?", "options": ["0", "1", "2"], "context": {"page": "/learn/heads"}}
    poll = c.post(f"/api/classes/{code}/polls", headers=key, json=body).json()["poll_id"]
    listener = Stream(c, code, ann)

    def answer(student, text, poll_id=poll):
        return c.post(
            f"/api/classes/{code}/answers", json={"poll_id": poll_id, "answer": text, "student": student}
        )

    assert answer(ann, "0").json() == {"ok": True}
    assert answer(ann, "1").status_code == 200  # the last answer counts
    assert answer(bob, "1").status_code == 200
    assert answer(cy, "2").status_code == 200
    bad = answer(cy, "3")
    assert bad.status_code == 422 and "answer" in bad.json()["detail"]
    assert answer(stranger, "0").status_code == 403
    assert answer(ann, "0", "nopoll").status_code == 404
    tally = c.get(f"/api/classes/{code}/polls/{poll}", headers=key).json()
    assert tally["tally"] == {"0": 0, "1": 2, "2": 1} and tally["answers"] == 3
    assert (tally["revealed"], tally["model"], tally["students"]) == (False, None, 1)
    wait_for(lambda: c.get(f"/api/classes/{code}", headers=key).json()["poll"]["answers"] == 3)
    time.sleep(0.3)  # the answers count goes out within a quarter of a second
    revealed = c.post(
        f"/api/classes/{code}/polls/{poll}/reveal", headers=key, json={"model": {"answer": "1"}}
    )
    assert revealed.json()["revealed"] is True and revealed.json()["model"] == {"answer": "1"}
    assert answer(bob, "2").status_code == 409
    c.delete(f"/api/classes/{code}", headers=key)
    events = listener.events()
    assert {"event": "answers", "poll_id": poll, "answers": 3} in events
    reveal = [e for e in events if e["event"] == "reveal"]
    assert reveal == [
        {
            "event": "reveal",
            "poll_id": poll,
            "tally": {"0": 0, "1": 2, "2": 1},
            "answers": 3,
            "model": {"answer": "1"},
        }
    ]
    assert "Ann" not in str(events)  # the class's histogram is anonymous


def test_a_guess_round_groups_guesses_as_typed(c):
    code, key = start_class(c)
    students = [join(c, code) for _ in range(4)]
    r = c.post(
        f"/api/classes/{code}/polls",
        headers=key,
        json={"question": "next?", "kind": "guess", "options": ["a", "b"]},
    )
    assert r.status_code == 422 and "options" in str(r.json()["detail"])
    first = c.post(
        f"/api/classes/{code}/polls",
        headers=key,
        json={"question": "next?", "kind": "choice", "options": ["a", "b"]},
    )
    poll = c.post(
        f"/api/classes/{code}/polls", headers=key, json={"question": "next?", "kind": "guess"}
    ).json()["poll_id"]
    for student, guess in zip(students, (" e ", "e", "E", "the"), strict=True):
        assert (
            c.post(
                f"/api/classes/{code}/answers", json={"poll_id": poll, "answer": guess, "student": student}
            ).status_code
            == 200
        )
    empty = c.post(
        f"/api/classes/{code}/answers", json={"poll_id": poll, "answer": "   ", "student": students[0]}
    )
    assert empty.status_code == 422 and "answer" in empty.json()["detail"]
    closed = c.post(
        f"/api/classes/{code}/answers",
        json={"poll_id": first.json()["poll_id"], "answer": "a", "student": students[0]},
    )
    assert closed.status_code == 409  # opening a poll closed the one before
    tally = c.get(f"/api/classes/{code}/polls/{poll}", headers=key).json()
    assert (
        tally["tally"] == {"e": 2, "E": 1, "the": 1} and tally["kind"] == "guess" and tally["options"] == []
    )
    model = {"tokens": [{"token": "e", "p": 0.31}, {"token": " ", "p": 0.2}]}
    assert (
        c.post(f"/api/classes/{code}/polls/{poll}/reveal", headers=key, json={"model": model}).json()["model"]
        == model
    )


@pytest.mark.parametrize(
    "page",
    ["//evil.com", "https://x", "/api/models", "/api", "\\\\evil", "/learn\\x", "learn", "/a?b=1", "/a b"],
)
def test_only_a_page_of_this_site_can_be_pushed(c, page):
    code, key = start_class(c)
    r = c.post(f"/api/classes/{code}/state", headers=key, json={"page": page})
    assert r.status_code == 422 and "page" in str(r.json()["detail"])


@pytest.mark.parametrize(
    "body",
    [
        {"params": {f"k{i}": i for i in range(41)}},
        {"params": {"Bad": 1}},
        {"params": {"a": "x" * 4001}},
        {"params": {"a": [1]}},
        {"lock": ["Temperature"]},
        {"hide": ["a"] * 41},
        {"mode": "lead"},
        {"page": "/" + "a" * 300},
        {"present": "yes"},
        {"extra": 1},
    ],
)
def test_a_push_out_of_bounds_is_refused_naming_the_field(c, body):
    code, key = start_class(c)
    r = c.post(f"/api/classes/{code}/state", headers=key, json=body)
    assert r.status_code == 422 and next(iter(body)) in str(r.json()["detail"])


def test_question_and_answer_sizes_are_bounded(c):
    code, key = start_class(c)
    student = join(c, code)
    polls = f"/api/classes/{code}/polls"
    for body in (
        {"question": "q" * 301, "options": ["a", "b"]},
        {"question": "q", "options": ["a"]},
        {"question": "q", "options": ["a", "a"]},
        {"question": "q", "options": [str(i) for i in range(13)]},
        {"question": "q", "options": ["a", "b" * 121]},
        {"question": "q", "options": ["a", "b"], "context": {"text": "x" * 4100}},
    ):
        assert c.post(polls, headers=key, json=body).status_code == 422, body
    poll = c.post(polls, headers=key, json={"question": "q", "kind": "guess"}).json()["poll_id"]
    long = c.post(
        f"/api/classes/{code}/answers", json={"poll_id": poll, "answer": "x" * 41, "student": student}
    )
    assert long.status_code == 422
    huge = c.post(
        f"/api/classes/{code}/answers", json={"poll_id": poll, "answer": "x" * 121, "student": student}
    )
    assert huge.status_code == 422 and "answer" in str(huge.json()["detail"])
    reveal = c.post(f"{polls}/{poll}/reveal", headers=key, json={"model": {"x": "y" * 8200}})
    assert reveal.status_code == 422 and "model" in str(reveal.json()["detail"])
    assert c.post(f"/api/classes/{code}/join", json={"name": "n" * 41}).status_code == 422
    assert c.post("/api/classes", json={"title": "t" * 81}).status_code == 422


def test_the_server_holds_at_most_max_classes(make_client):
    c = make_client(max_classes=2)
    start_class(c)
    start_class(c)
    r = c.post("/api/classes", json={})
    assert r.status_code == 503 and int(r.headers["retry-after"]) > 0 and "2 classes" in r.json()["detail"]


def test_a_class_holds_at_most_class_max_students(make_client):
    c = make_client(class_max_students=2)
    code, _ = start_class(c)
    join(c, code)
    join(c, code)
    r = c.post(f"/api/classes/{code}/join", json={})
    assert r.status_code == 503 and "2 students" in r.json()["detail"]


def test_join_attempts_are_rate_limited_failed_ones_too(make_client):
    c = make_client(class_join_per_min=4)
    code, key = start_class(c)
    assert c.post("/api/classes/ZZZZZZ/join", json={}).status_code == 404
    join(c, code)
    assert c.get(f"/api/classes/{code}/qr.svg").status_code == 200
    student = join(c, code)
    r = c.post(f"/api/classes/{code}/join", json={})
    assert r.status_code == 429 and 0 < int(r.headers["retry-after"]) <= 61
    assert c.get(f"/api/classes/{code}/events").status_code == 429
    assert c.get(f"/api/classes/{code}/events?student=x{student}").status_code == 429
    # a student of the class reconnecting (a page the teacher sent them to) is not refused
    s = Stream(c, code, student)
    c.delete(f"/api/classes/{code}", headers=key)
    assert s.events()[0]["event"] == "state"


def test_class_creation_is_rate_limited(make_client):
    c = make_client(class_create_per_hour=2)
    start_class(c)
    start_class(c)
    r = c.post("/api/classes", json={})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


def test_a_foreign_student_cannot_listen(c):
    code, _ = start_class(c)
    other, _ = start_class(c)
    assert c.get(f"/api/classes/{code}/events?student={join(c, other)}").status_code == 403
    assert c.get(f"/api/classes/{code}/events?student=bad!id").status_code == 422


def test_an_idle_class_expires_and_its_listeners_are_told(make_client):
    c = make_client(class_idle_s=60)
    code, key = start_class(c)
    busy, _ = start_class(c)
    s = Stream(c, code, join(c, code))
    store = c.app.state.classes
    c.portal.call(store.sweep, store.clock() + 30)
    assert c.get(f"/api/classes/{code}", headers=key).status_code == 200
    c.portal.call(store.sweep, store.clock() + 61)
    assert s.events()[-1] == {"event": "end", "reason": "expired"}
    assert c.get(f"/api/classes/{code}", headers=key).status_code == 404
    assert busy not in store.rooms


def test_a_slow_listener_gets_the_latest_state_not_a_backlog():
    listener = Listener("s")
    for version in range(1, 500):
        listener.put("state", {"version": version})
        listener.put("count", {"students": version})
    assert [(e, d) for e, d, _ in listener.items] == [
        ("state", {"version": 499}),
        ("count", {"students": 499}),
    ]
    listener.put("state", {"version": 3})  # an older state arriving late
    assert listener.items[0][1] == {"version": 499}
    for n in range(MAX_PENDING):
        listener.put("poll", {"poll_id": str(n)})
    assert listener.closed and not listener.items  # too far behind: closed, the page reconnects


def test_a_quiet_stream_is_pinged():

    async def first_two():
        listener = Listener(None)
        listener.put("count", {"students": 1})
        events = listener.events(ping_s=0.01)
        return [await anext(events), await anext(events)]

    assert run_coroutine(first_two()) == [("count", '{"students":1}'), ("", "")]
