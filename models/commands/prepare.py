"""``playground prepare``: tokenize a text into train/validation token arrays (``models.training.data``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from models.training.data import DEFAULT_BPE_VOCAB, DEFAULT_TEXT, TEXT_ENV, TOKENIZERS, prepare, resolve_text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--text",
        help=f"training text, UTF-8 (default: ${TEXT_ENV}, else {DEFAULT_TEXT} when it exists)",
    )
    parser.add_argument(
        "--tokenizer", choices=TOKENIZERS, default="char", help="vocabulary kind (default char)"
    )
    parser.add_argument(
        "--vocab-size", type=int, help=f"BPE vocabulary size, bytes included (default {DEFAULT_BPE_VOCAB})"
    )
    parser.add_argument("--out", type=Path, help="data directory (default data/<text name>-<tokenizer>)")


def main(args: argparse.Namespace) -> int:
    prepare(resolve_text(args.text), args.tokenizer, args.vocab_size, args.out)
    return 0
