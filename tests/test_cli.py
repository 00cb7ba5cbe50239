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
