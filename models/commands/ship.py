"""``playground ship``: turn a training run's best model into a shipped zoo model with its card.

    models/zoo/<name>/
        config.json  model.safetensors  tokenizer.json   the model, as exported by the run
        metrics.jsonl                                    the run's loss curves (the lessons plot them)
        card.json                                        data, config, training, results, sample, command
        README.md                                        the card in words

On top of what the run recorded, shipping measures the model once more with the NumPy twin:
the loss over the whole validation split (non-overlapping windows of the full context), and a
300-character sample at temperature 0.8 with a stated seed.

A numbers-to-words model (``--task numbers``: the encoder-decoder, or a GPT on "1234=words"
lines) is measured instead by greedy exact match on every held-out test and validation number
(``models/evaluate.py``), plus a fixed slice of 300 test numbers for quick checks, and its card
shows three example translations.

A masked LM (``--task mlm``) is measured on the whole validation split in non-overlapping windows,
masked BERT's way with a fixed seed: masked-token loss, perplexity, top-1 and top-5 accuracy, plus
a slice of the first 64 windows; its card shows three validation lines with a few letters hidden
and the model's guesses.
"""

from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from models.architectures import ARCHITECTURES
from models.commands.readmes import N_MASKED, card_readme, mlm_readme, numbers_readme
from models.metrics import bits_per_char, perplexity
from models.numbers import to_words
from models.training.card import reproduce_command
from models.training.data import REPO_ROOT, load_data
from models.training.loop import METRICS_FILE, read_checkpoint_info
from models.training.settings import TrainSettings
from models.training.tasks import LMTask
from models.weights import (
    CARD_FILE,
    CONFIG_FILE,
    TOKENIZER_FILE,
    WEIGHTS_FILE,
    atomic_write_bytes,
    atomic_write_json,
    read_json,
)

log = logging.getLogger(__name__)

ZOO = REPO_ROOT / "models" / "zoo"
SAMPLE_CHARS = 300
SAMPLE_TEMPERATURE = 0.8
EVAL_BATCH = 64  # windows per forward when measuring the validation split
SLICE_WINDOWS = 64  # the card's fixed slice: the validation split's first 64 context-long windows


def split_loss(model: Any, tokens: np.ndarray, batch: int = EVAL_BATCH) -> tuple[float, int]:
    """Mean next-token loss over ``tokens`` in non-overlapping context-long windows → (nats, targets)."""
    from models.gpt_numpy import cross_entropy

    T = model.config.block_size
    n = (len(tokens) - 1) // T
    starts = np.arange(n) * T
    total, count = 0.0, 0
    for i in range(0, n, batch):
        s = starts[i : i + batch]
        windows = tokens[s[:, None] + np.arange(T + 1)].astype(np.int64)  # (b, T+1)
        loss = cross_entropy(model(windows[:, :-1]), windows[:, 1:])
        total += loss * windows[:, 1:].size
        count += windows[:, 1:].size
    return total / count, count


def slice_loss(model: Any, val_tokens: np.ndarray) -> float:
    """Loss over the validation split's first ``SLICE_WINDOWS`` windows: a quick check of a card."""
    return split_loss(model, val_tokens[: SLICE_WINDOWS * model.config.block_size + 1])[0]


def sample_text(model: Any, tokenizer: Any, prompt: str, seed: int) -> str:
    """``SAMPLE_CHARS`` characters continuing ``prompt`` at temperature 0.8. Past the context the
    window slides (``models.generate.forget_window``): generation goes on from the last half of it."""
    from models.generate import TokenEvent, generate
    from models.sampling import SamplingParams

    params = SamplingParams(temperature=SAMPLE_TEMPERATURE)
    ids = tokenizer.encode(prompt)
    events = generate(model, ids, SAMPLE_CHARS, params, np.random.default_rng(seed))
    new = [e.id for e in events if isinstance(e, TokenEvent)]
    return tokenizer.decode(new)[:SAMPLE_CHARS]


def _copy_export(run_dir: Path, name: str, zoo: Path) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """Copy the run's exported model and curves to ``zoo/name`` → (directory, checkpoint info, card)."""
    run_dir = Path(run_dir)
    export = run_dir / "export"
    if not (export / CARD_FILE).is_file():
        raise FileNotFoundError(f"{export} holds no exported model ({CARD_FILE} is missing)")
    info = read_checkpoint_info(run_dir)
    dest = Path(zoo) / name
    dest.mkdir(parents=True, exist_ok=True)
    for file in (CONFIG_FILE, WEIGHTS_FILE, TOKENIZER_FILE):
        atomic_write_bytes(dest / file, (export / file).read_bytes())
    shutil.copyfile(run_dir / METRICS_FILE, dest / METRICS_FILE)
    return dest, info, read_json(export / CARD_FILE)


