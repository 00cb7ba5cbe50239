"""One training run, one optimiser step at a time: the loop ``playground train`` and the training lab share.

A ``Trainer`` holds the PyTorch twin, its AdamW optimiser, the task and the run's seeded NumPy
Generator. ``step()`` takes one optimiser step and says what happened (loss, learning rate, gradient
norm, tokens); ``evaluate()`` measures the fixed train and validation batches. What happens around
the steps — checkpoints and exports for the command (``models/training/loop.py``), events, pauses and
snapshots for the lab (``models/training/lab.py``) — is the caller's.

The same seed gives the same batches, the same initial weights and so the same curve, step for step,
on the same machine. On CUDA the forward and backward run under bf16 autocast (the parameters and
AdamW's moments stay float32). torch is imported inside the methods.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from models.architectures import ModelConfig, architecture_for
from models.devices import resolve_device
from models.training.settings import Progress, TrainSettings, lr_at
from models.training.tasks import Batch, Task, check_arch

if TYPE_CHECKING:
    import torch

EMBEDDINGS = ("wte.weight", "wpe.weight")  # parameter names ending so are never weight-decayed


def build_model(config: ModelConfig, params: dict[str, np.ndarray] | None, seed: int = 0) -> Any:
    """The PyTorch twin for ``config`` (float32), from ``params`` or the seeded initialisation."""
    return architecture_for(config).build(config, params, "torch", seed).float()


def make_optimizer(model: Any, s: TrainSettings, device: str = "cpu") -> torch.optim.AdamW:
    """AdamW whose weight decay reaches 2-D weight matrices only: not biases, LayerNorm gains, embeddings."""
    import torch

    decay, no_decay = [], []
    for name, p in model.named_parameters():  # a tied lm_head is wte, an embedding
        (decay if p.dim() == 2 and not name.endswith(EMBEDDINGS) else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": s.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    fused = device in ("cpu", "cuda")
    return torch.optim.AdamW(groups, lr=s.lr, betas=(s.beta1, s.beta2), fused=fused)


@dataclass(frozen=True)
class StepStats:
    """What one optimiser step did."""

    step: int  # steps taken so far, this one included
    loss: float  # mean training loss of its micro-batches, nats per token
    lr: float  # the learning rate it used
    grad_norm: float  # global gradient norm before clipping
    tokens: int  # tokens it trained on
    seconds: float  # wall time it took


def on_device(batch: Batch, device: str) -> Batch:
    """The batch's tensors on ``device`` (a batch already there is returned as it is)."""
    if all(a.device.type == device for a in batch.args):
        return batch
    return Batch(tuple(a.to(device, non_blocking=True) for a in batch.args), batch.tokens)


class Trainer:
    """The model, optimiser, task and Generator of one run; ``step()`` and ``evaluate()`` move it on."""

    def __init__(
        self,
        config: ModelConfig,
        settings: TrainSettings,
        task: Task,
        *,
        device: str = "cpu",
        params: dict[str, np.ndarray] | None = None,
        progress: Progress | None = None,
    ):
        import torch

        self.config, self.settings, self.task = config, settings, task
        self.device = resolve_device(device)
        check_arch(task.name, architecture_for(config).name)
        task.setup(config)
        s = settings
        self.eval_batches = {
            split: [on_device(b, self.device) for b in task.eval_batches(split, s.batch_size, s.eval_iters)]
            for split in ("train", "val")
        }
        self.rng = np.random.default_rng(s.seed)
        self.model = build_model(config, params, s.seed).to(self.device)
        self.optimizer = make_optimizer(self.model, s, self.device)
        if params is None:
            torch.manual_seed(s.seed)  # dropout masks from here on
        self.progress = progress or Progress()
        self.model.train()

    def autocast(self) -> Any:
        """bf16 autocast on CUDA; a no-op elsewhere."""
        import torch

        return torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.device == "cuda")

    @property
    def lr(self) -> float:
        """The learning rate of the next step."""
        return lr_at(self.progress.step, self.settings)

    def step(self) -> StepStats:
        """One optimiser step over ``grad_accum`` micro-batches: accumulate, clip, set the learning
        rate (warm-up, then cosine), AdamW."""
        import torch

        s, start, lr = self.settings, time.perf_counter(), self.lr
        total, tokens = 0.0, 0
        for _ in range(s.grad_accum):
            batch = on_device(self.task.train_batch(self.rng, s.batch_size), self.device)
            with self.autocast():
                loss = self.model.loss(*batch.args)
            (loss / s.grad_accum).backward()
            total += loss.item()
            tokens += batch.tokens
        clip = s.grad_clip if s.grad_clip > 0 else float("inf")  # the norm is measured either way
        grad_norm = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(), clip))
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.progress.step += 1
        self.progress.tokens += tokens
        return StepStats(
            self.progress.step, total / s.grad_accum, lr, grad_norm, tokens, time.perf_counter() - start
        )

    def loss_on(self, batches: list[Batch]) -> float:
        """Mean loss (nats per token) over fixed batches, dropout off; leaves the model in train mode."""
        import torch

        self.model.eval()
        with torch.inference_mode(), self.autocast():
            losses = [self.model.loss(*b.args).item() for b in batches]
        self.model.train()
        return float(np.mean(losses))

    def evaluate(self, splits: tuple[str, ...] = ("train", "val")) -> dict[str, float]:
        """``train_loss``, ``val_loss`` and the task's measures (accuracy, perplexity…) on the fixed
        batches of ``splits``. The measures run on the model as it is on the CPU, on a CPU copy elsewhere."""
        import torch

        measured = self.cpu_model()
        out: dict[str, float] = {}
        for split in splits:
            loss = self.loss_on(self.eval_batches[split])
            out[f"{split}_loss"] = loss
            cpu_batches = [on_device(b, "cpu") for b in self.eval_batches[split]]
            measured.eval()
            with torch.inference_mode():
                out.update(self.task.measures(measured, split, cpu_batches, loss))
            self.model.train()
        return out

    def cpu_model(self) -> Any:
        """The model itself on the CPU; elsewhere a CPU copy of its weights, for code that builds CPU
        tensors (the task's measures, ``translate``)."""
        if self.device == "cpu":
            return self.model
        return build_model(self.config, self.model.state_arrays()).eval()
