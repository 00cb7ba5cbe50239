"""What ``playground bench`` prints and writes: the tables, the targets, the machine, the JSON."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.config import GPTConfig
from models.weights import atomic_write_json


@dataclass
class Row:
    """One (model, implementation) line of the table; ``tokens`` are the greedy ids it generated."""

    impl: str
    model: str
    tokens_per_s: float
    ms_per_token: float
    ttft_ms: float
    peak_rss_mib: float
    parameters: int
    runs: int
    new_tokens: int
    tokens: list[int] = field(repr=False)
    floor_ms: float | None = None  # the matmul floor of one decode step (None: no floor for this row)
    device: str = "cpu"

    @property
    def floor_ratio(self) -> float | None:
        """ms/token over the matmul floor: 1× would be matrix products and nothing else."""
        return None if self.floor_ms is None else self.ms_per_token / self.floor_ms

    def to_json(self) -> dict[str, Any]:
        """The JSON row: every field but the generated ids."""
        return {
            "impl": self.impl,
            "model": self.model,
            "tokens_per_s": self.tokens_per_s,
            "ms_per_token": self.ms_per_token,
            "ttft_ms": self.ttft_ms,
            "peak_rss_mib": self.peak_rss_mib,
            "parameters": self.parameters,
            "runs": self.runs,
            "new_tokens": self.new_tokens,
            "floor_ms": self.floor_ms,
            "floor_ratio": self.floor_ratio,
            "device": self.device,
        }


@dataclass
class CacheTiming:
    """The NumPy twin at a ``context``-token context: one cached step vs the full forward."""

    model: str
    context: int
    cached_step_ms: float
    full_forward_ms: float
    repeats: int

    @property
    def ratio(self) -> float:
        return self.full_forward_ms / self.cached_step_ms

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "ratio": self.ratio}


@dataclass
class Target:
    """One ratio from this run and the bound the project aims for: a minimum, or with ``at_most``
    a maximum."""

    model: str
    key: str
    label: str
    ratio: float | None  # None when a row it needs was skipped
    minimum: float
    at_most: bool = False

    @property
    def met(self) -> bool | None:
        if self.ratio is None:
            return None
        return self.ratio <= self.minimum if self.at_most else self.ratio >= self.minimum

    @property
    def bound(self) -> str:
        return f"{'≤' if self.at_most else '≥'} {self.minimum:g}×"


def describe(config: GPTConfig) -> str:
    return (
        f"{config.n_layer} layers, {config.n_head} heads, {config.n_embd} wide, "
        f"vocab {config.vocab_size}, context {config.block_size}"
    )


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """Columns padded to their widest cell; the first ``left`` columns left-aligned, the rest right."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(header), *(line(r) for r in rows)])


def agreement(rows: Sequence[Row]) -> str:
    """Do all implementations generate the same greedy tokens as the first row?"""
    ref = rows[0]
    notes = []
    for row in rows[1:]:
        if row.tokens != ref.tokens:
            first = next(i for i, (a, b) in enumerate(zip(row.tokens, ref.tokens, strict=True)) if a != b)
            notes.append(f"{row.impl} departs from {ref.impl} at new token {first}")
    return "; ".join(notes) if notes else f"the same {len(ref.tokens)} tokens from every row"


def model_report(
    name: str,
    config: GPTConfig,
    prompt_tokens: int,
    rows: Sequence[Row],
    cache: CacheTiming,
    hf_note: str | None,
) -> str:
    header = (
        "impl",
        "device",
        "tokens/s",
        "ms/token",
        "floor ms",
        "× floor",
        "TTFT ms",
        "peak RSS MiB",
        "parameters",
        "runs",
    )
    table = format_table(
        header,
        [
            (
                r.impl,
                r.device,
                f"{r.tokens_per_s:.1f}",
                f"{r.ms_per_token:.2f}",
                "—" if r.floor_ms is None else f"{r.floor_ms:.2f}",
                "—" if r.floor_ratio is None else f"{r.floor_ratio:.2f}×",
                f"{r.ttft_ms:.2f}",
                f"{r.peak_rss_mib:.0f}",
                f"{r.parameters:,}",
                str(r.runs),
            )
            for r in rows
        ],
    )
    lines = [
        f"{name}: {describe(config)}",
        f"prompt {prompt_tokens} tokens, {rows[0].new_tokens} new tokens, greedy; median of the runs; "
        f"floor: the step's matrix products alone at {prompt_tokens + rows[0].new_tokens // 2} keys",
        table,
    ]
    if hf_note:
        lines.append(f"hf-generate: {hf_note}")
    lines += [
        f"greedy tokens: {agreement(rows)}",
        f"NumPy twin at {cache.context} tokens: cached step {cache.cached_step_ms:.2f} ms, "
        f"full forward {cache.full_forward_ms:.2f} ms ({cache.ratio:.1f}×, median of {cache.repeats})",
    ]
    return "\n".join(lines) + "\n\n"


def targets_report(targets: Sequence[Target]) -> str:
    def result(t: Target) -> str:
        return "SKIP" if t.met is None else "PASS" if t.met else "FAIL"

    table = format_table(
        ("model", "ratio", "value", "target", "result"),
        [
            (
                t.model,
                t.label,
                "n/a" if t.ratio is None else f"{t.ratio:.2f}×",
                t.bound,
                result(t),
            )
            for t in targets
        ],
        left=2,
    )
    return f"targets (ratios from this run)\n{table}\n"


def machine_info(threads: int, device: str = "cpu") -> dict[str, Any]:
    def version(package: str) -> str | None:
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return None

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "threads": threads,
        "device": device,
        "load_average_at_start": os.getloadavg()[0],
        "versions": {p: version(p) for p in ("torch", "numpy", "transformers")},
    }


def write_json(
    path: Path,
    rows: Sequence[Row],
    caches: Sequence[CacheTiming],
    targets: Sequence[Target],
    machine: dict[str, Any],
) -> None:
    """{"rows": [...], "cache": [...], "ratios": {model: {key: {ratio, target, met}}}, "machine": {...}}."""
    ratios: dict[str, dict[str, Any]] = {}
    for t in targets:
        ratios.setdefault(t.model, {})[t.key] = {
            "ratio": t.ratio,
            "target": t.minimum,
            "at_most": t.at_most,
            "met": t.met,
        }
    report = {
        "rows": [r.to_json() for r in rows],
        "cache": [c.to_json() for c in caches],
        "ratios": ratios,
        "machine": machine,
    }
    atomic_write_json(path, report)
