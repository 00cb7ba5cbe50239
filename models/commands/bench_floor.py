"""The matmul floor of a decode step: the time of its matrix products alone, nothing else.

One decode step of a GPT at batch B with Tk keys in its cache multiplies, in every layer, the new
token's residual by c_attn (C → 3C), its queries by the keys (q·k: (B, nh, 1, hs) @ (B, nh, hs, Tk)),
the attention weights by the values (w·v: (B, nh, 1, Tk) @ (B, nh, Tk, hs)), the heads by c_proj
(C → C), then by the MLP's c_fc (C → 4C) and c_proj (4C → C); after the last layer, by the lm head
(C → V). ``floor_seconds`` times exactly those products, with operands of the model's shapes (a
weight matrix of its own for every layer, as the model has), in the backend and on the device the
row runs in: no layer norm, no softmax, no Python between them. A row's ms/token over this floor
says how much of its time is overhead.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np

from models.config import GPTConfig

REPEATS = 30  # timed steps; the floor is their median
WARMUP = 3

Shape = tuple[int, ...]


def step_products(config: GPTConfig, batch: int, keys: int) -> list[tuple[Shape, Shape]]:
    """(left, right) operand shapes of every matrix product of one decode step, in order."""
    B, C, nh = batch, config.n_embd, config.n_head
    hs = C // nh
    layer = [
        ((B, C), (C, 3 * C)),  # c_attn
        ((B, nh, 1, hs), (B, nh, hs, keys)),  # q·k
        ((B, nh, 1, keys), (B, nh, keys, hs)),  # w·v
        ((B, C), (C, C)),  # attention c_proj
        ((B, C), (C, 4 * C)),  # mlp c_fc
        ((B, 4 * C), (4 * C, C)),  # mlp c_proj
    ]
    return layer * config.n_layer + [((B, C), (C, config.vocab_size))]  # lm head


def _median_seconds(step: Callable[[], object], sync: Callable[[], None]) -> float:
    for _ in range(WARMUP):
        step()
    sync()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def floor_seconds(config: GPTConfig, batch: int, keys: int, backend: str, device: str = "cpu") -> float:
    """Median seconds of one decode step's matrix products alone, float32, in ``backend``
    ("torch" on ``device``, or "numpy" on the CPU)."""
    rng = np.random.default_rng(0)
    pairs = [
        (rng.standard_normal(a, dtype=np.float32), rng.standard_normal(b, dtype=np.float32))
        for a, b in step_products(config, batch, keys)
    ]
    if backend == "numpy":
        return _median_seconds(lambda: [a @ b for a, b in pairs], lambda: None)
    if backend != "torch":
        raise ValueError(f"backend must be torch or numpy, got {backend!r}")
    import torch

    tensors = [(torch.from_numpy(a).to(device), torch.from_numpy(b).to(device)) for a, b in pairs]
    sync = torch.cuda.synchronize if device == "cuda" else lambda: None
    with torch.inference_mode():
        return _median_seconds(lambda: [torch.matmul(a, b) for a, b in tensors], sync)
