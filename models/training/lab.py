"""The training lab: a small run trained live, step by step, reporting as it goes.

A ``LabRun`` drives the ``Trainer`` that ``playground train`` uses (``models/training/trainer.py``) and
calls ``emit(event, data)`` as it goes:

- ``start``: the task, architecture, configuration, settings, parameter count and the probe input;
- ``step``: ``step``, ``loss``, ``lr``, ``grad_norm``, ``tokens_per_s`` (every step);
- ``eval``: held-out ``val_loss``, ``train_loss`` and, for tasks with one right answer, ``accuracy``
  (held-out exact match; ``induction`` adds its ``induction_score``);
- ``snapshot``: ``attention`` on the fixed probe input as layer × head × T × T (rounded), the tokens
  on both axes and the model's greedy ``sample`` answer to the probe's prompt;
- ``done``: ``reason`` (finished, stopped, time, idle, error), the final ``metrics``.

The caller (the server) owns threads, viewers and limits; ``Control`` is how it pauses, steps, resumes
or stops a run from another thread. Same settings and seed, same machine: the same curve, step for step.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models import numbers as nb
from models.architectures import ModelConfig, architecture_for
from models.config import EncDecConfig, GPTConfig, LSTMConfig
from models.tokenizer import CharTokenizer
from models.training.card import model_card
from models.training.data import TRAIN_FRACTION, TokenData, default_text_path
from models.training.sequences import KINDS, SequenceTask, induction_score
from models.training.settings import Progress, TrainSettings
from models.training.tasks import LMTask, Task, numbers_task
from models.training.trainer import Trainer

LAB_TASKS = ("copy", "reverse", "sort", "induction", "numbers", "shakespeare")
LAB_ARCHS = {
    **{name: ("gpt", "lstm") for name in KINDS},
    "numbers": ("encoder-decoder", "gpt"),
    "shakespeare": ("gpt", "lstm"),
}
TEXT_BLOCK = 64  # shakespeare's context in the lab
PROBE_NUMBER = 4012  # the numbers task's probe: "4012=four thousand twelve"
ROUND = 3  # decimals of the attention weights a snapshot carries
Emit = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class LabSettings:
    """What a student picks. ``None`` fields take the task's default (``TASK_DEFAULTS``)."""

    task: str = "reverse"
    arch: str | None = None
    n_layer: int = 2
    n_head: int = 2
    n_embd: int = 64
    pos: str = "learned"
    norm: str = "pre"
    lr: float = 3e-3
    warmup: int = 20
    steps: int | None = None
    batch_size: int = 64
    seed: int = 1337
    device: str = "cpu"


# steps and evaluation cadence that teach in about a minute on two CPU cores (see the README)
TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    "copy": {"steps": 300},
    "reverse": {"steps": 400},
    "sort": {"steps": 1000},
    "induction": {"steps": 500},
    "numbers": {"steps": 1500, "arch": "encoder-decoder"},
    "shakespeare": {"steps": 300},
}


def resolved(s: LabSettings) -> LabSettings:
    """``s`` with the task's defaults in place of its unset fields."""
    defaults = TASK_DEFAULTS[s.task]
    return dataclasses.replace(
        s, arch=s.arch or defaults.get("arch", "gpt"), steps=s.steps or defaults["steps"]
    )


class TextData(TokenData):
    """A character text split 90/10 in memory: what ``playground prepare`` writes, never written."""

    def __init__(self, path: Path):
        text = path.read_text(encoding="utf-8")
        tokenizer = CharTokenizer.train(text)
        cut = int(len(text) * TRAIN_FRACTION)
        ids = np.asarray(tokenizer.encode(text), dtype=np.uint16)
        splits = {"train": {"chars": cut, "tokens": cut}, "val": {"chars": len(text) - cut}}
        splits["val"]["tokens"] = splits["val"]["chars"]
        meta = {
            "text": str(path),
            "text_name": path.name,
            "sha256": hashlib.sha256(text.encode()).hexdigest(),
            "tokenizer": "char",
            "vocab_size": tokenizer.vocab_size,
            "splits": splits,
        }
        super().__init__(path.parent, ids[:cut], ids[cut:], meta)
        object.__setattr__(self, "_tokenizer", tokenizer.to_json())

    def tokenizer_json(self) -> dict[str, Any]:
        return self._tokenizer


