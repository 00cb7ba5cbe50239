"""``playground check DIR``: does a model folder (your own checkpoint) run the same on both twins?

Prints the twins' agreement (``models.checkpoint.check_folder``) and, for a GPT-2-compatible config with
``transformers`` installed, the agreement with transformers' GPT2LMHeadModel; writes a card.json for a
folder that has none (``--force`` replaces an existing one).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.checkpoint import Agreement


def say(line: str) -> None:
    sys.stdout.write(line + "\n")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "directory", type=Path, help="a model folder: config.json + model.safetensors + tokenizer"
    )
    parser.add_argument(
        "--steps", type=int, default=20, help="greedy tokens to compare (default 20; 0 = logits only)"
    )
    parser.add_argument(
        "--no-transformers", action="store_true", help="skip the comparison with transformers"
    )
    parser.add_argument("--no-card", action="store_true", help="do not write card.json")
    parser.add_argument("--force", action="store_true", help="replace an existing card.json")


def show(agreement: Agreement) -> None:
    say(f"{agreement.between}:")
    for dtype, diff in agreement.max_abs_diff.items():
        say(f"  {dtype}: max |Δ logits| {diff:.3g}")
    if agreement.greedy_steps:
        verdict = "equal" if agreement.greedy_equal else "DIFFERENT"
        say(f"  greedy tokens, {agreement.greedy_steps} steps (float32): {verdict}")


def main(args: argparse.Namespace) -> int:
    from models.checkpoint import MAX_INPUT, TOLERANCE, check_folder
    from models.weights import CARD_FILE, atomic_write_json

    if args.steps < 0:
        raise ValueError("--steps must be 0 or more")
    result = check_folder(args.directory, args.steps, use_transformers=not args.no_transformers)
    c, tok = result.config, result.tokenizer
    say(
        f"{result.directory}: {result.arch.label}, {result.parameters:,} parameters, "
        f"{tok.kind} tokenizer ({tok.vocab_size:,} tokens), context {c.block_size}"
    )
    say(f"inputs: {len(result.inputs)} fixed sequences of up to {MAX_INPUT} tokens (texts and random ids)")
    show(result.twins)
    if result.transformers is not None:
        show(result.transformers)
    else:
        say(f"transformers: not compared ({result.transformers_note})")
    tolerances = ", ".join(f"{d} ≤ {t:g}" for d, t in TOLERANCE.items())
    greedy = ", greedy tokens equal" if result.twins.greedy_steps else ""
    say(f"verdict: {'agree' if result.ok else 'DISAGREE'} (logits {tolerances}{greedy})")
    card = result.directory / CARD_FILE
    if args.no_card:
        pass
    elif card.is_file() and not args.force:
        say(f"{card} exists: left as it is (--force replaces it)")
    else:
        atomic_write_json(card, result.card())
        say(f"wrote {card}")
    return 0 if result.ok else 1
