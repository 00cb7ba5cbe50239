"""The training lab and ``playground train --device`` on a GPU: one short check that prints figures.

1. ``resolve_device``: what ``auto`` picks here, and that ``cuda`` is accepted.
2. shakespeare-char's model (models/zoo/shakespeare-char: 6 layers, 4 heads, width 128, context 128)
   trained on the tokens the shipped run saw (16.2 M), at batch 256, bf16 autocast on CUDA, through the
   same ``Trainer`` ``playground train`` drives: wall time, tokens/s, the held-out loss it reaches. The
   same model's tokens/s for a few steps on this machine's CPU, for the ratio.
3. The lab's default ``reverse`` run on CUDA and on the CPU: seconds to 95 % held-out exact match.

Run from the repository root: ``python scripts/gpu_train_check.py TEXT OUT.json``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from models.config import GPTConfig
from models.devices import available_devices, resolve_device
from models.training.lab import LabRun, LabSettings, TextData
from models.training.settings import TrainSettings
from models.training.tasks import LMTask
from models.training.trainer import Trainer
from models.weights import read_json

ZOO_CARD = Path(__file__).resolve().parents[1] / "models" / "zoo" / "shakespeare-char" / "card.json"


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def shakespeare(text: Path, device: str, steps: int, batch: int) -> dict:
    card = read_json(ZOO_CARD)
    config = GPTConfig(**card["config"])
    shipped = card["training"]
    s = TrainSettings(
        batch_size=batch,
        lr=shipped["lr"] * 2,  # 8 × the shipped batch: a larger step, warm-up and decay over the shorter run
        min_lr=shipped["min_lr"] * 2,
        warmup=max(1, steps // 20),
        max_steps=steps,
        eval_iters=10,
        eval_interval=steps,
        seed=shipped["seed"],
    )
    task = LMTask(TextData(text))
    trainer = Trainer(config, s, task, device=device)
    trainer.step()  # the first step pays for kernel selection and allocation
    sync(device)
    start = time.perf_counter()
    for _ in range(steps - 1):
        stats = trainer.step()
    sync(device)
    seconds = time.perf_counter() - start
    tokens = (steps - 1) * batch * config.block_size
    out = {
        "device": device,
        "steps": steps,
        "batch": batch,
        "tokens": tokens,
        "seconds": round(seconds, 2),
        "tokens_per_s": round(tokens / seconds),
        "last_loss": round(stats.loss, 4),
    }
    if steps > 50:
        out["val_loss"] = round(trainer.evaluate(("val",))["val_loss"], 4)
        out["shipped_val_loss"] = card.get("val_loss")
        out["shipped_tokens"] = card.get("tokens")
        out["shipped_wall_time_s"] = card.get("wall_time_s")
    return out


def reverse(device: str) -> dict:
    seen: list[tuple[float, str, dict]] = []
    start = time.perf_counter()
    run = LabRun(
        LabSettings(task="reverse", device=device),
        lambda e, d: seen.append((time.perf_counter() - start, e, d)),
    )
    run.run()
    reached = next(
        ((t, d["step"]) for t, e, d in seen if e == "eval" and d.get("accuracy", 0) >= 0.95), (None, None)
    )
    done = seen[-1][2]
    return {
        "device": device,
        "seconds_to_95": None if reached[0] is None else round(reached[0], 2),
        "step_at_95": reached[1],
        "final_accuracy": done["metrics"].get("accuracy"),
        "steps": done["step"],
        "seconds": round(seen[-1][0], 2),
    }


def main() -> None:
    text, out = Path(sys.argv[1]), Path(sys.argv[2])
    report: dict = {
        "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "cpu_threads": torch.get_num_threads(),
        "available": available_devices(),
        "auto": resolve_device("auto"),
    }
    print(json.dumps(report), flush=True)
    tokens = read_json(ZOO_CARD)["tokens"]
    steps = -(-tokens // (256 * 128))  # the shipped run's tokens at batch 256
    report["shakespeare_cuda"] = shakespeare(text, "cuda", steps, 256)
    print(json.dumps(report["shakespeare_cuda"]), flush=True)
    report["shakespeare_cpu"] = shakespeare(text, "cpu", 6, 256)
    print(json.dumps(report["shakespeare_cpu"]), flush=True)
    report["reverse_cuda"] = reverse("cuda")
    print(json.dumps(report["reverse_cuda"]), flush=True)
    report["reverse_cpu"] = reverse("cpu")
    print(json.dumps(report["reverse_cpu"]), flush=True)
    out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
