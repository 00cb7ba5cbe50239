"""The PyTorch twin's decode step on a cache of fixed shape, captured once as a CUDA graph and replayed.

On a GPU a small model's decode step is a few hundred kernel launches of a few microseconds each:
the CPU that launches them, not the GPU, sets the pace. CUDA can record the launches of one step
once (a graph) and replay them all with one call, but only if every tensor the step reads or
writes keeps its shape and its address from step to step. ``StaticDecoder`` makes the step so:

- each layer's cache is one buffer as long as the context, (1, nh, block_size, hs); the new
  token's key and value are written at the position held in a one-element tensor (``at``), which
  the step itself advances;
- attention runs over every position of the buffer with a mask of those up to the new token's
  (``static_attention``): a masked key's weight is exactly 0, so the result is the growing cache's;
- the token goes in, and the logits come out, through buffers of their own.

Everything else is the twin's fast path (``fast_block``, the fused layer norm and MLP, the same
weights). On the CPU the same step runs eagerly, and that is how ``tests/test_graph_step.py`` proves
it equal to the readable path where no GPU is present. ``generate`` decodes its one stream through
it on CUDA (``take_decoder``; ``DecodeBatch`` feeds it); the server's batch, whose rows and lengths
change every step, does not.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import torch
import torch.nn.functional as F

from models.fast_weights import FastLayer, fast_weights
from models.gpt_torch import GPT, Past, fast_block, fast_layer_norm, fast_linear, gelu

log = logging.getLogger(__name__)

WARMUP_STEPS = 3  # eager steps on a side stream before capture: kernels and cuBLAS workspaces chosen


def static_attention(
    layer: FastLayer,
    x: torch.Tensor,
    B: int,
    visible: torch.Tensor,
    cache: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    limit: int,
    keep_probs: bool = False,
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor, torch.Tensor], None]:
    """``fast_attention`` for one new token per row, x (B, C), on a cache of fixed shape: ``cache``
    is (keys, values, at), the buffers (B, nh, block_size, hs) and the new token's position (1,);
    its key and value are written there, and ``visible`` (1, 1, 1, block_size) marks the positions
    up to it. Called as ``fast_block`` calls ``fast_attention`` (``limit`` and ``keep_probs`` unused:
    the buffers are as long as the context, and no weights are kept)."""
    N, C = x.shape
    nh = layer.n_head
    q, k, v = fast_linear(layer.c_attn, x).view(B, 1, 3, nh, C // nh).permute(2, 0, 3, 1, 4)  # (B, nh, 1, hs)
    keys, values, at = cache
    keys.index_copy_(2, at, k)  # written where the position says, on the device: no host round trip
    values.index_copy_(2, at, v)
    y = F.scaled_dot_product_attention(q, keys, values, attn_mask=visible)  # (B, nh, 1, hs)
    return fast_linear(layer.attn_proj, y.transpose(1, 2).reshape(N, C)), cache, None


class StaticDecoder:
    """One stream's decode steps on buffers of fixed shape (``static_attention``): ``load`` a cache,
    then each call feeds one token and returns the next token's logits (1, V). With ``capture`` (on
    CUDA) the first call records the step as a CUDA graph and every call replays it."""

    def __init__(self, model: GPT, capture: bool, lock: threading.Lock | None = None):
        config, like = model.config, model.lm_head.weight  # buffers of the parameters' dtype and device
        nh, S = config.n_head, config.block_size
        shape = (1, nh, S, config.n_embd // nh)
        self.model = model
        self.keys = [like.new_zeros(shape) for _ in range(config.n_layer)]
        self.values = [like.new_zeros(shape) for _ in range(config.n_layer)]
        self.ids = torch.zeros((1, 1), dtype=torch.long, device=like.device)
        self.at = torch.zeros(1, dtype=torch.long, device=like.device)  # the new token's position
        self.positions = torch.arange(S, device=like.device)
        self.logits = like.new_zeros((1, config.vocab_size))
        self.capture = self.wanted = capture  # capture: still to be tried (False once it failed)
        self.graph: torch.cuda.CUDAGraph | None = None
        self.lock = lock  # the model's, for its shared decoder: held while a generation uses it
        self.weights = like.data_ptr()  # a graph reads the parameters where they were at capture

    def made_for(self, model: GPT, capture: bool) -> bool:
        """Whether this decoder still serves ``model`` as asked: the same wish to capture, and the
        parameters where they were (``model.to(...)`` or a cast moves them: a graph would read the
        old memory)."""
        return self.wanted == capture and self.weights == model.lm_head.weight.data_ptr()

    def load(self, past: Past) -> None:
        """Start from ``past`` (one row's keys and values per layer, (1, nh, n, hs) each)."""
        n = past[0][0].shape[2]
        for (k, v), keys, values in zip(past, self.keys, self.values, strict=True):
            keys.zero_()
            values.zero_()
            keys[:, :, :n] = k
            values[:, :, :n] = v
        self.at.fill_(n)

    def __call__(self, token: int) -> torch.Tensor:
        """Feed ``token`` at the next position → the logits after it (1, V), in a buffer that the
        next call overwrites."""
        self.ids.fill_(token)
        if self.capture and self.graph is None:
            self._capture()
        if self.graph is not None:
            self.graph.replay()
        else:
            self._step()
        return self.logits

    def give_back(self) -> None:
        """The generation that took this decoder is done with it (``take_decoder``)."""
        if self.lock is not None:
            self.lock.release()

    def _step(self) -> None:
        """One step: every shape fixed, every position on the device (what a graph can replay)."""
        model = self.model
        tok_emb, pos_emb = model.embed(self.ids, self.at.view(1, 1))
        x = (tok_emb + pos_emb).view(1, -1)  # (1, C)
        visible = (self.positions <= self.at).view(1, 1, 1, -1)  # (1, 1, 1, S): keys up to the new one
        layers, ln_f = fast_weights(model, gelu)
        for layer, keys, values in zip(layers, self.keys, self.values, strict=True):
            x, _, _ = fast_block(layer, x, 1, visible, (keys, values, self.at), 0, False, static_attention)
        if ln_f is not None:
            x = fast_layer_norm(ln_f, x)
        self.logits.copy_(F.linear(x, model.lm_head.weight))
        self.at.add_(1)

    def _capture(self) -> None:
        """Record ``_step`` as a CUDA graph, after a few eager steps on a side stream (as CUDA asks).
        Each of them starts from the same position (``at`` is put back), so they write the new
        token's key and value where the step itself writes them, never past the context. If the
        capture fails, the steps run eagerly (and the reason is logged)."""
        at = self.at.clone()
        try:
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(WARMUP_STEPS):
                    self.at.copy_(at)
                    self._step()
            torch.cuda.current_stream().wait_stream(side)
            self.at.copy_(at)
            graph = torch.cuda.CUDAGraph()
            # on the warm-up's stream (its library handles are made there); other threads' CUDA calls
            # meanwhile (another generation decoding eagerly) do not break the capture
            with torch.cuda.graph(graph, stream=side, capture_error_mode="thread_local"):
                self._step()
            self.graph = graph
        except RuntimeError as err:  # a step that cannot be captured still runs, eagerly
            log.warning("CUDA graph capture failed, decoding eagerly: %s", err)
            self.capture = False
        self.at.copy_(at)


def take_decoder(model: Any, capture: bool = True) -> StaticDecoder | None:
    """For one generation: the model's shared decoder (made, and captured at its first step, on
    first use) if nobody holds it; None where ``uses_graphs`` does not hold or another generation
    holds it (that one decodes as without graphs: a capture each time would cost more than it
    saves). The generation gives it back (``StaticDecoder.give_back``) when it ends."""
    if not uses_graphs(model):
        return None
    return lend(model, capture)


def lend(model: GPT, capture: bool) -> StaticDecoder | None:
    """The model's shared decoder if nobody holds it (taken: its lock held until ``give_back``),
    made anew when it no longer serves the model as asked (``made_for``); None while it is held."""
    held = model.__dict__.setdefault("_static_decoder", [threading.Lock(), None])
    if not held[0].acquire(blocking=False):
        return None
    try:
        if held[1] is None or not held[1].made_for(model, capture):
            held[1] = StaticDecoder(model, capture, held[0])
    except BaseException:  # out of memory, say: the lock is not kept by a decoder nobody got
        held[0].release()
        raise
    return held[1]


def shared_decoder(model: GPT) -> StaticDecoder | None:
    """The model's shared decoder, if one was made (not taken: to look at it)."""
    return model.__dict__.get("_static_decoder", [None, None])[1]


def uses_graphs(model: Any) -> bool:
    """Whether ``generate`` decodes through a captured ``StaticDecoder``: the PyTorch twin's GPT on
    CUDA, with its fast path and ``use_cuda_graphs`` on, not training."""
    return (
        isinstance(model, GPT)
        and model.use_cuda_graphs
        and model.fast_path
        and not model.training
        and model.lm_head.weight.is_cuda
    )
