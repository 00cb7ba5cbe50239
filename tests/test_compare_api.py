"""GET /api/models/{name}/schedule: the training code's own learning-rate schedule from the card."""

import pytest

from models.training.settings import TrainSettings, lr_at

from helpers import char_gpt

TRAINING = {
    "lr": 1e-3,
    "min_lr": 1e-4,
    "warmup": 10,
    "max_steps": 100,
    "lr_decay_steps": None,
    "batch_size": 4,
}


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    """A model whose card records its training settings, and one without."""
    root = tmp_path_factory.mktemp("zoo")
    char_gpt(root / "trained", {"name": "trained", "steps": 90, "training": TRAINING}, block_size=16)
    char_gpt(root / "untrained", {"name": "untrained"}, block_size=16)
    return root


def test_schedule_is_lr_at_of_the_cards_settings(make_client, zoo):
    client = make_client(models_dir=zoo)
    r = client.get("/api/models/trained/schedule", params={"points": 20})
    assert r.status_code == 200, r.text
    body = r.json()
    s = TrainSettings(**TRAINING)
    assert body["steps"][0] == 0 and body["steps"][-1] == 99
    assert 9 in body["steps"] and 10 in body["steps"]  # warm-up end is always sampled
    assert body["steps"] == sorted(set(body["steps"]))
    assert body["lrs"] == [lr_at(step, s) for step in body["steps"]]
    assert max(body["lrs"]) == pytest.approx(1e-3)
    assert body["lrs"][0] == pytest.approx(1e-4)  # step 0 of a 10-step warm-up: lr / 10
    assert (body["warmup"], body["max_steps"], body["decay_steps"], body["trained_steps"]) == (
        10,
        100,
        100,
        90,
    )


def test_schedule_needs_training_settings_and_a_known_model(make_client, zoo):
    client = make_client(models_dir=zoo)
    assert client.get("/api/models/untrained/schedule").status_code == 404
    assert "no model named" in client.get("/api/models/nope/schedule").json()["detail"]
    assert client.get("/api/models/trained/schedule", params={"points": 1}).status_code == 422


def test_the_shipped_models_schedule_when_served(client):
    names = [m["name"] for m in client.get("/api/models").json()["models"]]
    for name in names:
        body = client.get(f"/api/models/{name}/schedule").json()
        assert len(body["steps"]) == len(body["lrs"]) >= 2
        assert min(body["lrs"]) >= body["min_lr"] * 0.999 or body["warmup"] > 0
