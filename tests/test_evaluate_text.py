"""``playground evaluate MODEL --text FILE``: a language model's loss, perplexity and bits per character
over a text's non-overlapping context-long windows (``models.measure.score_windows``)."""

import math

import numpy as np
import pytest

from models.loading import load_model, shipped_models
from models.measure import score_text, score_windows
from server.cli import main

from helpers import TOK, char_gpt

TEXT = "bad cafe, a bead. deaf cab\nface a fad, bed a cage.\n" * 3  # 153 characters of TOK's 12


@pytest.fixture(scope="module")
def gpt(tmp_path_factory):
    return char_gpt(tmp_path_factory.mktemp("eval") / "gpt", {"name": "gpt", "task": "lm"}, block_size=32)


def test_windows_score_every_token_but_the_first_once(gpt):
    model = load_model(gpt, "numpy")
    ids = TOK.encode(TEXT)
    s = score_windows(model, ids, len(ids) - 1, 32)
    # by hand: windows start every 32 tokens; each predicts its next up to 32 tokens with no earlier context
    losses = []
    for i in range(0, len(ids) - 1, 32):
        y = ids[i + 1 : i + 33]
        z = np.asarray(model(np.asarray([ids[i : i + len(y)]]))[0], dtype=np.float64)  # (T, V)
        logp = (
            z - z.max(-1, keepdims=True) - np.log(np.exp(z - z.max(-1, keepdims=True)).sum(-1, keepdims=True))
        )
        losses += [-logp[t, y[t]] for t in range(len(y))]
    losses = np.asarray(losses)
    assert len(losses) == s.tokens == len(ids) - 1 and s.windows == math.ceil((len(ids) - 1) / 32)
    assert s.loss == pytest.approx(float(losses.mean()), rel=1e-6)
    assert s.perplexity == pytest.approx(math.exp(s.loss))
    assert s.bits_per_char == pytest.approx(s.loss / math.log(2))  # one character per token
    short = ids[:20]  # one window: the same as scoring the text at once
    assert score_windows(model, short, 19, 32).loss == pytest.approx(score_text(model, short, 19).loss)


def test_both_twins_measure_the_same(gpt):
    ids = TOK.encode(TEXT)
    a, b = (score_windows(load_model(gpt, backend), ids, len(ids) - 1, 32) for backend in ("numpy", "torch"))
    assert a.loss == pytest.approx(b.loss, abs=1e-5)


def test_evaluate_prints_loss_perplexity_and_bits_per_char(gpt, tmp_path, capsys):
    path = tmp_path / "text.txt"
    path.write_text(TEXT)
    assert main(["evaluate", str(gpt), "--text", str(path)]) == 0
    out = capsys.readouterr().out
    s = score_windows(load_model(gpt), TOK.encode(TEXT), len(TEXT) - 1, 32)
    assert f"loss: {s.loss:.4f} nats/token over 152 predicted tokens" in out
    assert f"perplexity: {s.perplexity:.3f}" in out and f"bits per character: {s.bits_per_char:.4f}" in out
    assert "153 characters, 153 tokens (char); 5 non-overlapping windows of up to 32 predictions" in out


def test_an_lstm_and_a_bpe_model_are_measured_too(arch_zoo, tmp_path, capsys):
    path = tmp_path / "text.txt"
    path.write_text("ROMEO: But soft, what light through yonder window breaks?\n" * 4)
    assert main(["evaluate", str(arch_zoo / "tiny-lstm"), "--text", str(path), "--backend", "torch"]) == 0
    assert "perplexity:" in capsys.readouterr().out
    if "shakespeare-bpe" not in shipped_models():
        return
    assert main(["evaluate", "shakespeare-bpe", "--text", str(path)]) == 0
    out = capsys.readouterr().out
    loss = float(out.split("loss: ")[1].split()[0])
    bpc = float(out.split("bits per character: ")[1].split()[0])
    assert "(bpe)" in out and bpc < loss / math.log(2)  # a BPE token stands for several characters


def test_evaluate_text_errors_are_messages(gpt, arch_zoo, tmp_path, capsys):
    assert main(["evaluate", str(gpt)]) == 2  # a language model needs a text
    assert "measure it on a text with --text FILE" in capsys.readouterr().err
    assert main(["evaluate", str(gpt), "--text", str(tmp_path / "nope.txt")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "odd.txt").write_text("xyz")
    assert main(["evaluate", str(gpt), "--text", str(tmp_path / "odd.txt")]) == 2
    assert "not in this model's vocabulary: 'x', 'y', 'z'" in capsys.readouterr().err
    assert main(["evaluate", str(arch_zoo / "tiny-mlm"), "--text", str(tmp_path / "odd.txt")]) == 2
    assert "--text measures a language model (GPT or LSTM)" in capsys.readouterr().err
