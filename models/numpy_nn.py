"""The few pieces of ``torch.nn`` that the NumPy twins need, written in NumPy.

A PyTorch module is built from ``config`` and its parameters are filled in afterwards; a NumPy
module is built from ``(config, params)`` and reads its arrays as it goes. ``Params`` is that
``params``: the weight file's arrays as one module sees them (``params.scope("ln_1")`` is what its
``ln_1`` child reads), converted once to the model's dtype. ``Module`` gives a NumPy module what
``nn.Module`` gives a PyTorch one as far as the twins need it: the tree of modules and parameters
under the same dotted names as the file (``transformer.h.0.attn.c_attn.weight``). ``Embedding``,
``Linear`` and ``LSTMWeights`` stand in for ``nn.Embedding``, ``nn.Linear`` and ``nn.LSTM``'s
parameters.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

DTYPES = (np.float32, np.float64)


class Params:
    """The arrays of a weight file (name → array) seen from one module: names relative to
    ``prefix``, values contiguous arrays of one dtype (float32 or float64, checked here)."""

    def __init__(self, arrays: Mapping[str, np.ndarray], dtype: str | np.dtype = "float32", prefix: str = ""):
        self.dtype = np.dtype(dtype)
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
        self.arrays, self.prefix = arrays, prefix
        self.converted: dict[str, np.ndarray] = {}  # shared by every scope: a tied name is one array

    def scope(self, name: str) -> Params:
        """A child module's view: ``params.scope("attn")["c_attn.weight"]`` reads ``….attn.c_attn.weight``."""
        view = copy.copy(self)  # the same arrays, dtype and conversions
        view.prefix = f"{self.prefix}{name}."
        return view

    def __getitem__(self, name: str) -> np.ndarray:
        """``prefix + name`` as a contiguous array of the dtype; a missing name is a KeyError naming it."""
        full = self.prefix + name
        if full not in self.converted:
            self.converted[full] = np.ascontiguousarray(self.arrays[full], dtype=self.dtype)
        return self.converted[full]

    def array(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """``self[name]``, checked to have ``shape``: a wrong one is a ValueError that names it (as the
        PyTorch twin's ``load_params`` says it)."""
        value = self[name]
        if value.shape != tuple(shape):
            raise ValueError(f"{self.prefix + name}: expected shape {tuple(shape)}, got {value.shape}")
        return value


def _children(obj: Any) -> Iterator[tuple[str, Any]]:
    """The modules, module containers (list, dict) and float arrays one level below ``obj``."""
    if isinstance(obj, dict):
        items = obj.items()
    elif isinstance(obj, list):
        items = enumerate(obj)
    else:
        items = vars(obj).items()
    for name, value in items:
        if isinstance(value, Module | list | dict):
            yield str(name), value
        elif isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating):
            yield str(name), value  # a parameter; a boolean mask is what PyTorch calls a buffer


class Module:
    """The base of every NumPy twin's module: ``named_modules`` and ``named_parameters`` walk its
    attributes (modules, lists and dicts of them, float arrays) as ``nn.Module``'s do, each object
    once under its first name, so the two twins' trees can be compared name by name."""

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Any]]:
        seen: set[int] = set()

        def walk(obj: Any, path: str) -> Iterator[tuple[str, Any]]:
            if id(obj) in seen:
                return
            seen.add(id(obj))
            yield path, obj
            for name, child in _children(obj):
                if not isinstance(child, np.ndarray):
                    yield from walk(child, f"{path}.{name}" if path else name)

        yield from walk(self, prefix)

    def named_parameters(self) -> Iterator[tuple[str, np.ndarray]]:
        seen: set[int] = set()
        for path, module in self.named_modules():
            for name, value in _children(module):
                if isinstance(value, np.ndarray) and id(value) not in seen:
                    seen.add(id(value))
                    yield (f"{path}.{name}" if path else name), value


class Embedding(Module):
    """``nn.Embedding``: a table (num, dim) whose rows are looked up by id."""

    def __init__(self, num: int, dim: int, params: Params):
        self.weight = params.array("weight", (num, dim))

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        return self.weight[ids]  # (..., dim): an embedding is a row lookup


class Linear(Module):
    """``nn.Linear``: y = x @ weightᵀ + bias, the weight stored (out, in)."""

    def __init__(self, n_in: int, n_out: int, params: Params, bias: bool = True):
        self.weight = params.array("weight", (n_out, n_in))
        self.bias = params.array("bias", (n_out,)) if bias else None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y = x @ self.weight.T
        return y if self.bias is None else y + self.bias


class LSTMWeights(Module):
    """``nn.LSTM``'s parameters, named as it names them (gate order i, f, g, o): per layer k,
    ``weight_ih_l{k}`` (4H, in), ``weight_hh_l{k}`` (4H, H), ``bias_ih_l{k}`` and ``bias_hh_l{k}`` (4H,)."""

    def __init__(self, n_in: int, n_hidden: int, params: Params, num_layers: int = 1):
        H = n_hidden
        for k in range(num_layers):
            width = n_in if k == 0 else H
            setattr(self, f"weight_ih_l{k}", params.array(f"weight_ih_l{k}", (4 * H, width)))
            setattr(self, f"weight_hh_l{k}", params.array(f"weight_hh_l{k}", (4 * H, H)))
            setattr(self, f"bias_ih_l{k}", params.array(f"bias_ih_l{k}", (4 * H,)))
            setattr(self, f"bias_hh_l{k}", params.array(f"bias_hh_l{k}", (4 * H,)))
