"""The training lab's page shell: /train carries what its script needs (tasks, architectures, defaults, the
server's caps, whether the text task can run), and a run's own page exists only while its run does."""

from __future__ import annotations

import json
import re

from models.loading import zoo_dir


def page_data(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', html, re.S)
    assert found, "no page data"
    return json.loads(found.group(1))


def test_the_lab_page_carries_the_settings_its_form_is_built_from(make_client, tmp_path):
    c = make_client(
        models_dir=zoo_dir(), train_max_steps=777, lab_model_idle_s=600, train_text=tmp_path / "missing.txt"
    )
    r = c.get("/train")
    assert r.status_code == 200 and '<script type="module" src="/static/js/pages/train.js">' in r.text
    lab = page_data(r.text)["lab"]
    assert lab["tasks"] == ["copy", "reverse", "sort", "induction", "numbers", "shakespeare"]
    assert lab["archs"]["numbers"] == ["encoder-decoder", "gpt"] and lab["archs"]["reverse"] == [
        "gpt",
        "lstm",
    ]
    assert lab["task_defaults"]["numbers"]["arch"] == "encoder-decoder"
    assert lab["defaults"]["task"] == "reverse" and lab["defaults"]["steps"] is None
    assert (lab["max_steps"], lab["model_idle_s"], lab["text"], lab["run"]) == (777, 600, False, None)


def test_a_runs_own_page_is_there_only_while_the_run_is(make_client):
    c = make_client(models_dir=zoo_dir())
    assert c.get("/train/0123abcd").status_code == 404
    started = c.post("/api/train", json={"task": "copy", "steps": 1, "batch_size": 2, "n_embd": 16}).json()
    r = c.get(started["page"])
    assert r.status_code == 200 and page_data(r.text)["lab"]["run"] == started["id"]
