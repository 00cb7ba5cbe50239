"""Batched decoding: several sequences advanced by one forward give what each gives alone.

``models.generate.step`` left-pads the decodings' KV caches (or stacks LSTM states) with the
twins' ``merge_past`` and cuts each row's cache back out with ``split_past``.
"""

from __future__ import annotations

import numpy as np
import pytest

from models import load_model
from models.config import GPTConfig, LSTMConfig
from models.generate import DoneEvent, TokenEvent, generate, start, step
from models.sampling import SamplingParams
from models.weights import init_lstm_params, save_model_dir

from helpers import TOL, assert_close, model_dir

PROMPTS = [[1, 2, 3], [4], [5, 6, 7, 8, 9, 10, 11], [2, 2]]
SAMPLED = SamplingParams(temperature=1.1, top_k=15, top_p=0.95, repetition_penalty=1.1)


@pytest.fixture(scope="module")
def gpt_dir(tmp_path_factory):
    cfg = GPTConfig(vocab_size=40, block_size=32, n_layer=2, n_head=2, n_embd=32)
    return model_dir(tmp_path_factory.mktemp("gpt"), cfg, jitter=0.5)


@pytest.fixture(scope="module")
def lstm_dir(tmp_path_factory):
    cfg = LSTMConfig(vocab_size=40, block_size=32, n_layer=2, n_embd=8, n_hidden=12)
    rng = np.random.default_rng(1)
    params = {
        k: (v + rng.normal(0, 0.3, v.shape)).astype(np.float32) for k, v in init_lstm_params(cfg, 0).items()
    }
    return save_model_dir(tmp_path_factory.mktemp("lstm"), cfg, params)


@pytest.fixture(params=["gpt", "lstm"])
def arch_dir(request, gpt_dir, lstm_dir):
    return gpt_dir if request.param == "gpt" else lstm_dir


def alone(model, prompt, n, params, seed, attention=False):
    events = list(generate(model, prompt, n, params, seed, include_attention=attention))
    return [e for e in events if isinstance(e, TokenEvent)], events[-1]


def together(model, decodings):
    """Step all decodings as one batch until every one is finished → each one's token events."""
    events: dict[int, list[TokenEvent]] = {id(d): [] for d in decodings}
    while not all(d.finished for d in decodings):
        live = [d for d in decodings if not d.finished]
        for d, e in zip(live, step(model, live), strict=True):
            events[id(d)].append(e)
    return [events[id(d)] for d in decodings]


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_batch_gives_each_sequence_what_it_gets_alone(arch_dir, backend, dtype):
    model = load_model(arch_dir, backend, dtype)
    lengths = [12, 5, 20, 9]  # rows finish at different steps; the batch shrinks
    params = [SAMPLED, SamplingParams(temperature=0), SAMPLED, SamplingParams(temperature=0.7)]
    decodings = [
        start(model, p, n, q, seed=s)
        for s, (p, n, q) in enumerate(zip(PROMPTS, lengths, params, strict=True))
    ]
    batched = together(model, decodings)
    for s, (prompt, n, q) in enumerate(zip(PROMPTS, lengths, params, strict=True)):
        solo, done = alone(model, prompt, n, q, s)
        assert [e.id for e in batched[s]] == [e.id for e in solo]
        for a, b in zip(batched[s], solo, strict=True):
            assert_close("prob", a.step.model_prob, b.step.model_prob, TOL[dtype])
            assert_close(
                "candidates",
                [c.prob for c in a.step.stages["model"]],
                [c.prob for c in b.step.stages["model"]],
                TOL[dtype],
            )
        assert decodings[s].done().tokens == done.tokens and decodings[s].done().reason == done.reason


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_attention_rows_of_a_batch_cover_each_rows_own_keys(gpt_dir, backend):
    model = load_model(gpt_dir, backend, "float64")
    decodings = [start(model, p, 6, SAMPLED, seed=i, include_attention=True) for i, p in enumerate(PROMPTS)]
    batched = together(model, decodings)
    for i, prompt in enumerate(PROMPTS):
        solo, _ = alone(model, prompt, 6, SAMPLED, i, attention=True)
        for k, (a, b) in enumerate(zip(batched[i], solo, strict=True)):
            assert a.attention.shape == (2, 2, len(prompt) + k)  # no padded key reaches the client
            assert_close("attention", a.attention, b.attention, TOL["float64"])


