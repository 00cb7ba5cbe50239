"""Where the PyTorch twin runs: ``--device auto|cpu|cuda|mps``.

``auto`` takes CUDA, then Apple's MPS, then the CPU. Asking for a device this machine does not have
is a ``ValueError`` that says what it has, never a traceback from deep inside torch. The NumPy twin
always runs on the CPU. torch is imported inside the functions, so importing this module is cheap.
"""

from __future__ import annotations

from typing import Literal

Device = Literal["auto", "cpu", "cuda", "mps"]
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")


def available_devices() -> list[str]:
    """The devices torch can use here, CPU last: e.g. ``["cuda", "cpu"]``."""
    import torch

    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return [*found, "cpu"]


def resolve_device(name: str | None) -> str:
    """``auto`` (or None) → the best device here; ``cpu``/``cuda``/``mps`` → itself when present."""
    name = (name or "auto").lower()
    if name not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {name!r}")
    found = available_devices()
    if name == "auto":
        return found[0]
    if name not in found:
        raise ValueError(f"device {name!r} is not available on this machine (it has: {', '.join(found)})")
    return name


def check_device(name: str | None) -> str:
    """Check a device asked for before anything loads: ``auto`` and ``cpu`` always exist and are taken
    as they are, without importing torch (a NumPy-only server never does); ``cuda`` and ``mps`` are
    looked for now, so a missing one is a ``ValueError`` at start rather than at the first request."""
    name = (name or "auto").lower()
    if name in ("auto", "cpu"):
        return name
    return resolve_device(name)
