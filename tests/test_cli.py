"""The ``playground`` command: demo output and clear errors instead of tracebacks."""

from models.config import GPTConfig
from models.tokenizer import CharTokenizer
from models.weights import save_gpt_dir
from server.cli import main

from helpers import random_params


def char_model(tmp_path):
    tok = CharTokenizer.train("abcdefgh \n")
    cfg = GPTConfig(vocab_size=tok.vocab_size, block_size=32, n_layer=1, n_head=2, n_embd=8)
    return save_gpt_dir(tmp_path / "m", cfg, random_params(cfg), tokenizer_json=tok.to_json())


def test_demo_streams_text_on_both_backends(tmp_path, capsys):
    d = char_model(tmp_path)
    outputs = []
    for backend in ("numpy", "torch"):
        args = ["demo", "--model", str(d), "--backend", backend, "--prompt", "abc", "--max-new-tokens", "20"]
        assert main([*args, "--seed", "3", "--stats"]) == 0
        out = capsys.readouterr().out
        assert out.startswith("abc") and "20 tokens" in out and "stopped: length" in out
        outputs.append(out.split("\n\n[")[0])
    assert outputs[0] == outputs[1] and len(outputs[0]) == 23


def test_bad_input_is_a_message_not_a_traceback(tmp_path, capsys):
    d = char_model(tmp_path)
    assert main(["demo", "--model", str(tmp_path / "missing")]) == 2
    assert "no model directory or shipped model named" in capsys.readouterr().err
    assert main(["demo", "--model", str(d), "--prompt", "xyz"]) == 2
    assert "not in this model's vocabulary: 'x', 'y', 'z'" in capsys.readouterr().err
    assert main(["demo", "--model", str(d), "--top-p", "0"]) == 2
    assert "top_p" in capsys.readouterr().err


def test_demo_without_a_model_picks_the_first_language_model_that_reads_the_prompt(
    arch_zoo, monkeypatch, capsys
):
    # sorted, the zoo is numbers-gpt (a GPT, but its vocabulary has no "R"), tiny-lstm, tiny-mlm, tiny-numbers
    monkeypatch.setenv("PLAYGROUND_ZOO", str(arch_zoo))
    assert main(["demo", "--max-new-tokens", "5", "--stats"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ROMEO:\n") and "5 tokens" in out
    assert main(["demo", "--prompt", "4012=", "--max-new-tokens", "3", "--temperature", "0"]) == 0
    assert capsys.readouterr().out.startswith("4012=")  # the numbers GPT reads digits


def test_demo_says_a_model_is_not_a_language_model(arch_zoo, monkeypatch, capsys):
    monkeypatch.setenv("PLAYGROUND_ZOO", str(arch_zoo))
    for name, kind in (("tiny-numbers", "seq2seq"), ("tiny-mlm", "masked-lm")):
        assert main(["demo", "--model", name]) == 2
        err = capsys.readouterr().err
        assert f"{name} is not a language model that continues a prompt (" in err and f"kind {kind})" in err
        assert "Traceback" not in err
    assert main(["demo", "--prompt", "ÆØÅ"]) == 2
    assert "no shipped language model can read the prompt 'ÆØÅ'" in capsys.readouterr().err
