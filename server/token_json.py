"""A token event as JSON text, written once and cheaply: what ``TokenEvent.model_dump_json`` of
``server.streaming.token_event`` sends, the same numbers (``tests/test_token_json.py``), without
building a model per event and a model per candidate.

Attention rows are most of an event (layers × heads × keys probabilities, 4 decimals), so their
text is made for the whole array at once: a probability rounded to ``DECIMALS`` is k / 10^4 for a
whole k from 0 to 10^4, written as its digits ("0.2500" is the number 0.25). Rows outside [0, 1]
(none from a softmax) take the general path through ``server.rounding.rounded``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import numpy as np

from server.rounding import DECIMALS, MS_DECIMALS, rounded

SCALE = 10**DECIMALS
WIDTH = DECIMALS + 3  # "0.1234," : the whole part, the point, the decimals and a comma
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_COMMA, _OPEN, _CLOSE = b",[]"
# DIGITS[k]: the text of k / SCALE and a comma, "0.0000," to "1.0000,", made once
DIGITS = np.frombuffer(
    b"".join(b"%d.%0*d," % (k // SCALE, DECIMALS, k % SCALE) for k in range(SCALE + 1)), dtype=np.uint8
).reshape(SCALE + 1, WIDTH)
ITEMS = DIGITS.view(
    f"V{WIDTH}"
).ravel()  # the same texts as items of WIDTH bytes: one gather copies each whole


def rows_json(a: np.ndarray) -> str:
    """(…, n) probabilities rounded to ``DECIMALS`` as nested JSON arrays: the numbers ``rounded``
    gives, each written with all its decimals ("0.2500"), as bytes built for the whole array at once."""
    a = np.asarray(a, dtype=np.float64)
    k = np.rint(a * SCALE)  # what np.round(a, DECIMALS) computes before dividing by 10^DECIMALS
    if not (a.ndim and a.size and k.min() >= 0 and k.max() <= SCALE):  # NaN and ±inf fail these too
        return _dumps(rounded(a))
    chars = ITEMS[k.astype(np.intp)].view(np.uint8).reshape(*k.shape, WIDTH)  # (…, n, WIDTH)
    text = chars.reshape(*k.shape[:-1], -1)  # every innermost row: "0.1,0.2,…," (a comma after each)
    while True:  # wrap the rows of this level in brackets ("[0.1,0.2]," ), then join them into their parents
        n = text.shape[-1]
        wrapped = np.empty((*text.shape[:-1], n + 2), dtype=np.uint8)
        wrapped[..., 0] = _OPEN
        wrapped[..., 1 : n + 1] = text
        wrapped[..., n] = _CLOSE  # over the last number's comma
        wrapped[..., n + 1] = _COMMA
        if wrapped.ndim == 1:
            return wrapped[:-1].tobytes().decode("ascii")
        text = wrapped.reshape(*wrapped.shape[:-2], -1)


def rounded_ms(ms: float) -> float:
    """``rounded(ms, MS_DECIMALS)`` in plain Python: the same steps (scale, round half to even, divide)."""
    return round(ms * 10**MS_DECIMALS) / 10**MS_DECIMALS


@lru_cache(maxsize=65536)
def string_json(s: str) -> str:
    """A token's string as JSON text, written once per distinct string (a vocabulary repeats)."""
    return _dumps(s)


def token_json(event: Any, token: str, candidate_tokens: list[str], text: str) -> str:
    """One ``models.generate.TokenEvent`` as the JSON of ``server.schemas.TokenEvent``, keys in its
    order; ``token`` and ``candidate_tokens`` are the strings of its id and of its candidates.
    Numbers are written as ``json`` writes them (``repr`` of a float, of an int)."""
    final = event.step.stages["top_p"]
    candidates = ",".join(
        f'{{"id":{int(c.id)},"token":{string_json(s)},"prob":{float(c.prob)!r}}}'
        for c, s in zip(final, candidate_tokens, strict=True)
    )
    attention = "null" if event.attention is None else rows_json(event.attention)
    return (
        f'{{"index":{int(event.index)},"id":{int(event.id)},"text":{_dumps(text)},"token":{string_json(token)},'
        f'"prob":{float(event.step.prob)!r},"model_prob":{float(event.step.model_prob)!r},'
        f'"candidates":[{candidates}],"attention":{attention},"ms":{rounded_ms(event.ms)!r},'
        f'"window_start":{int(event.window_start)}}}'
    )
