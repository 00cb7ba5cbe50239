"""How a ``DecodeBatch`` keeps its rows when streams come and go, without copying the others' caches.

Under load one stream ends as another begins. Rather than selecting the rows that stay (a copy of
every other row's cache) and merging the newcomer's cache after them (another), a newcomer whose
cache is no longer than the batch's takes a free row: its cache is written into that row where it
lies, left-padded with zeros (``_take_rows``). A row that frees up with no newcomer to take it is
kept vacant for a few steps (``_vacate``; a token 0 is fed to it and its outputs are not used),
and the columns that are padding in every row are cut only when the next token would not fit in
the context (``_fit``). When the rows are selected anew, or newcomers join after them, that too
happens in the batch's own buffers where they hold it (``_gather``): rows move up, and the
newcomers' caches are written after them. ``DecodeBatch`` (``models/generate.py``) does the rest.
"""

from __future__ import annotations

from typing import Any

from models import kv_cache

# A batch keeps the row of a decoding that left this many steps for a newcomer, and at most one
# vacant row for every VACANT_SHARE members that stay. A class's streams end together and begin
# again over the next steps (a server reads a few prompts per step), so up to a third of the rows
# may wait; a vacant row costs one row of a forward whose time at this size goes mostly to the
# number of operations, not rows.
VACANT_STEPS = 16
VACANT_SHARE = 2


def write_padded(row: Any, x: Any, pad: int, before: tuple[slice, ...]) -> None:
    """One row's cache ``x`` written into ``row`` (a view of a batch's cache, its time axis after
    the axes ``before``) after ``pad`` zeros: padding exactly zero, as ``merge_past`` pads."""
    row[(*before, slice(None, pad))] = 0
    row[(*before, slice(pad, None))] = x


