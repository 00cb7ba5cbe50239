"""The twins' fast paths (fused kernels, fewer temporaries, the cache grown in place) give the
readable path's numbers.

``forward_cached(..., trace=True)`` (or a model with ``fast_path`` off) runs the readable code the
lessons show; without a trace, or with the attention weights alone, the same call takes the fast
path. Both must give the same logits and attention weights (float32, within 1e-5) and the same
cache, and greedy generation must pick the same tokens, batched with padding and past the context
(the window slides). The cache written in place must never change a cache a caller still holds.
"""

import numpy as np
import pytest
import torch

from models import gpt_numpy, gpt_torch
from models.config import GPTConfig
from models.generate import DoneEvent, generate
from models.sampling import SamplingParams
from tests.helpers import random_params

ATOL = 1e-5
CONFIGS = {
    "pre-gelu": GPTConfig(vocab_size=37, block_size=24, n_layer=2, n_head=4, n_embd=32),
    "post-relu-sinusoid": GPTConfig(
        vocab_size=37,
        block_size=24,
        n_layer=2,
        n_head=2,
        n_embd=16,
        norm="post",
        activation="relu",
        pos="sinusoidal",
        tie_weights=False,
    ),
}
TWINS = {"torch": gpt_torch.GPT, "numpy": gpt_numpy.GPT}


def twin(backend: str, name: str):
    config = CONFIGS[name]
    return TWINS[backend](config, random_params(config, seed=3, jitter=0.2))


def as_array(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def both_paths(model, ids, past=None, mask=None):
    """(readable logits, cache), (fast logits, cache) for one call; the attention weights the
    fast path keeps when asked are the readable path's too."""
    with model.inference_context():
        slow, slow_past, full = model.forward_cached(ids, past, mask, trace=True)
        fast, fast_past, trace = model.forward_cached(ids, past, mask)
        kept, kept_past, weights = model.forward_cached(ids, past, mask, trace="attention")
    assert trace is None
    np.testing.assert_allclose(as_array(weights.att_probs), as_array(full.att_probs), atol=ATOL, rtol=0)
    np.testing.assert_allclose(as_array(kept), as_array(slow), atol=ATOL, rtol=0)
    assert_same_cache(slow_past, kept_past)
    return (as_array(slow), slow_past), (as_array(fast), fast_past)


def assert_same_cache(a, b) -> None:
    for layer_a, layer_b in zip(a, b, strict=True):
        for x, y in zip(layer_a, layer_b, strict=True):
            np.testing.assert_allclose(as_array(x), as_array(y), atol=ATOL, rtol=0)


@pytest.mark.parametrize("name", CONFIGS)
@pytest.mark.parametrize("backend", TWINS)
def test_fast_path_gives_the_readable_logits_and_cache(backend, name):
    model = twin(backend, name)
    ids = np.random.default_rng(0).integers(0, 37, (3, 9))
    (slow, slow_past), (fast, fast_past) = both_paths(model, ids)
    assert fast.dtype == np.float32
    np.testing.assert_allclose(fast, slow, atol=ATOL, rtol=0)
    assert_same_cache(slow_past, fast_past)
    for step in range(5):  # one token at a time after the cache
        nxt = ids[:, step : step + 1]
        (slow, slow_past), (fast, fast_past) = both_paths(model, nxt, slow_past)
        np.testing.assert_allclose(fast, slow, atol=ATOL, rtol=0)


@pytest.mark.parametrize("backend", TWINS)
def test_fast_path_with_left_padding(backend):
    """Rows of different lengths, left-padded: padded queries see nothing in both paths."""
    model = twin(backend, "pre-gelu")
    ids = np.random.default_rng(1).integers(0, 37, (3, 7))
    mask = np.ones((3, 7), dtype=bool)
    mask[1, :3] = False
    mask[2, :6] = False
    (slow, slow_past), (fast, fast_past) = both_paths(model, ids, None, mask)
    np.testing.assert_allclose(fast, slow, atol=ATOL, rtol=0)
    assert_same_cache(slow_past, fast_past)
    step_mask = np.concatenate([mask, np.ones((3, 1), dtype=bool)], axis=1)
    (slow, _), (fast, _) = both_paths(model, ids[:, :1], slow_past, step_mask)
    np.testing.assert_allclose(fast, slow, atol=ATOL, rtol=0)


def greedy_tokens(model, prompt, n, readable: bool, include_attention: bool = False) -> list[int]:
    """Greedy ids from the streaming generator, on the readable path or the fast one."""
    model.fast_path = not readable
    try:
        events = generate(
            model, prompt, n, SamplingParams(temperature=0.0), seed=0, include_attention=include_attention
        )
        return next(e for e in events if isinstance(e, DoneEvent)).tokens
    finally:
        del model.fast_path  # back to the class's default


@pytest.mark.parametrize("backend", TWINS)
def test_fast_path_greedy_tokens_over_50_steps_past_the_context(backend):
    """50 new tokens after a 10-token prompt in a 24-token context: the window slides."""
    model = twin(backend, "pre-gelu")
    prompt = [5, 9, 2, 30, 11, 7, 7, 19, 3, 1]
    fast = greedy_tokens(model, prompt, 50, readable=False)
    assert fast == greedy_tokens(model, prompt, 50, readable=True)
    assert fast == greedy_tokens(model, prompt, 50, readable=False, include_attention=True)
    assert len(fast) == 50 and len(set(fast)) > 1


@pytest.mark.parametrize("backend", TWINS)
def test_fast_path_greedy_tokens_within_the_context(backend):
    model = twin(backend, "post-relu-sinusoid")
    prompt = [4, 8, 15, 16]
    assert greedy_tokens(model, prompt, 18, readable=False) == greedy_tokens(model, prompt, 18, readable=True)


def test_training_with_dropout_keeps_the_readable_path():
    config = GPTConfig(vocab_size=37, block_size=24, n_layer=1, n_head=2, n_embd=16, dropout=0.5)
    model = gpt_torch.GPT(config, random_params(config, seed=3)).train()
    ids = torch.tensor([[1, 2, 3, 4]])
    torch.manual_seed(0)
    a = model(ids)
    torch.manual_seed(0)
    b, _ = model(ids, trace=True)
    torch.testing.assert_close(a, b)  # the same dropout draws: the same code ran
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(ids), model(ids, trace=True)[0], atol=ATOL, rtol=0)
