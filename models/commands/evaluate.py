"""``playground evaluate NAME``: measure a language model on a text file (``--text``, ``models.measure``),
a numbers-to-words model or a masked LM (``models.evaluate``)."""

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
        "--text",
        type=Path,
        help="language model: a UTF-8 text file to measure (loss, perplexity, bits per character)",
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


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise ValueError(f"--text: {path} does not exist") from e
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"--text: cannot read {path} as UTF-8 text: {e}") from e


def evaluate_text(name: str, directory: Path, path: Path, backend: str) -> int:
    """A language model on a text file: loss, perplexity and bits per character over its windows."""
    from threadpoolctl import threadpool_limits

    from models.loading import load_model, load_tokenizer
    from models.measure import score_windows

    text = read_text(path)
    tokenizer = load_tokenizer(directory)
    ids = tokenizer.encode(text)  # a character the vocabulary lacks: a ValueError naming it
    if len(ids) < 2:
        raise ValueError(f"--text: {path} holds {len(ids)} token(s); at least two are needed")
    model = load_model(directory, backend)
    T = model.config.block_size
    with threadpool_limits(limits=1, user_api="blas"):
        s = score_windows(model, ids, len(tokenizer.decode(ids[1:])), T)
    say(f"{name}: {model.num_parameters():,} parameters, {backend} twin, context {T}")
    say(
        f"{path}: {len(text):,} characters, {len(ids):,} tokens ({tokenizer.kind}); "
        f"{s.windows:,} non-overlapping window{'s' if s.windows != 1 else ''} of up to {T} predictions"
    )
    say(f"loss: {s.loss:.4f} nats/token over {s.tokens:,} predicted tokens")
    say(f"perplexity: {s.perplexity:.3f}")
    say(f"bits per character: {s.bits_per_char:.4f} ({s.chars:,} characters predicted)")
    say(f"reading: {s.tokens:,} tokens in {s.seconds:.2f} s = {s.tokens_per_s:,.0f} tokens/s (one thread)")
    return 0


def main(args: argparse.Namespace) -> int:
    from models.architectures import architecture
    from models.loading import load_model, resolve
    from models.weights import CARD_FILE, CONFIG_FILE, architecture_of, read_json

    directory = resolve(args.model)
    kind = architecture(architecture_of(read_json(directory / CONFIG_FILE)))
    card = read_json(directory / CARD_FILE) if (directory / CARD_FILE).is_file() else {}
    if args.text is not None:
        if kind.kind != "causal-lm":
            raise ValueError(
                f"--text measures a language model (GPT or LSTM); {args.model} is not one ({kind.label})"
            )
        return evaluate_text(args.model, directory, args.text, args.backend)
    task = card.get("task") or kind.task
    if task not in ("numbers", "mlm"):
        raise ValueError(
            f"{args.model} is a language model (task {task}): measure it on a text with --text FILE "
            "(loss, perplexity, bits per character)"
        )
    model = load_model(directory, args.backend)
    params = model.num_parameters()
    arch = card.get("architecture", kind.name)
    say(f"{args.model}: {arch}, task {task}, {params:,} parameters, {args.backend} twin")
    if task == "numbers":
        if args.limit is not None and args.limit < 1:
            raise ValueError("--limit must be at least 1")
        seed = (card.get("data") or {}).get("split_seed", 0)
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
