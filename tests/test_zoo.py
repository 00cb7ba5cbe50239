"""Every shipped model: loads in both twins, matches its card, and the twins continue text alike."""

import json
from pathlib import Path

import numpy as np
import pytest

from models import SamplingParams, generate, load_model, load_tokenizer, shipped_models, zoo_dir
from models.generate import TokenEvent
from models.ship import slice_loss
from models.weights import read_json

TEXT = Path(__file__).resolve().parents[2] / "shared" / "data" / "tinyshakespeare.txt"
SHIPPED = [n for n in shipped_models() if read_json(zoo_dir() / n / "card.json").get("task", "lm") == "lm"]


def test_all_weights_fit_the_budget():
    total = sum(p.stat().st_size for p in zoo_dir().glob("*/model.safetensors"))
    assert total <= 40 * 2**20, f"shipped weights take {total / 2**20:.1f} MiB"


@pytest.mark.parametrize("name", SHIPPED)
def test_card_is_complete(name):
    card = read_json(zoo_dir() / name / "card.json")
    for key in ("data", "tokenizer", "config", "parameters", "steps", "wall_time_s", "hardware", "command"):
        assert key in card, key
    for key in ("train_loss", "val_loss"):
        assert np.isfinite(card[key])
    assert len(card["sample"]["text"]) == 300
    assert (zoo_dir() / name / "README.md").is_file()
    lines = (zoo_dir() / name / "metrics.jsonl").read_text().splitlines()
    assert lines and all("val_loss" in json.loads(line) for line in lines)


@pytest.mark.parametrize("name", SHIPPED)
def test_numpy_twin_matches_the_card_on_a_fixed_validation_slice(name):
    if not TEXT.is_file():
        pytest.skip(f"{TEXT} is not here")
    card = read_json(zoo_dir() / name / "card.json")
    text = TEXT.read_text(encoding="utf-8")
    assert card["data"]["splits"]["train"]["chars"] == int(len(text) * 0.9)
    val = np.asarray(load_tokenizer(name).encode(text[int(len(text) * 0.9) :]))
    loss = slice_loss(load_model(name, "numpy"), val)
    assert abs(loss - card["validation"]["slice"]["loss"]) <= 0.02


@pytest.mark.parametrize("name", SHIPPED)
def test_greedy_continuations_agree_across_backends(name):
    tok = load_tokenizer(name)
    prompt = tok.encode("ROMEO:\nWhat light")
    greedy = SamplingParams(temperature=0)
    out = []
    for backend in ("numpy", "torch"):
        events = generate(load_model(name, backend), prompt, 100, greedy)
        out.append([e.id for e in events if isinstance(e, TokenEvent)])
    assert out[0] == out[1]