def ship(run_dir: Path, name: str, zoo: Path = ZOO, seed: int = 0, prompt: str = "\n") -> Path:
    """Copy the run's exported model into ``zoo/name`` and complete its card; returns the directory.
    Measured with one BLAS thread: on a busy machine more threads on small matrices stall."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _ship(run_dir, name, zoo, seed, prompt)


def _ship(run_dir: Path, name: str, zoo: Path, seed: int, prompt: str) -> Path:
    from models.loading import load_model, load_tokenizer

    task = (read_checkpoint_info(Path(run_dir)).get("task") or {"name": "lm"})["name"]
    if task == "numbers":
        return ship_numbers(run_dir, name, zoo)
    if task == "mlm":
        return ship_mlm(run_dir, name, zoo, seed)
    if task != "lm":
        raise ValueError(
            f"{run_dir} trained --task {task}; "
            "ship takes language, masked-language and numbers-to-words models"
        )
    dest, info, card = _copy_export(run_dir, name, zoo)
    data = load_data(Path(info["data"]["directory"]))
    model, tokenizer = load_model(dest, "numpy"), load_tokenizer(dest)
    loss, n_tokens = split_loss(model, data.val)
    n_chars = len(tokenizer.decode(data.val[1 : n_tokens + 1].tolist()))  # the characters predicted
    card["name"] = name
    card["validation"] = {
        "loss": loss,
        "tokens": n_tokens,
        "chars": n_chars,
        "perplexity": perplexity(loss),
        "bits_per_char": bits_per_char(loss, n_tokens, n_chars),
        "how": f"NumPy twin (float32), non-overlapping {model.config.block_size}-token windows",
        "slice": {"windows": SLICE_WINDOWS, "loss": slice_loss(model, data.val)},
    }
    card["sample"] = {
        "prompt": prompt,
        "temperature": SAMPLE_TEMPERATURE,
        "seed": seed,
        "backend": "numpy",
        "text": sample_text(model, tokenizer, prompt, seed),
    }
    config = ARCHITECTURES[info.get("arch", "gpt")].config.from_dict(info["config"])
    settings, threads = TrainSettings(**info["settings"]), card["hardware"]["threads"]
    card["command"] = reproduce_command(
        LMTask(data), config, settings, info["preset"], threads, card["steps"]
    )
    atomic_write_json(dest / CARD_FILE, card)
    atomic_write_bytes(dest / "README.md", card_readme(card).encode())
    bpc = card["validation"]["bits_per_char"]
    log.info("shipped %s → %s: validation %.4f nats/token, %.4f bits/char", run_dir, dest, loss, bpc)
    return dest


# -- numbers to words ------------------------------------------------------------------------------

N_EXAMPLES = 3


def ship_numbers(run_dir: Path, name: str, zoo: Path = ZOO) -> Path:
    """Ship a numbers-to-words run: greedy exact match on the held-out numbers (NumPy twin), the
    card's slice, three example translations, the reproduce command, a README."""
    from models.evaluate import SLICE, held_out, numbers_accuracy, spread
    from models.loading import load_model, load_tokenizer
    from models.training.tasks import numbers_task

    dest, info, card = _copy_export(run_dir, name, zoo)
    arch, split_seed = info["arch"], info["task"]["split_seed"]
    model = load_model(dest, "numpy")
    tokenizer = load_tokenizer(dest) if arch == "gpt" else None
    test = held_out(split_seed, "test")
    results = {
        split: numbers_accuracy(model, held_out(split_seed, split), tokenizer) for split in ("test", "val")
    }
    piece = numbers_accuracy(model, held_out(split_seed, "test", SLICE), tokenizer)
    card["name"] = name
    card["accuracy"] = {
        "test": results["test"].summary(),
        "val": results["val"].summary(),
        "slice": {"numbers": SLICE, "exact_match": piece.accuracy},
        "how": "greedy decoding, NumPy twin (float32); exact match with models.numbers.to_words; "
        f"held-out numbers of split seed {split_seed} (never trained on); slice: {SLICE} test numbers "
        "evenly spread",
        "wrong": [{"number": n, "output": a} for n, a in results["test"].wrong()[:20]],
    }
    card["examples"] = []
    test_acc = results["test"]
    for n in spread(test, N_EXAMPLES):
        answer = test_acc.answers[test_acc.numbers.index(int(n))]
        card["examples"].append({"number": int(n), "output": answer, "correct": answer == to_words(int(n))})
    config = ARCHITECTURES[arch].config.from_dict(info["config"])
    settings, threads = TrainSettings(**info["settings"]), card["hardware"]["threads"]
    task = numbers_task(arch, split_seed)
    card["command"] = reproduce_command(task, config, settings, info["preset"], threads, card["steps"])
    atomic_write_json(dest / CARD_FILE, card)
    atomic_write_bytes(dest / "README.md", numbers_readme(card).encode())
    log.info(
        "shipped %s → %s: held-out test exact match %.2f%% (%d numbers)",
        run_dir,
        dest,
        100 * results["test"].accuracy,
        len(test),
    )
    return dest


# -- masked language model ------------------------------------------------------------------------


