"""The training lab's API: admission, validation, events with history, controls, the served model."""

from __future__ import annotations

import time

import pytest

from helpers import sse_events

SMALL = {"task": "copy", "n_layer": 1, "n_head": 2, "n_embd": 16, "batch_size": 8}


def wait_for(c, run_id, predicate, seconds=60.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        state = c.get(f"/api/train/{run_id}").json()
        if predicate(state):
            return state
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} never reached the state: {state}")


@pytest.fixture
def lab(make_client, tmp_path):
    return make_client(max_trainings=1, train_idle_s=30)


def test_bad_settings_are_422_naming_the_field(lab):
    cases = [
        ({"n_head": 3}, "n_embd"),
        ({"task": "numbers", "arch": "lstm"}, "arch"),
        ({"n_layer": 9}, "n_layer"),
        ({"pos": "rotary"}, "pos"),
        ({"task": "poetry"}, "task"),
        ({"lr": 0}, "lr"),
        ({"colour": "red"}, "colour"),
        ({"steps": 10**6}, "steps"),
    ]
    for body, field in cases:
        r = lab.post("/api/train", json=body)
        assert r.status_code == 422, (body, r.text)
        assert field in r.text, (body, r.text)
    assert lab.post("/api/train/zz/control", json={"action": "pause"}).status_code == 422  # not an id
    assert lab.get("/api/train/abcdef").status_code == 404


def test_one_run_at_a_time_then_the_place_is_free_again(lab):
    first = lab.post("/api/train", json={**SMALL, "steps": 5000}).json()
    lab.post(f"/api/train/{first['id']}/control", json={"action": "pause"})
    second = lab.post("/api/train", json=SMALL)
    assert second.status_code == 503 and int(second.headers["Retry-After"]) > 0
    lab.post(f"/api/train/{first['id']}/control", json={"action": "stop"})
    state = wait_for(lab, first["id"], lambda s: s["status"] == "done")
    assert state["reason"] == "stopped"
    for _ in range(100):  # the worker thread lets go of its place as it ends
        third = lab.post("/api/train", json={**SMALL, "steps": 2})
        if third.status_code == 200:
            break
        time.sleep(0.05)
    assert third.status_code == 200


def test_a_late_viewer_gets_the_history_then_the_end(lab):
    run = lab.post("/api/train", json={**SMALL, "steps": 12}).json()
    assert run["events"] == f"/api/train/{run['id']}/events" and run["model"].startswith("copy-")
    wait_for(lab, run["id"], lambda s: s["status"] == "done")
    events = sse_events(lab.get(run["events"]))
    names = [e["event"] for e in events]
    assert names[0] == "start" and names[-1] == "done"
    assert [e["step"] for e in events if e["event"] == "step"] == list(range(1, 13))
    assert events[-1]["reason"] == "finished" and events[-1]["model"] == run["model"]
    snapshot = next(e for e in events if e["event"] == "snapshot")
    assert len(snapshot["attention"]) == 1 and len(snapshot["attention"][0]) == 2  # layers × heads
    assert "accuracy" in events[-1]["metrics"]
    again = sse_events(lab.get(run["events"]))  # any number of viewers, each the whole run
    assert [e["event"] for e in again] == names


def test_pause_step_resume_and_stop(lab):
    run = lab.post("/api/train", json={**SMALL, "steps": 5000}).json()
    rid = run["id"]
    paused = lab.post(f"/api/train/{rid}/control", json={"action": "pause"}).json()
    assert paused["status"] in ("paused", "starting")
    wait_for(lab, rid, lambda s: s["status"] == "paused")
    time.sleep(0.3)
    at = lab.get(f"/api/train/{rid}").json()["step"]
    time.sleep(0.3)
    assert lab.get(f"/api/train/{rid}").json()["step"] == at  # paused: no steps
    lab.post(f"/api/train/{rid}/control", json={"action": "step"})
    wait_for(lab, rid, lambda s: s["step"] == at + 1)
    lab.post(f"/api/train/{rid}/control", json={"action": "resume"})
    wait_for(lab, rid, lambda s: s["step"] > at + 3)
    lab.post(f"/api/train/{rid}/control", json={"action": "stop"})
    state = wait_for(lab, rid, lambda s: s["status"] == "done")
    assert state["reason"] == "stopped" and state["served"]
    late = lab.post(f"/api/train/{rid}/control", json={"action": "resume"})
    assert late.status_code == 409 and "ended" in late.text


def test_the_trained_model_is_served_and_generates(lab):
    run = lab.post("/api/train", json={"task": "reverse", "steps": 150}).json()
    state = wait_for(lab, run["id"], lambda s: s["status"] == "done", seconds=120)
    assert state["served"]
    names = [m["name"] for m in lab.get("/api/models").json()["models"]]
    assert run["model"] in names
    metrics = lab.get(f"/api/models/{run['model']}/metrics").json()
    assert metrics["records"][-1]["accuracy"] >= 0.95
    body = {"model": run["model"], "prompt": "12345678>", "max_new_tokens": 20, "temperature": 0}
    events = sse_events(lab.post("/api/generate", json=body))
    text = "".join(e["text"] for e in events if e["event"] == "token")
    assert text == "87654321" and events[-1]["reason"] == "stop"  # it stops at its newline
    assert lab.get(f"/train/{run['id']}").status_code == 200
    assert lab.get("/playground").status_code == 200


def test_same_seed_same_curve(lab):
    def losses():
        run = lab.post("/api/train", json={**SMALL, "steps": 8, "seed": 11}).json()
        wait_for(lab, run["id"], lambda s: s["status"] == "done")
        return [e["loss"] for e in sse_events(lab.get(run["events"])) if e["event"] == "step"]

    assert losses() == losses()


def test_an_unwatched_run_stops_and_old_models_go(make_client):
    c = make_client(train_idle_s=0.2, lab_models_kept=1)
    runs = c.app.state.runs
    first = c.post("/api/train", json={**SMALL, "steps": 5000}).json()
    time.sleep(0.4)
    runs.sweep()  # what the watchdog does every few seconds
    state = wait_for(c, first["id"], lambda s: s["status"] == "done")
    assert state["reason"] == "idle"
    second = c.post("/api/train", json={**SMALL, "steps": 2}).json()
    wait_for(c, second["id"], lambda s: s["status"] == "done")
    served = [m["name"] for m in c.get("/api/models").json()["models"]]
    assert second["model"] in served and first["model"] not in served  # one lab model kept


def test_shakespeare_needs_its_text(make_client, tmp_path):
    c = make_client(train_text=tmp_path / "missing.txt")
    r = c.post("/api/train", json={"task": "shakespeare"})
    assert r.status_code == 422 and "task" in r.text and "missing.txt" in r.text


def test_no_training_when_the_server_allows_none(make_client):
    c = make_client(max_trainings=0)
    r = c.post("/api/train", json={})
    assert r.status_code == 503 and "Retry-After" in r.headers


def test_runs_folder_gets_the_model_only_when_configured(make_client, tmp_path):
    c = make_client(runs_dir=tmp_path / "runs")
    run = c.post("/api/train", json={**SMALL, "steps": 3}).json()
    wait_for(c, run["id"], lambda s: s["served"])
    folder = tmp_path / "runs" / run["model"]
    assert (folder / "model.safetensors").is_file() and (folder / "metrics.jsonl").is_file()
