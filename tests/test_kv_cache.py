"""The cache the fast paths grow in place (``models/kv_cache.py``), in both twins: a step writes only
its own token, a cache a caller still holds never changes, and every cache holds the readable
path's keys and values."""

import numpy as np
import pytest
import torch

from models import gpt_numpy, gpt_torch, kv_cache
from models.config import GPTConfig
from tests.helpers import random_params

ATOL = 1e-5
CONFIG = GPTConfig(vocab_size=37, block_size=96, n_layer=2, n_head=4, n_embd=32)
TWINS = {"torch": gpt_torch.GPT, "numpy": gpt_numpy.GPT}


def twin(backend: str):
    return TWINS[backend](CONFIG, random_params(CONFIG, seed=5, jitter=0.2))


def as_array(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def step(model, ids, past=None, fast=True):
    model.fast_path = fast
    try:
        with model.inference_context():
            logits, present, _ = model.forward_cached(np.asarray(ids), past)
    finally:
        del model.fast_path
    return as_array(logits), present


def assert_cache_equal(a, b) -> None:
    for layer_a, layer_b in zip(a, b, strict=True):
        for x, y in zip(layer_a, layer_b, strict=True):
            np.testing.assert_allclose(as_array(x), as_array(y), atol=ATOL, rtol=0)


def test_capacity_has_room_and_stops_at_twice_the_context():
    assert kv_cache.capacity_for(1, 96) == 33  # at least GROWTH_MIN more
    assert kv_cache.capacity_for(64, 96) == 96  # half as many again
    assert kv_cache.capacity_for(160, 96) == 192  # but not past twice the context
    for needed in range(1, 193):
        assert needed <= kv_cache.capacity_for(needed, 96) <= 192


@pytest.mark.parametrize("backend", TWINS)
def test_a_step_writes_its_token_into_the_same_buffer(backend):
    model = twin(backend)
    _, past = step(model, [[1, 2, 3, 4]])
    _, grown = step(model, [[5]], past)
    assert isinstance(grown[0], kv_cache.LayerKV)
    assert grown[0].slab is past[0].slab and grown[0].slab.length == 5  # no copy: the same slab
    assert grown[0][0].shape[2] == 5 and past[0][0].shape[2] == 4


@pytest.mark.parametrize("backend", TWINS)
def test_two_continuations_of_one_cache_do_not_overwrite_each_other(backend):
    model = twin(backend)
    _, past = step(model, [[1, 2, 3, 4]])
    before = [tuple(as_array(t).copy() for t in layer) for layer in past]
    _, after_a = step(model, [[7]], past)  # written in place
    _, after_b = step(model, [[9]], past)  # the slab moved on: this one gets a slab of its own
    assert after_b[0].slab is not after_a[0].slab
    assert_cache_equal(before, past)  # what the caller held is unchanged
    logits_a, _ = step(model, [[11]], after_a)
    logits_b, _ = step(model, [[11]], after_b)
    np.testing.assert_allclose(logits_a, step(model, [[1, 2, 3, 4, 7, 11]], fast=False)[0][:, -1:], atol=ATOL)
    np.testing.assert_allclose(logits_b, step(model, [[1, 2, 3, 4, 9, 11]], fast=False)[0][:, -1:], atol=ATOL)


@pytest.mark.parametrize("backend", TWINS)
def test_a_long_decode_grows_its_slab_and_keeps_the_readable_cache(backend):
    """90 tokens one at a time in a 96-token context: the slab is replaced a few times as it fills,
    never made larger than twice the context, and holds what concatenation gives."""
    model = twin(backend)
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 37, (2, 90))
    _, fast = step(model, ids[:, :1])
    _, slow = step(model, ids[:, :1], fast=False)
    slabs = {id(fast[0].slab)}
    for t in range(1, 90):
        fast_logits, fast = step(model, ids[:, t : t + 1], fast)
        slow_logits, slow = step(model, ids[:, t : t + 1], slow, fast=False)
        np.testing.assert_allclose(fast_logits, slow_logits, atol=ATOL, rtol=0)
        slabs.add(id(fast[0].slab))
        assert fast[0].slab.capacity <= 2 * CONFIG.block_size
    assert 2 <= len(slabs) <= 5  # copied a few times, not at every step
    assert_cache_equal(fast, slow)


@pytest.mark.parametrize("backend", TWINS)
def test_reordered_rows_are_copied_once_then_grow_in_place(backend):
    """Beam search and the server's batching hand back plain tuples: the next step copies them."""
    model = twin(backend)
    ids = np.asarray([[1, 2, 3], [4, 5, 6]])
    _, past = step(model, ids)
    swapped = model.reorder_past(past, np.asarray([1, 0]))
    assert not isinstance(swapped[0], kv_cache.LayerKV)
    logits, grown = step(model, [[8], [9]], swapped)
    readable, _ = step(model, [[4, 5, 6, 8], [1, 2, 3, 9]], fast=False)
    np.testing.assert_allclose(logits, readable[:, -1:], atol=ATOL, rtol=0)
    assert isinstance(grown[0], kv_cache.LayerKV)