def make_task(name: str, arch: str, text: Path | None = None) -> Task:
    """The lab's task ``name`` for ``arch`` (a ValueError names what does not fit)."""
    if name not in LAB_TASKS:
        raise ValueError(f"task must be one of {', '.join(LAB_TASKS)}, got {name!r}")
    if arch not in LAB_ARCHS[name]:
        raise ValueError(f"task {name} trains {' or '.join(LAB_ARCHS[name])}, not {arch}")
    if name in KINDS:
        return SequenceTask(name)
    if name == "numbers":
        return numbers_task(arch)
    path = Path(text) if text is not None else default_text_path()
    if not path.is_file():
        raise ValueError(f"task shakespeare needs its text, and {path} is not there (set PLAYGROUND_TEXT)")
    return LMTask(TextData(path))


def make_config(s: LabSettings, task: Task) -> ModelConfig:
    """The model a student's settings describe, sized to the task's vocabulary and context."""
    if s.arch == "lstm":
        changes: dict[str, Any] = {"n_layer": s.n_layer, "n_embd": s.n_embd, "n_hidden": s.n_embd}
    else:
        changes = {"n_head": s.n_head, "n_embd": s.n_embd, "pos": s.pos}
        if s.arch == "encoder-decoder":
            changes |= {"n_enc_layer": s.n_layer, "n_dec_layer": s.n_layer}
        else:
            changes |= {"n_layer": s.n_layer, "norm": s.norm}
    if s.task == "shakespeare":
        changes["block_size"] = TEXT_BLOCK
    config = task.config(s.arch, "tiny", changes)
    if isinstance(config, GPTConfig | LSTMConfig | EncDecConfig):
        return config
    raise ValueError(f"{s.arch} cannot train {s.task}")


def train_settings(s: LabSettings) -> TrainSettings:
    steps = int(s.steps or 1)
    return TrainSettings(
        batch_size=s.batch_size,
        lr=s.lr,
        min_lr=s.lr / 10,
        warmup=min(s.warmup, steps),
        max_steps=steps,
        weight_decay=0.01,
        eval_interval=eval_every(steps),
        eval_iters=4,
        seed=s.seed,
    )


