"""Loading a weight file's arrays into a PyTorch twin: one function every torch twin calls."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn


def copy_params(module: nn.Module, params: Mapping[str, np.ndarray]) -> None:
    """Copy arrays named as in the safetensors file into ``module``'s parameters (a shared one once);
    a missing name or a wrong shape is a ValueError that names it."""
    own = dict(module.named_parameters())  # a tied or shared matrix appears once
    missing = sorted(set(own) - set(params))
    if missing:
        raise ValueError(f"weights are missing: {', '.join(missing)}")
    with torch.no_grad():
        for name, p in own.items():
            value = np.asarray(params[name])
            if tuple(value.shape) != tuple(p.shape):
                raise ValueError(f"{name}: expected shape {tuple(p.shape)}, got {tuple(value.shape)}")
            p.copy_(torch.as_tensor(value))