def test_training_concatenates_and_gradients_match_the_readable_path():
    """With autograd on (training, no dropout) the fast path concatenates as the readable one does."""
    model = gpt_torch.GPT(CONFIG, random_params(CONFIG, seed=5, jitter=0.2)).train()
    ids = torch.tensor([[1, 2, 3, 4, 5, 6]])
    grads = []
    for fast in (True, False):
        model.zero_grad()
        model.fast_path = fast
        logits, past, _ = model.forward_cached(ids)
        assert not isinstance(past[0], kv_cache.LayerKV)
        logits.square().mean().backward()
        grads.append(model.transformer["h"][0].attn.c_attn.weight.grad.clone())
    del model.fast_path
    torch.testing.assert_close(grads[0], grads[1], atol=ATOL, rtol=0)


@pytest.mark.parametrize("backend", TWINS)
def test_a_cache_without_its_first_positions_still_grows_in_place(backend):
    """The server's batch drops padding columns at the front (``drop_front``): the rest stays a view
    of the same buffer, the next step writes into it, and the logits are those of the shorter cache."""
    model = twin(backend)
    ids = np.asarray([[0, 0, 0, 5, 6, 7], [1, 2, 3, 4, 5, 6]])
    _, past = step(model, ids)
    cut = [kv_cache.drop_front(layer, 2) for layer in past]
    assert cut[0].slab is past[0].slab and cut[0][0].shape[2] == 4
    logits, grown = step(model, [[8], [9]], cut)
    assert grown[0].slab is past[0].slab  # written in place, no copy
    plain = [tuple(t[:, :, 2:] for t in layer) for layer in past]
    expected, _ = step(model, [[8], [9]], plain, fast=False)
    np.testing.assert_allclose(logits, expected, atol=ATOL, rtol=0)


@pytest.mark.parametrize("backend", TWINS)
def test_a_full_claimed_slab_moves_its_positions_to_its_front(backend):
    """The server's batch claims its cache (nobody else sees it): when its slab is full and its
    front has been dropped, the positions in use move to the front of the same buffer, and the
    logits are those of the plain cache. An unclaimed slab is never moved (a caller may hold it)."""
    model = twin(backend)
    _, past = step(model, np.arange(40).reshape(1, 40) % CONFIG.vocab_size)
    slab = past[0].slab
    for claimed in (False, True):
        held = [kv_cache.drop_front(layer, 30) for layer in past]  # 10 positions in use
        before = [tuple(as_array(t).copy() for t in layer) for layer in held]
        kv_cache.claim(held, claimed)
        cache, steps = held, slab.capacity - slab.length + 1  # one step past the slab's end
        for i in range(steps):
            logits, cache = step(model, [[i % CONFIG.vocab_size]], cache)
        assert (cache[0].slab is slab) == claimed
        assert cache[0][0].shape[2] == 10 + steps
        if not claimed:  # the held cache is as it was: the last step went to a new slab
            assert_cache_equal(held, before)
            slab.length = held[0].stop  # let the claimed run continue from the same point
    convert = torch.from_numpy if backend == "torch" else np.copy
    plain = [tuple(convert(t) for t in layer) for layer in before]
    for i in range(steps - 1):
        _, plain = step(model, [[i % CONFIG.vocab_size]], plain, fast=False)
    expected, plain = step(model, [[(steps - 1) % CONFIG.vocab_size]], plain, fast=False)
    np.testing.assert_allclose(logits, expected, atol=ATOL, rtol=0)
    assert_cache_equal(cache, plain)


@pytest.mark.parametrize("backend", TWINS)
def test_refill_writes_a_batch_cache_into_its_own_slabs_while_its_rows_fit(backend):
    """A batch's cache selected or merged anew goes back into its claimed slabs (their first rows),
    with the keys and values it was given and a step after it that grows in place; more rows than
    a slab holds, or an unclaimed slab (a caller may hold it), get a new claimed slab with rows to
    spare."""
    model, rng = twin(backend), np.random.default_rng(0)
    _, merged = step(model, rng.integers(0, 37, (6, 20)))
    merged = [tuple(t[:, :, 3:] for t in layer) for layer in merged]  # as plain arrays: 6 rows, 17 positions
    merged = [tuple(t.clone() if backend == "torch" else t.copy() for t in layer) for layer in merged]
    own = kv_cache.refill(merged, [None] * CONFIG.n_layer, CONFIG.block_size)
    slab = own[0].slab
    assert slab.claimed and slab.buffers[0].shape[0] == 6 + kv_cache.ROWS_MIN
    assert slab.capacity == kv_cache.capacity_for(18, CONFIG.block_size)
    assert_cache_equal(own, merged)
    fewer = [tuple(t[[4, 1]] for t in layer) for layer in merged]  # two rows selected
    again = kv_cache.refill(fewer, kv_cache.slabs(own), CONFIG.block_size)
    assert again[0].slab is slab and again[0][0].shape == (2, 4, 17, 8)
    assert_cache_equal(again, fewer)
    logits, grown = step(model, [[1], [2]], again)
    assert grown[0].slab is slab  # the step wrote its token in place
    expected, _ = step(model, [[1], [2]], fewer, fast=False)
    np.testing.assert_allclose(logits, expected, atol=ATOL, rtol=0)
    more = [tuple(t[[0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4]] for t in layer) for layer in merged]  # 11 rows
    assert kv_cache.refill(more, kv_cache.slabs(grown), CONFIG.block_size)[0].slab is not slab
    kv_cache.claim(grown, False)
    assert kv_cache.slabs(grown) == [None] * CONFIG.n_layer