def test_a_sequence_can_join_a_running_batch(gpt_dir):
    model = load_model(gpt_dir, "numpy", "float64")
    first = start(model, PROMPTS[2], 10, SAMPLED, seed=7)
    step(model, [first])
    step(model, [first])
    late = start(model, PROMPTS[0], 10, SAMPLED, seed=8)  # its prompt is read while `first` decodes
    rest = together(model, [first, late])
    solo_first, _ = alone(model, PROMPTS[2], 10, SAMPLED, 7)
    solo_late, _ = alone(model, PROMPTS[0], 10, SAMPLED, 8)
    assert [e.id for e in rest[0]] == [e.id for e in solo_first[2:]]
    assert [e.id for e in rest[1]] == [e.id for e in solo_late]


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_merge_pads_on_the_left_and_split_gives_the_caches_back(gpt_dir, backend):
    model = load_model(gpt_dir, backend, "float64")
    pasts = []
    for p in PROMPTS:
        with model.inference_context():
            pasts.append(model.forward_cached(np.asarray([p]), None, None, False)[1])
    merged, mask, pads = model.merge_past(pasts)
    assert pads == [4, 6, 0, 5]
    expected = np.zeros((4, 8), dtype=bool)
    for b, pad in enumerate(pads):
        expected[b, pad:] = True  # real keys and the token fed next
    np.testing.assert_array_equal(np.asarray(mask), expected)
    for layer in range(2):
        k = np.asarray(merged[layer][0])
        assert k.shape == (4, 2, 7, 16)
        assert np.all(k[1, :, :6] == 0)  # the padding is zeros
    for row, original in zip(model.split_past(merged, pads), pasts, strict=True):
        for (k, v), (k0, v0) in zip(row, original, strict=True):
            np.testing.assert_array_equal(np.asarray(k), np.asarray(k0))
            np.testing.assert_array_equal(np.asarray(v), np.asarray(v0))


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_a_padded_key_gets_exactly_zero_attention(gpt_dir, backend):
    model = load_model(gpt_dir, backend, "float64")
    pasts = []
    for p in PROMPTS[:2]:
        with model.inference_context():
            pasts.append(model.forward_cached(np.asarray([p]), None, None, False)[1])
    merged, mask, pads = model.merge_past(pasts)
    with model.inference_context():
        _, _, tr = model.forward_cached(np.asarray([[3], [3]]), merged, mask, True)
    probs = np.asarray(tr.att_probs)  # (L, B, nh, 1, Tk)
    assert np.all(probs[:, 1, :, :, : pads[1]] == 0.0)
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-12)
    positions = np.asarray(tr.positions)
    assert positions.tolist() == [[3], [1]]  # counted over real tokens only


def test_merge_is_the_same_in_both_twins(gpt_dir, lstm_dir):
    for d in (gpt_dir, lstm_dir):
        mn, mt = load_model(d, "numpy", "float64"), load_model(d, "torch", "float64")
        outs = []
        for m in (mn, mt):
            pasts = []
            for p in PROMPTS:
                with m.inference_context():
                    pasts.append(m.forward_cached(np.asarray([p]), None, None, False)[1])
            outs.append(m.merge_past(pasts))
        (a, mask_a, pads_a), (b, mask_b, pads_b) = outs
        assert pads_a == pads_b
        assert (mask_a is None) == (mask_b is None)
        if mask_a is not None:
            np.testing.assert_array_equal(np.asarray(mask_a), mask_b.numpy())
        for (xa, ya), (xb, yb) in zip(a, b, strict=True):
            assert_close("merged", xa, xb.numpy(), TOL["float64"])
            assert_close("merged", ya, yb.numpy(), TOL["float64"])


def test_generate_is_one_decoding_stepped_alone(gpt_dir):
    model = load_model(gpt_dir, "numpy")
    events = list(generate(model, [1, 2], 5, SAMPLED, 3))
    assert isinstance(events[-1], DoneEvent) and events[-1].n_tokens == 5
    d = start(model, [1, 2], 5, SAMPLED, seed=3)
    ids = [e.id for e in together(model, [d])[0]]
    assert ids == events[-1].tokens


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_an_attention_only_trace_holds_the_full_traces_weights(gpt_dir, backend):
    """The weights alone come from the fast path, the full trace from the readable one: float64
    agrees to rounding."""
    model = load_model(gpt_dir, backend, "float64")
    ids = np.asarray([[1, 2, 3, 4]])
    with model.inference_context():
        logits, _, full = model.forward_cached(ids, None, None, True)
        logits_a, _, light = model.forward_cached(ids, None, None, "attention")
    assert type(light).__name__ == "AttentionTrace"
    assert_close("logits", np.asarray(logits), np.asarray(logits_a), 1e-10)
    assert_close("att_probs", np.asarray(full.att_probs), np.asarray(light.att_probs), 1e-10)