class BatchRows:
    """The row keeping of ``DecodeBatch``: its ``model``, ``members`` (None: a vacant row), ``past``
    (the batch's cache), ``pads`` (each row's left padding), ``steps`` and ``vacant``."""

    model: Any
    members: list[Any]
    past: Any
    pads: list[int]
    steps: int
    vacant: dict[int, int]  # row → the step it was left at

    def _length(self, past: Any = None) -> int:
        """Positions along the time axis of ``past`` (the batch's cache by default)."""
        past = self.past if past is None else past
        return past[0][0].shape[self.model.past_time_axis]

    def _keep_vacant(self) -> bool:
        """Vacant rows are kept ``VACANT_STEPS`` steps at most: after that the batch is made without them."""
        return self.steps - min(self.vacant.values()) <= VACANT_STEPS

    def _vacate(self, going: list[Any]) -> None:
        """Members that leave now, with no newcomer to take their rows: their rows stay, vacant (a
        token 0 fed to them, their outputs unused), when at most one row in ``VACANT_SHARE`` of
        the batch would be vacant and at least two members stay. Under load another stream
        begins a step or two later and takes the row without a copy; otherwise it costs a row of
        compute per step until the rows are selected anew."""
        if self.model.past_time_axis is None or self.past is None:
            return
        wanted = {id(d) for d in going}
        leaving = [i for i, d in enumerate(self.members) if d is not None and id(d) not in wanted]
        staying = sum(d is not None for d in self.members) - len(leaving)
        if not leaving or staying < 2 or len(self.vacant) + len(leaving) > max(1, staying // VACANT_SHARE):
            return
        self.members = list(self.members)
        for i in leaving:
            self.members[i] = None
            self.vacant[i] = self.steps

    def _take_rows(self, going: list[Any]) -> None:
        """Newcomers whose caches are no longer than the batch's take vacant rows, or the rows of
        members that leave now: each is written into its row of the batch's cache where it lies,
        left-padded with zeros, so the other rows are not copied (under load one stream ends as
        another begins)."""
        axis = self.model.past_time_axis
        if axis is None or self.past is None:
            return
        wanted = {id(d) for d in going}
        members = {id(d) for d in self.members if d is not None}
        leaving = [
            *self.vacant,
            *(i for i, d in enumerate(self.members) if d is not None and id(d) not in wanted),
        ]
        length = self._length()
        joining = [d for d in going if id(d) not in members and self._length(d.past) <= length]
        if not (leaving and joining):
            return
        self.members, self.pads = list(self.members), list(self.pads)
        before = (slice(None),) * (axis - 1)  # a row's axes before its time axis
        for i, d in zip(leaving, joining, strict=False):
            pad = length - self._length(d.past)
            for layer, own in zip(self.past, d.past, strict=True):
                for t, x in zip(layer, own, strict=True):
                    write_padded(t[i], x[0], pad, before)  # t[i] is a view: the batch's cache is written
            self.members[i], self.pads[i] = d, pad
            self.vacant.pop(i, None)
            d.past = None

    def _gather(self, rows: list[int], new: list[Any]) -> tuple[Any, list[int]] | None:
        """``rows`` of the batch's cache (ascending) moved to its first rows, and the newcomers'
        caches written after them, left-padded with zeros to the longest: what ``reorder_past`` and
        ``merge_past`` give, done in the batch's own buffers (claimed slabs) without copying the
        cache into new arrays and back. → (cache, pads), or None where the buffers cannot hold
        it (too many rows, or no positions before the block for longer newcomers): the caller
        copies then. Rows only move to lower rows, so none is overwritten before it is read."""
        layers = self.past
        if self.model.past_time_axis != 2 or not layers:
            return None
        if not all(isinstance(layer, kv_cache.LayerKV) and layer.slab.claimed for layer in layers):
            return None
        start, stop = layers[0].start, layers[0].stop
        longest = max([stop - start, *(self._length(d.past) for d in new)])
        first, B = stop - longest, len(rows) + len(new)  # the block's first position, its rows
        slab = layers[0].slab
        if first < 0 or B > slab.buffers[0].shape[0] or longest >= slab.capacity:
            return None
        gathered = []
        for i, layer in enumerate(layers):
            slab = layer.slab
            for t, buffer in enumerate(slab.buffers):  # keys, then values: (rows, nh, capacity, hs)
                for j, r in enumerate(rows):
                    if j != r:
                        buffer[j, :, start:stop] = buffer[r, :, start:stop]
                buffer[: len(rows), :, first:start] = 0  # padding before the kept rows, if any
                for j, d in enumerate(new, len(rows)):
                    x = d.past[i][t][0]  # (nh, n, hs)
                    write_padded(buffer[j, :, first:stop], x, longest - x.shape[1], (slice(None),))
            slab.use_rows(B)
            gathered.append(kv_cache.LayerKV.view(slab, first, stop))
        pads = [self.pads[r] + start - first for r in rows]
        return gathered, pads + [longest - self._length(d.past) for d in new]

    def _fit(self) -> None:
        """Cut the columns that are padding in every row once the next token would not fit in the
        context (a row that fills its own window slides out first, so some column can go); only
        then, as a cut cache is eventually copied to the start of a new buffer."""
        real = [p for p, d in zip(self.pads, self.members, strict=True) if d is not None]
        if self.past is None or self.model.past_time_axis is None or not real:
            return
        cut = min(real)  # a vacant row's columns do not matter: its outputs are not used
        if cut and self._length() >= self.model.config.block_size:
            self.past = self._drop_front(self.past, cut)
            self.pads = [max(p - cut, 0) for p in self.pads]

    def _drop_front(self, past: Any, n: int) -> Any:
        """``past`` without its first ``n`` positions along the time axis: keys and values that
        grow in place stay views of their buffer (``kv_cache.drop_front``), any other is sliced."""
        if self.model.past_time_axis == 2:
            return [kv_cache.drop_front(layer, n) for layer in past]
        before = (slice(None),) * self.model.past_time_axis  # the axes before the time axis
        return [tuple(x[(*before, slice(n, None))] for x in layer) for layer in past]
