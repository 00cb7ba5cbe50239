"""``playground ship``: turn a training run's best model into a shipped zoo model with its card.

    models/zoo/<name>/
        config.json  model.safetensors  tokenizer.json   the model, as exported by the run
        metrics.jsonl                                    the run's loss curves (the lessons plot them)
        card.json                                        data, config, training, results, sample, command
        README.md                                        the card in words

On top of what the run recorded, shipping measures the model once more with the NumPy twin:
the loss over the whole validation split (non-overlapping windows of the full context), and a
300-character sample at temperature 0.8 with a stated seed.
"""

from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from models.config import GPTConfig
from models.data import REPO_ROOT, load_data
from models.metrics import bits_per_char, perplexity
from models.train import METRICS_FILE, TrainSettings, read_checkpoint_info, reproduce_command
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
    """``SAMPLE_CHARS`` characters continuing ``prompt`` at temperature 0.8. When the context is full,
    generation goes on from the last half of it, drawing from the same random stream."""
    from models.generate import TokenEvent, generate
    from models.sampling import SamplingParams

    params = SamplingParams(temperature=SAMPLE_TEMPERATURE)
    rng = np.random.default_rng(seed)  # passed on as it is: one stream across the windows
    ids, start = tokenizer.encode(prompt), len(tokenizer.encode(prompt))
    keep = model.config.block_size // 2
    text = ""
    while len(text) < SAMPLE_CHARS:
        for event in generate(model, ids[-keep:] if len(ids) > start else ids, SAMPLE_CHARS, params, rng):
            if isinstance(event, TokenEvent):
                ids.append(event.id)
        text = tokenizer.decode(ids[start:])
    return text[:SAMPLE_CHARS]


def card_readme(card: dict[str, Any]) -> str:
    """A short README.md for a zoo model, from its card."""
    c, v, hw, smp = card["config"], card["validation"], card["hardware"], card["sample"]
    tied = "tied" if c["tie_weights"] else "untied"
    tok = card["tokenizer"]
    rows = [
        (
            "data",
            f"`{card['data']['text']}` (sha256 `{card['data']['sha256'][:12]}…`), 90/10 train/validation",
        ),
        ("tokenizer", f"{tok['kind']}, {tok['vocab_size']} tokens"),
        ("parameters", f"{card['parameters']:,}"),
        (
            "training",
            f"{card['steps']:,} steps, {card['tokens']:,} tokens, {card['wall_time_s'] / 60:.0f} min "
            f"on {hw['cpu']} ({hw['threads']} threads, {hw['device']})",
        ),
        (
            "train / validation loss at the best step",
            f"{card['train_loss']:.4f} / {card['val_loss']:.4f} nats",
        ),
        (
            "validation loss, whole split",
            f"{v['loss']:.4f} nats per token ({v['tokens']:,} tokens, NumPy twin)",
        ),
        ("validation perplexity", f"{v['perplexity']:.3f}"),
        ("validation bits per character", f"{v['bits_per_char']:.4f}"),
    ]
    table = "\n".join(f"| {k} | {val} |" for k, val in rows)
    return f"""# {card["name"]}

A {c["n_layer"]}-layer, {c["n_head"]}-head, {c["n_embd"]}-wide GPT: {c["norm"]}-LN, {c["pos"]} positions,
{c["activation"].upper()}, {tied} embeddings, a context of {c["block_size"]} tokens.

| | |
|---|---|
{table}

Sample ({smp["backend"]} twin, temperature {smp["temperature"]}, seed {smp["seed"]},
prompt {smp["prompt"]!r}):

```text
{smp["text"]}
```

Reproduce (from the repository root):

```sh
{card["command"]}
```

`metrics.jsonl` holds the loss curves: one line per evaluation with the step, tokens seen, train
and validation loss, perplexity, bits per character, learning rate and tokens per second.
"""


def ship(run_dir: Path, name: str, zoo: Path = ZOO, seed: int = 0, prompt: str = "\n") -> Path:
    """Copy the run's exported model into ``zoo/name`` and complete its card; returns the directory."""
    from models.loading import load_model, load_tokenizer

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

    card = read_json(export / CARD_FILE)
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
    config, settings = GPTConfig.from_dict(info["config"]), TrainSettings(**info["settings"])
    threads = card["hardware"]["threads"]
    card["command"] = reproduce_command(data, config, settings, info["preset"], threads, card["steps"])
    atomic_write_json(dest / CARD_FILE, card)
    atomic_write_bytes(dest / "README.md", card_readme(card).encode())
    bpc = card["validation"]["bits_per_char"]
    log.info("shipped %s → %s: validation %.4f nats/token, %.4f bits/char", run_dir, dest, loss, bpc)
    return dest


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", type=Path, help="training run directory (holds checkpoint.json and export/)")
    parser.add_argument("--name", required=True, help="the shipped model's name (its folder in the zoo)")
    parser.add_argument(
        "--zoo", type=Path, default=ZOO, help=f"zoo folder (default {ZOO.relative_to(REPO_ROOT)})"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the card's sample (default 0)")
    parser.add_argument("--prompt", default="\n", help="prompt of the card's sample (default a newline)")


def main(args: argparse.Namespace) -> int:
    ship(args.run, args.name, args.zoo, args.seed, args.prompt)
    return 0
