"""The shipped numbers-to-words models: complete cards, both twins, held-out accuracy as the card says."""

import json

import numpy as np
import pytest

from models import load_model, load_tokenizer, shipped_models, zoo_dir
from models.evaluate import SLICE, held_out, numbers_accuracy, translate
from models.numbers import split_numbers, to_words
from models.tokenizer import Seq2SeqTokenizers
from models.weights import read_json

NAMES = {"numbers-to-words": "encoder-decoder", "numbers-to-words-decoder": "gpt"}
SHIPPED = [n for n in NAMES if n in shipped_models()]
pytestmark = pytest.mark.skipif(not SHIPPED, reason="no numbers-to-words model is shipped")


def card_of(name: str) -> dict:
    return read_json(zoo_dir() / name / "card.json")


@pytest.mark.parametrize("name", SHIPPED)
def test_card_is_complete(name):
    card = card_of(name)
    for key in ("data", "tokenizer", "config", "parameters", "steps", "wall_time_s", "hardware", "command"):
        assert key in card, key
    assert card["architecture"] == NAMES[name] and card["task"] == "numbers"
    assert np.isfinite(card["train_loss"]) and np.isfinite(card["val_loss"])
    seed = card["data"]["split_seed"]
    test = split_numbers(seed)["test"]
    assert card["accuracy"]["test"]["numbers"] == len(test) >= 2000
    assert card["accuracy"]["test"]["exact_match"] >= 0.99
    assert len(card["examples"]) == 3
    for example in card["examples"]:
        assert example["number"] in test and example["correct"] == (
            example["output"] == to_words(example["number"])
        )
    assert card["command"].startswith("playground train") and f"--split-seed {seed}" in card["command"]
    readme = (zoo_dir() / name / "README.md").read_text()
    assert card["command"] in readme
    lines = (zoo_dir() / name / "metrics.jsonl").read_text().splitlines()
    assert lines and all("val_accuracy" in json.loads(line) for line in lines)


@pytest.mark.parametrize("name", SHIPPED)
def test_held_out_slice_matches_the_card(name):
    card = card_of(name)
    numbers = held_out(card["data"]["split_seed"], "test", SLICE)
    tokenizer = load_tokenizer(name) if NAMES[name] == "gpt" else None
    accuracy = numbers_accuracy(load_model(name, "numpy"), numbers, tokenizer).accuracy
    assert abs(accuracy - card["accuracy"]["slice"]["exact_match"]) <= 0.01
    assert abs(accuracy - card["accuracy"]["test"]["exact_match"]) <= 0.01


@pytest.mark.parametrize("name", SHIPPED)
def test_greedy_translations_agree_across_backends(name):
    numbers = held_out(card_of(name)["data"]["split_seed"], "test", 60)
    tokenizer = load_tokenizer(name) if NAMES[name] == "gpt" else None
    numpy_out = translate(load_model(name, "numpy"), numbers, tokenizer)
    torch_out = translate(load_model(name, "torch"), numbers, tokenizer)
    assert numpy_out == torch_out


@pytest.mark.parametrize("name", SHIPPED)
def test_tokenizers_load_and_fit_the_model(name):
    tokenizer = load_tokenizer(name)
    config = load_model(name, "numpy").config
    if NAMES[name] == "encoder-decoder":
        assert isinstance(tokenizer, Seq2SeqTokenizers)
        assert tokenizer.source.vocab_size == config.src_vocab_size
        assert tokenizer.target.vocab_size == config.tgt_vocab_size
    else:
        assert tokenizer.vocab_size == config.vocab_size
        assert tokenizer.decode(tokenizer.encode("905=nine hundred five\n")) == "905=nine hundred five\n"