def eval_every(steps: int) -> int:
    """Steps between evaluations and snapshots: about 40 of them in a run, at least every 5 steps."""
    return max(5, steps // 40)


class Control:
    """How another thread pauses, steps, resumes or stops a run; the run waits here while paused."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.paused = False
        self.stop_reason: str | None = None
        self._single_steps = 0

    def pause(self) -> None:
        with self._cond:
            self.paused = True

    def resume(self) -> None:
        with self._cond:
            self.paused = False
            self._cond.notify_all()

    def step(self) -> None:
        """One more step, then paused again."""
        with self._cond:
            self.paused = True
            self._single_steps += 1
            self._cond.notify_all()

    def stop(self, reason: str = "stopped") -> None:
        with self._cond:
            self.stop_reason = self.stop_reason or reason
            self._cond.notify_all()

    def wait_turn(self) -> bool:
        """Block while paused; True when the run may take its next step, False when it must stop."""
        with self._cond:
            while self.paused and not self._single_steps and self.stop_reason is None:
                self._cond.wait(timeout=1.0)
            if self.stop_reason is not None:
                return False
            if self.paused:
                self._single_steps -= 1
            return True


@dataclass(frozen=True)
class Probe:
    """The fixed input the lab draws on: its tokens (attention), and the prompt the sample continues."""

    text: str
    prompt: str
    new_tokens: int


def probe_for(task: Task) -> Probe:
    if isinstance(task, SequenceTask):
        q = task.probe
        line = task.line(q)
        return Probe(line[:-1], task.prompt(q), len(line) - len(task.prompt(q)))
    if task.name == "numbers":
        n = PROBE_NUMBER
        line = nb.gpt_line(n)
        return Probe(line[:-1], nb.gpt_prompt(n), len(line) - len(nb.gpt_prompt(n)))
    tok = CharTokenizer(task.data.tokenizer_json()["chars"])  # the validation split: never trained on
    val = tok.decode(task.val_tokens[:2000].tolist())
    start = val[val.find("\n\n") + 2 :][:48]  # from the start of a speech
    return Probe(start, start[:16], 32)


@dataclass
class TrainedModel:
    """What a finished run leaves: enough to serve it (both twins are built from ``params``)."""

    config: ModelConfig
    params: dict[str, np.ndarray]
    tokenizer_json: dict[str, Any]
    card: dict[str, Any]
    metrics: list[dict[str, Any]]


class LabRun:
    """One live run: ``run()`` trains until its steps are done, its time is up or ``control`` stops it."""

    def __init__(
        self,
        settings: LabSettings,
        emit: Emit,
        control: Control | None = None,
        *,
        name: str = "lab",
        text: Path | None = None,
        max_seconds: float = 600.0,
    ):
        self.settings = s = resolved(settings)
        self.emit, self.control, self.name = emit, control or Control(), name
        self.max_seconds = max_seconds
        self.task = make_task(s.task, s.arch or "gpt", text)
        self.config = make_config(s, self.task)
        self.train_settings = train_settings(s)
        self.probe = probe_for(self.task)
        # the characters a decoder-only run reads and writes (an encoder-decoder's are the numbers module's)
        chars = None if isinstance(self.config, EncDecConfig) else self.task.tokenizer_json()["chars"]
        self.tokenizer = CharTokenizer(chars) if chars else None
        self.metrics: list[dict[str, Any]] = []
        self.trainer: Trainer | None = None

    def run(self) -> TrainedModel:
        s, ts = self.settings, self.train_settings
        trainer = self.trainer = Trainer(self.config, ts, self.task, device=s.device)
        arch = architecture_for(self.config)
        self.emit(
            "start",
            {
                "name": self.name,
                "settings": dataclasses.asdict(s),
                "config": self.config.to_dict(),
                "architecture": arch.name,
                "parameters": trainer.model.num_parameters(),
                "device": trainer.device,
                "steps": ts.max_steps,
                "eval_every": ts.eval_interval,
                "probe": {"text": self.probe.text, "prompt": self.probe.prompt},
            },
        )
        start = time.perf_counter()
        reason = "finished"
        last: dict[str, Any] = self.evaluate_and_snapshot()
        while trainer.progress.step < ts.max_steps:
            if not self.control.wait_turn():
                reason = self.control.stop_reason or "stopped"
                break
            if time.perf_counter() - start > self.max_seconds:
                reason = "time"
                break
            st = trainer.step()
            self.emit(
                "step",
                {
                    "step": st.step,
                    "loss": st.loss,
                    "lr": st.lr,
                    "grad_norm": st.grad_norm,
                    "tokens_per_s": st.tokens / st.seconds if st.seconds > 0 else None,
                },
            )
            if st.step % ts.eval_interval == 0 or st.step == ts.max_steps:
                last = self.evaluate_and_snapshot()
        if self.metrics and self.metrics[-1]["step"] != trainer.progress.step:
            last = self.evaluate_and_snapshot()
        trainer.progress.elapsed_s = time.perf_counter() - start
        model = self.trained(last)
        self.emit(
            "done", {"reason": reason, "model": self.name, "metrics": last, "step": trainer.progress.step}
        )
        return model

    def evaluate_and_snapshot(self) -> dict[str, Any]:
        trainer = self.trainer
        assert trainer is not None
        measured = trainer.evaluate(("val",))  # the training loss is drawn from the steps
        record: dict[str, Any] = {"step": trainer.progress.step, **measured}
        if "val_accuracy" in measured:
            record["accuracy"] = measured["val_accuracy"]
        attention, queries, keys, sample = self.look()
        if attention is not None and self.task.name == "induction":
            score, layer, head = induction_score(np.asarray(attention), KINDS["induction"].length)
            record["induction_score"] = {"score": score, "layer": layer, "head": head}
        self.metrics.append(record)
        self.emit("eval", record)
        self.emit(
            "snapshot",
            {
                "step": trainer.progress.step,
                "attention": attention,
                "queries": queries,
                "keys": keys,
                "sample": sample,
            },
        )
        return record

    def look(self) -> tuple[list | None, list[str], list[str], str]:
        """The probe's attention (L × nh × T × Tk, rounded) and the model's greedy answer to its prompt."""
        import torch

        from models.evaluate import translate

        trainer = self.trainer
        assert trainer is not None
        model = trainer.model
        model.eval()
        try:
            with torch.inference_mode():
                if isinstance(self.config, EncDecConfig):
                    return self._look_encdec(model)
                if self.task.name == "numbers":
                    number = nb.parse_number(self.probe.prompt[:-1])
                    sample = translate(trainer.cpu_model(), [number])[0][0]
                else:
                    sample = self._greedy(model)
                tok = self.tokenizer
                ids = torch.tensor([tok.encode(self.probe.text)], device=trainer.device)
                tokens = [tok.decode([i]) for i in ids[0].tolist()]
                if not architecture_for(self.config).attention:
                    return None, tokens, tokens, sample
                _, tr = model(ids, trace="attention")
                att = tr.att_probs[:, 0].float().cpu().numpy()  # (L, nh, T, T)
                return np.round(att, ROUND).tolist(), tokens, tokens, sample
        finally:
            model.train()

    def _greedy(self, model: Any) -> str:
        import torch

        tok = self.tokenizer
        ids = tok.encode(self.probe.prompt)
        for _ in range(self.probe.new_tokens):
            x = torch.tensor([ids[-self.config.block_size :]], device=self.trainer.device)
            ids.append(int(model(x)[0, -1].argmax()))
        return tok.decode(ids[len(self.probe.prompt) :])

    def _look_encdec(self, model: Any) -> tuple[list, list[str], list[str], str]:
        import torch

        from models.evaluate import translate

        n = int(self.probe.prompt[:-1])
        b = nb.encdec_batch(np.array([n]))
        dev = self.trainer.device
        args = [torch.as_tensor(a, device=dev) for a in (b.src, b.tgt_in, b.src_mask)]
        _, tr = model(args[0], args[1], args[2], trace=True)
        att = tr.decoder.cross_probs[:, 0].float().cpu().numpy()  # (L, nh, T, S)
        tgt = nb.target_tokenizer()
        queries = [tgt.decode([int(i)]) for i in b.tgt_in[0]]
        keys = list(str(n))
        sample = translate(self.trainer.cpu_model(), [n])[0][0]
        return np.round(att, ROUND).tolist(), queries, keys, sample

    def trained(self, last: dict[str, Any]) -> TrainedModel:
        trainer = self.trainer
        assert trainer is not None
        s = trainer.settings
        progress: Progress = trainer.progress
        losses = {k: v for k, v in last.items() if isinstance(v, float)}
        card = model_card(
            self.name, self.task, self.config, s, "tiny", trainer.model.num_parameters(), progress, losses
        )
        card["hardware"]["device"] = trainer.device
        card["lab"] = dataclasses.asdict(self.settings)
        # what the playground opens it with: the probe's prompt (an encoder-decoder reads the digits alone)
        encdec = isinstance(self.config, EncDecConfig)
        card["example"] = self.probe.prompt[:-1] if encdec else self.probe.prompt
        card["source"] = "trained in the training lab"
        return TrainedModel(
            self.config, trainer.model.state_arrays(), self.task.tokenizer_json(), card, self.metrics
        )