def example_lines(text: str, n: int, block_size: int) -> list[str]:
    """``n`` lines of ``text`` evenly spread over it, each of 30 characters or more, mostly letters
    (cut to ``block_size``, so that each is read in one window)."""
    from models.evaluate import spread

    lines = [
        ln[:block_size] for ln in text.split("\n") if len(ln) >= 30 and sum(c.isalpha() for c in ln) >= 20
    ]
    return [lines[int(i)] for i in spread(np.arange(len(lines)), n)]


def fill_in_example(model: Any, tokenizer: Any, line: str, mask_id: int, seed: int) -> dict[str, Any]:
    """Hide ``N_MASKED`` letters of ``line`` (chosen with ``seed``) and record the model's guesses."""
    from models.evaluate import fill_masks

    letters = [i for i, ch in enumerate(line) if ch.isalpha()]
    rng = np.random.default_rng(seed)
    positions = sorted(int(i) for i in rng.choice(letters, size=min(N_MASKED, len(letters)), replace=False))
    guesses = fill_masks(model, tokenizer.encode(line), positions, mask_id)
    masked, filled = list(line), list(line)
    for g in guesses:
        masked[g["position"]] = tokenizer.decode([mask_id])
        filled[g["position"]] = tokenizer.decode(g["ids"][:1])
    return {
        "text": line,
        "masked": "".join(masked),
        "filled": "".join(filled),
        "guesses": [
            {
                "position": g["position"],
                "answer": line[g["position"]],
                "correct": g["ids"][0] == g["target"],
                "top": [
                    {"char": tokenizer.decode([i]), "prob": p}
                    for i, p in zip(g["ids"], g["probs"], strict=True)
                ],
            }
            for g in guesses
        ],
    }


def ship_mlm(run_dir: Path, name: str, zoo: Path = ZOO, seed: int = 0) -> Path:
    """Ship a masked-LM run: masked-token loss, perplexity, top-1 and top-5 accuracy over the whole
    validation split (non-overlapping windows masked with a fixed seed, NumPy twin), the card's
    slice, three example fill-ins, the reproduce command, a README."""
    from models.evaluate import MLM_SEED, MLM_SLICE, mlm_windows, score_masked
    from models.loading import load_model, load_tokenizer
    from models.mlm import MASK_CHAR
    from models.training.tasks import MASK_P, MLMTask

    dest, info, card = _copy_export(run_dir, name, zoo)
    data = load_data(Path(info["data"]["directory"]))
    model, tokenizer = load_model(dest, "numpy"), load_tokenizer(dest)
    mask_id, T = tokenizer.stoi[MASK_CHAR], model.config.block_size
    _, inputs, targets = mlm_windows(data.val, T, mask_id, model.config.vocab_size, MLM_SEED, MASK_P)
    whole = score_masked(model, inputs, targets)
    piece = score_masked(model, inputs[:MLM_SLICE], targets[:MLM_SLICE])
    card["name"] = name
    card["validation"] = {
        **whole.summary(),
        "how": f"NumPy twin (float32, one thread), the validation split in non-overlapping {T}-token "
        "windows, "
        f"{MASK_P:.0%} of tokens chosen and masked BERT's way (80% mask, 10% random, 10% kept) with "
        f"numpy.random.default_rng({MLM_SEED}); loss and accuracy over the chosen tokens",
        "seed": MLM_SEED,
        "slice": {
            "windows": MLM_SLICE,
            "loss": piece.loss,
            "accuracy": piece.accuracy,
            "top5_accuracy": piece.top5,
        },
    }
    text = tokenizer.decode(data.val.tolist())
    card["examples"] = [
        fill_in_example(model, tokenizer, line, mask_id, seed + k)
        for k, line in enumerate(example_lines(text, N_EXAMPLES, T))
    ]
    config = ARCHITECTURES[info["arch"]].config.from_dict(info["config"])
    settings, threads = TrainSettings(**info["settings"]), card["hardware"]["threads"]
    card["command"] = reproduce_command(
        MLMTask(data), config, settings, info["preset"], threads, card["steps"]
    )
    atomic_write_json(dest / CARD_FILE, card)
    atomic_write_bytes(dest / "README.md", mlm_readme(card).encode())
    log.info(
        "shipped %s → %s: masked-token loss %.4f nats, accuracy %.2f%% (top-5 %.2f%%) over %d masked",
        run_dir,
        dest,
        whole.loss,
        100 * whole.accuracy,
        100 * whole.top5,
        whole.masked,
    )
    return dest


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", type=Path, help="training run directory (holds checkpoint.json and export/)")
    parser.add_argument("--name", required=True, help="the shipped model's name (its folder in the zoo)")
    parser.add_argument(
        "--zoo", type=Path, default=ZOO, help=f"zoo folder (default {ZOO.relative_to(REPO_ROOT)})"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the card's sample or masked examples (default 0)"
    )
    parser.add_argument("--prompt", default="\n", help="prompt of the card's sample (default a newline)")


def main(args: argparse.Namespace) -> int:
    ship(args.run, args.name, args.zoo, args.seed, args.prompt)
    return 0
