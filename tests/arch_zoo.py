"""A temporary zoo of tiny random models of every architecture (encoder, encoder-decoder, LSTM, and a
GPT on the numbers task) for the architecture routes and lesson steps."""

from __future__ import annotations

import json
from pathlib import Path

from models.config import EncDecConfig, EncoderConfig, GPTConfig, LSTMConfig
from models.mlm import with_mask_token
from models.numbers import gpt_tokenizer, tokenizers_json
from models.tokenizer import CharTokenizer
from models.weights import (
    init_encdec_params,
    init_encoder_params,
    init_lstm_params,
    save_gpt_dir,
    save_model_dir,
)

from helpers import jittered, random_params

SHAKESPEARE_CHARS = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def build_zoo(root: Path, chars: str = SHAKESPEARE_CHARS) -> Path:
    """tiny-mlm (encoder), tiny-numbers (encoder-decoder), tiny-lstm, numbers-gpt (GPT on "n=words\\n")."""
    root = Path(root)
    tok, _ = with_mask_token(CharTokenizer(sorted(set(chars))))
    cfg = EncoderConfig(vocab_size=tok.vocab_size, block_size=64, n_layer=2, n_head=2, n_embd=16)
    params = jittered(init_encoder_params(cfg, 1), 11, 0.3)
    save_model_dir(root / "tiny-mlm", cfg, params, tok.to_json(), {"name": "tiny-mlm", "parameters": 0})

    ecfg = EncDecConfig(
        src_vocab_size=10, tgt_vocab_size=33, src_block_size=8, tgt_block_size=12, n_enc_layer=1,
        n_dec_layer=2, n_head=2, n_embd=16,
    )  # fmt: skip
    card = {"name": "tiny-numbers", "task": "numbers", "accuracy": {"test": {"exact_match": 0.5}}}
    save_model_dir(
        root / "tiny-numbers", ecfg, jittered(init_encdec_params(ecfg, 2), 12, 0.3), tokenizers_json(), card
    )

    ltok = CharTokenizer(sorted(set(chars)))
    lcfg = LSTMConfig(vocab_size=ltok.vocab_size, block_size=128, n_layer=2, n_embd=8, n_hidden=30)
    save_model_dir(root / "tiny-lstm", lcfg, init_lstm_params(lcfg, 3), ltok.to_json(), {"name": "tiny-lstm"})

    gtok = gpt_tokenizer()
    gcfg = GPTConfig(vocab_size=gtok.vocab_size, block_size=80, n_layer=1, n_head=2, n_embd=16)
    save_gpt_dir(
        root / "numbers-gpt",
        gcfg,
        random_params(gcfg, 4),
        gtok.to_json(),
        {"name": "numbers-gpt", "task": "numbers"},
    )
    for name in (
        "tiny-mlm",
        "tiny-numbers",
        "tiny-lstm",
        "numbers-gpt",
    ):  # a training log, as shipped models have
        records = [
            {"step": s, "tokens": 512 * s, "train_loss": 3.0 - s / 100, "val_loss": 3.1 - s / 100}
            for s in (0, 50)
        ]
        (root / name / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return root
