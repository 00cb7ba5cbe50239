"""``playground evaluate NAME``: measure a numbers-to-words model or a masked LM (``models.evaluate``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from models import numbers as nb
from models.evaluate import (
    MLM_SEED,
    held_out,
    is_encoder_decoder,
    mlm_scores,
    numbers_accuracy,
    spread,
)


def say(line: str) -> None:
    sys.stdout.write(line + "\n")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="a shipped model's name or a model directory (e.g. a run's export/)")
    parser.add_argument(
        "--backend", choices=("numpy", "torch"), default="numpy", help="which twin (default numpy)"
    )
    parser.add_argument(
        "--split",
        choices=("test", "val"),
        default="test",
        help="numbers: which held-out split (default test)",
    )
    parser.add_argument(
        "--limit", type=int, help="numbers: this many, evenly spread over the split (default all)"
    )
    parser.add_argument("--examples", type=int, default=3, help="translations to show (default 3)")
    parser.add_argument(
        "--data", type=Path, help="masked LM: prepared data directory (default data/<text>-char)"
    )
    parser.add_argument(
        "--windows", type=int, help="masked LM: the first this many validation windows (default all)"
    )


def main(args: argparse.Namespace) -> int:
    from models.loading import load_model, resolve
    from models.weights import CARD_FILE, read_json

    directory = resolve(args.model)
    card = read_json(directory / CARD_FILE) if (directory / CARD_FILE).is_file() else {}
    task = card.get("task", "lm")
    if task not in ("numbers", "mlm"):
        raise ValueError(
            f"{args.model} is a language model (task {task}); its card holds its validation loss. "
            "evaluate measures numbers-to-words and masked-LM models"
        )
    model = load_model(directory, args.backend)
    params = model.num_parameters()
    arch = card.get("architecture", "?")
    say(f"{args.model}: {arch}, task {task}, {params:,} parameters, {args.backend} twin")
    if task == "numbers":
        if args.limit is not None and args.limit < 1:
            raise ValueError("--limit must be at least 1")
        seed = card["data"]["split_seed"]
        numbers = held_out(seed, args.split, args.limit)
        from models.loading import load_tokenizer

        tokenizer = None if is_encoder_decoder(model) else load_tokenizer(directory)
        acc = numbers_accuracy(model, numbers, tokenizer)
        say(f"held-out {args.split} numbers (split seed {seed}): {len(numbers):,}")
        say(f"greedy exact match: {100 * acc.accuracy:.2f}% ({acc.correct:,} / {len(numbers):,})")
        say(f"decoding: {acc.tokens:,} tokens in {acc.seconds:.2f} s = {acc.tokens_per_s:,.0f} tokens/s")
        for n in spread(np.asarray(numbers), args.examples) if args.examples > 0 else []:
            k = acc.numbers.index(int(n))
            say(f"  {int(n)} → {acc.answers[k]}")
        for n, a in acc.wrong()[:10]:
            say(f"  wrong: {n} → {a!r} (should be {nb.to_words(n)!r})")
        return 0
    if task == "mlm":
        from threadpoolctl import threadpool_limits

        from models.loading import load_tokenizer
        from models.mlm import MASK_CHAR
        from models.training.data import default_data_dir, load_data

        if args.windows is not None and args.windows < 1:
            raise ValueError("--windows must be at least 1")
        data = load_data(args.data or default_data_dir("char"))
        trained_on = (card.get("data") or {}).get("sha256")
        if trained_on and trained_on != data.meta["sha256"]:
            raise ValueError(
                f"{data.directory} was prepared from another text than {args.model} was trained on "
                "(sha256 differs); name the right one with --data"
            )
        mask_id = load_tokenizer(directory).stoi[MASK_CHAR]
        with threadpool_limits(limits=1, user_api="blas"):  # small matrices: more threads only wait
            s = mlm_scores(model, data.val, mask_id, args.windows)
        T = model.config.block_size
        say(
            f"validation: {s.windows:,} non-overlapping windows × {T} tokens, {s.masked:,} chosen "
            f"(BERT's 80/10/10, seed {MLM_SEED})"
        )
        say(f"masked-token loss: {s.loss:.4f} nats (perplexity {s.perplexity:.3f})")
        say(f"masked-token accuracy: top-1 {100 * s.accuracy:.2f}%, top-5 {100 * s.top5:.2f}%")
        say(
            f"reading: {s.tokens:,} tokens in {s.seconds:.2f} s = {s.tokens_per_s:,.0f} tokens/s (one thread)"
        )
        return 0
    raise AssertionError(task)  # unreachable
