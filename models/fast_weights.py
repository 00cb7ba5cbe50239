"""A GPT's parameters as the twins' fast paths read them: fetched from the modules once, not at every step.

Both twins' ``fast_layers`` read every block's weights at every decode step; through the modules
that is a dozen attribute lookups per block (each a method call on a torch module). ``fast_weights``
collects them once into ``FastLayer`` tuples kept on the model. They hold the parameters
themselves (torch tensors or NumPy arrays, whichever twin), never copies, so training and loading,
which write into the parameters, are seen at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

Norm = tuple[Any, Any, float]  # weight, bias (or None), eps
Linear = tuple[Any, Any]  # weight (in, out), bias (or None)


class FastLayer(NamedTuple):
    """One block's parameters."""

    pre_norm: bool
    ln_1: Norm
    c_attn: Linear  # (C, 3C)
    attn_proj: Linear  # (C, C)
    ln_2: Norm
    c_fc: Linear  # (C, 4C)
    mlp_proj: Linear  # (4C, C)
    gelu: bool  # else ReLU
    n_head: int


def fast_weights(model: Any, gelu: Callable[..., Any]) -> tuple[list[FastLayer], Norm | None]:
    """(every block's ``FastLayer``, ln_f or None) of a twin's GPT whose GELU is ``gelu``, made on
    first use and kept on the model."""
    kept = model.__dict__.get("_fast_weights")
    if kept is None:

        def norm(n: Any) -> Norm:
            return n.weight, n.bias, n.eps

        def linear(c: Any) -> Linear:
            return c.weight, c.bias

        layers = [
            FastLayer(
                b.norm == "pre",
                norm(b.ln_1),
                linear(b.attn.c_attn),
                linear(b.attn.c_proj),
                norm(b.ln_2),
                linear(b.mlp.c_fc),
                linear(b.mlp.c_proj),
                b.mlp.act is gelu,
                b.attn.n_head,
            )
            for b in model.transformer["h"]
        ]
        ln_f = norm(model.transformer["ln_f"]) if "ln_f" in model.transformer else None
        kept = model.__dict__["_fast_weights"] = (layers, ln_f)
    return kept
