"""A key/value cache that grows in place: how the twins' fast paths add a token without copying the cache.

The readable path concatenates: each new token copies every key and value so far, so a step costs
time in proportion to the whole cache. The fast paths write the new keys and values into a buffer
allocated with room to spare (a ``Slab``) and hand back views of its written positions: to every
caller they are the cache's ordinary (B, nh, Tk, hs) arrays or tensors, in a ``LayerKV`` tuple that
also remembers its slab. Both twins use this one module (it only slices and assigns, which NumPy
arrays and torch tensors do alike; each twin says how to allocate, and a new slab of ``refill``
is allocated like the arrays it is given).

A slab is written in place only when the cache handed in is its newest (``length``: nothing was
written after it); a cache whose first positions are dropped (``drop_front``) stays a view of it.
Two continuations of one cache (beam search, a second sample from one prompt) therefore never
overwrite each other: the second one is copied into a slab of its own. A cache that is not a
``LayerKV`` (the readable path's, or rows merged or reordered by the server's batching) is copied
once into a new slab; from then on each step writes only its own token.

A full slab is replaced by a new one, unless its one holder has ``claim``-ed it (the server's
batch, whose cache nobody else sees): then the positions still in use move to its front, in
place. A batch under load fills its slab every few seconds; new slabs each time left the freed
ones in the heap, and the server's memory crept up by a quarter over two minutes.

For the same reason a batch arranges its rows in its own slabs when streams come and go (in
place where it can, ``models/batch_rows.py``; else copied and written back, ``refill``) rather
than having new ones made: a slab has rows to spare, and only its first ``rows`` are in use.
New slabs sized by each merge's rows and positions left the heap with holes of every size, and
the server's memory stepped up 13–25 % within two minutes of a class's streams ending and
beginning again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

GROWTH_MIN = 32  # a new slab has room for at least this many more positions
ROWS_SHARE = 4  # a batch's new slab has one row in this many to spare (at least ROWS_MIN)
ROWS_MIN = 4

Empty = Callable[[tuple[int, ...]], Any]  # allocates an uninitialised array / tensor of this shape


class Slab:
    """One layer's keys and values, (rows, nh, capacity, hs) each (``k``, ``v``: the first ``rows``
    of ``buffers``, which may have more); positions [0, length) are written."""

    __slots__ = ("buffers", "claimed", "k", "length", "torch", "v")

    def __init__(self, k: Any, v: Any) -> None:
        self.buffers = self.k, self.v = k, v
        self.length = 0
        self.torch = hasattr(k, "narrow")  # torch tensors (narrow, copy_) or NumPy arrays (slices)
        self.claimed = False  # its holder sees to it that no other view of it is in use (``claim``)

    @property
    def capacity(self) -> int:
        return self.k.shape[2]

    def use_rows(self, rows: int) -> None:
        """Use the first ``rows`` rows of the buffers (views: nothing is copied)."""
        self.k, self.v = (buffer[:rows] for buffer in self.buffers)

    def positions(self, buffer: Any, start: int, stop: int) -> Any:
        """``buffer[:, :, start:stop]`` as a view (torch's ``narrow`` is the quicker way to say it)."""
        return buffer.narrow(2, start, stop - start) if self.torch else buffer[:, :, start:stop]

    def write(self, buffer: Any, start: int, x: Any) -> None:
        """``buffer[:, :, start:start + T] = x`` for x (B, nh, T, hs)."""
        if self.torch:
            buffer.narrow(2, start, x.shape[2]).copy_(x)
        else:
            buffer[:, :, start : start + x.shape[2]] = x

    def to_front(self, start: int, stop: int) -> None:
        """Move positions [start, stop) to [0, stop - start), in place (through a copy: they may overlap)."""
        for buffer in (self.k, self.v):
            kept = self.positions(buffer, start, stop)
            self.write(buffer, 0, kept.clone() if self.torch else kept.copy())
        self.length = stop - start


class LayerKV(tuple):
    """(k, v): views of a slab's positions [start, stop), each (B, nh, stop - start, hs), and the slab."""

    slab: Slab
    start: int
    stop: int

    @classmethod
    def view(cls, slab: Slab, start: int, stop: int) -> LayerKV:
        layer = cls((slab.positions(slab.k, start, stop), slab.positions(slab.v, start, stop)))
        layer.slab, layer.start, layer.stop = slab, start, stop
        return layer


def capacity_for(needed: int, limit: int) -> int:
    """Positions a new slab holds: half as many again as ``needed`` (at least ``GROWTH_MIN`` more),
    so a long generation copies its cache only a few times; at most twice ``limit`` (the model's
    context): a batch's cache, whose front is dropped as streams come and go (``drop_front``), runs
    on past the context before it is copied to the start of a new slab."""
    return min(max(2 * limit, needed), needed + max(needed // 2, GROWTH_MIN))


def append(layer_past: tuple[Any, Any] | None, k: Any, v: Any, limit: int, empty: Empty) -> LayerKV:
    """``layer_past``'s keys and values followed by ``k`` and ``v`` (B, nh, T, hs) along the time
    axis: what the readable path's concatenation gives, written in place when the slab allows."""
    B, nh, T, hs = k.shape
    n = 0 if layer_past is None else layer_past[0].shape[2]
    if isinstance(layer_past, LayerKV):
        slab, start, stop = layer_past.slab, layer_past.start, layer_past.stop
    else:
        slab, start, stop = None, 0, n
    if slab is not None and slab.claimed and slab.length == stop and n + T <= slab.capacity < stop + T:
        slab.to_front(start, stop)  # full, and its holder's alone: the positions in use to its front
        start, stop = 0, n
    if slab is None or slab.length != stop or stop + T > slab.capacity:  # not ours to extend: a new slab
        capacity = capacity_for(n + T, limit)
        slab, start, stop = Slab(empty((B, nh, capacity, hs)), empty((B, nh, capacity, hs))), 0, n
        if n:
            slab.write(slab.k, 0, layer_past[0])
            slab.write(slab.v, 0, layer_past[1])
    slab.write(slab.k, stop, k)
    slab.write(slab.v, stop, v)
    slab.length = stop + T
    return LayerKV.view(slab, start, stop + T)


def claim(past: Any, claimed: bool = True) -> None:
    """Say that the slabs of ``past`` (a list of layers) are seen by their holder alone, until it
    says otherwise (``claimed=False``) or hands out views of them: a full one then has its
    positions in use moved to its front instead of being replaced (``append``)."""
    for layer in past or ():
        if isinstance(layer, LayerKV):
            layer.slab.claimed = claimed


def refill(past: Any, slabs: list[Slab | None], limit: int) -> list[LayerKV]:
    """A batch's cache ``past`` (each layer's keys and values, (B, nh, T, hs), just selected or
    merged into new arrays) written into its own claimed ``slabs`` where they fit (with room for
    the next token), else into new slabs, claimed too, with rows to spare and as many positions as
    ``capacity_for`` gives. Once a batch's slabs are as large as its load needs, they stay the same
    buffers while its rows come and go."""
    refilled = []
    for layer, slab in zip(past, slabs, strict=True):
        if isinstance(layer, LayerKV) and layer.slab is slab:  # already there
            refilled.append(layer)
            continue
        k, v = layer
        B, nh, n, hs = k.shape
        fits = slab is not None and slab.claimed and slab.buffers[0].shape[0] >= B and slab.capacity > n
        if not fits:
            rows = B + max(B // ROWS_SHARE, ROWS_MIN)
            shape = (rows, nh, capacity_for(n + 1, limit), hs)
            slab = Slab(*(_empty_like(x, shape) for x in (k, v)))
            slab.claimed = True
        slab.use_rows(B)
        slab.write(slab.k, 0, k)
        slab.write(slab.v, 0, v)
        slab.length = n
        refilled.append(LayerKV.view(slab, 0, n))
    return refilled


def slabs(past: Any) -> list[Slab | None]:
    """The slab of each layer of ``past`` that its holder has claimed (None where it has none)."""
    return [layer.slab if isinstance(layer, LayerKV) and layer.slab.claimed else None for layer in past]


def _empty_like(x: Any, shape: tuple[int, ...]) -> Any:
    """An uninitialised array / tensor of ``shape`` with x's dtype (and device)."""
    return x.new_empty(shape) if hasattr(x, "new_empty") else np.empty(shape, x.dtype)


def drop_front(layer: tuple[Any, ...], n: int) -> tuple[Any, ...]:
    """A layer's cache without its first ``n`` positions: of a slab's, a view of the same slab that
    still grows in place (no copy); of any other, each tensor sliced."""
    if isinstance(layer, LayerKV):
        return LayerKV.view(layer.slab, layer.start + n, layer.stop)
    return tuple(x[:, :, n:] for x in layer)
