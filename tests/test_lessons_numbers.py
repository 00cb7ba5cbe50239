"""The library functions behind the lesson routes, called directly: each number equals the one the
twin's own forward pass or its own functions give."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.architectures import ARCHITECTURES
from models.config import EncDecConfig, GPTConfig, LSTMConfig
from models.explain import fill_masks, last_logits, layer_head_problems, next_tokens
from models.gpt_numpy import sinusoidal_positions
from models.lessons import (
    batch_masks,
    layernorm_work_through,
    padded_attention,
    position_vectors,
    qkv_by_hand,
)
from models.loading import load_model
from models.measure import cache_race, score_text, timed_trace
from models.metrics import entropy_bits
from models.numbers import BOS_ID, EOS_ID
from models.sampling import STAGES, SamplingParams, filtered_distribution, sampler_stages, softmax
from models.seq2seq import cross_mask_batch, greedy_translate, translate_traced
from models.training.settings import TrainSettings, lr_at, lr_schedule

from helpers import random_params

CFG = GPTConfig(vocab_size=11, block_size=16, n_layer=2, n_head=2, n_embd=8)
IDS = [1, 4, 2, 7, 3]


def gpt(norm: str = "pre", backend: str = "numpy", **kw):
    cfg = GPTConfig(**{**CFG.to_dict(), "norm": norm, **kw})
    return ARCHITECTURES["gpt"].build(cfg, random_params(cfg, 3), backend)


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_layernorm_work_through_is_the_blocks_own_layernorm(norm):
    model = gpt(norm)
    _, tr = model.forward(np.asarray([IDS]), trace=True)
    w = layernorm_work_through(model, IDS, 1, 2)
    if norm == "pre":
        np.testing.assert_allclose(w.input, tr.residual[1][0, 2], atol=1e-12)
    else:  # post-LN: ln_1's output is the stream after the attention sub-block
        np.testing.assert_allclose(w.output, tr.resid_mid[1][0, 2], atol=1e-5)
    assert w.mean == pytest.approx(np.mean(w.input)) and w.var == pytest.approx(np.var(w.input))
    np.testing.assert_allclose(w.normalised, (w.input - w.mean) / w.std, atol=1e-5)
    assert w.normalised_mean == pytest.approx(0, abs=1e-5) and w.normalised_var == pytest.approx(1, abs=1e-3)
    np.testing.assert_allclose(w.output, w.weight * w.normalised + w.bias, atol=1e-5)


def test_qkv_by_hand_gives_the_models_q_k_v():
    model = gpt()
    w = qkv_by_hand(model, IDS, 1, 1)
    assert w.x.shape == (len(IDS), 8) and w.w_q.shape == (8, 4) and w.b_q.shape == (4,)
    for name in "qkv":
        got = w.x @ getattr(w, f"w_{name}") + getattr(w, f"b_{name}")
        np.testing.assert_allclose(got, getattr(w, name), atol=1e-5, err_msg=name)
    assert qkv_by_hand(gpt(bias=False), IDS, 0, 0).b_q is None


def test_padded_keys_get_no_weight_and_change_nothing():
    seqs = [[1, 2, 3, 4], [5, 6], [7]]
    p = padded_attention(gpt(), seqs, 1, 0)
    assert p.ids.shape == (3, 4) and p.attention.shape == (3, 4, 4)
    assert p.padding.tolist() == [[1, 1, 1, 1], [0, 0, 1, 1], [0, 0, 0, 1]]
    assert p.positions[1].tolist()[-2:] == [0, 1]
    assert p.pad_weight == 0 and p.max_change < 1e-5
    assert [a.shape for a in p.alone] == [(4, 4), (2, 2), (1, 1)]


def test_batch_masks_combine_causal_and_padding():
    m = batch_masks([[1, 2, 3], [4]])
    real = m.padding.astype(bool)
    np.testing.assert_array_equal(m.causal, np.tril(np.ones((3, 3), dtype=bool)))
    np.testing.assert_array_equal(m.combined, m.causal & real[:, None, :] & real[:, :, None])
    assert m.positions.tolist() == [[0, 1, 2], [0, 0, 0]]


def test_position_vectors():
    np.testing.assert_array_equal(position_vectors("sinusoidal", 5, 6), sinusoidal_positions(np.arange(5), 6))
    model = gpt()
    np.testing.assert_array_equal(
        position_vectors("learned", 3, 0, model), model.transformer["wpe"].weight[:3]
    )
    with pytest.raises(ValueError, match="even width"):
        position_vectors("sinusoidal", 5, 7)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_the_cache_race_makes_the_same_tokens_both_ways(backend):
    model = gpt(backend=backend)
    race = cache_race(model, IDS, 4)
    assert race.identical and len(race.ids) == 4 and len(race.cached_ms) == len(race.uncached_ms) == 4
    assert race.cached_positions == [5, 1, 1, 1] and race.uncached_positions == [5, 6, 7, 8]
    assert race.dtype == "float32" and len(race.layers) == CFG.n_layer
    assert race.layers[0].k_shape == (1, 2, len(IDS) + 3, 4)  # the last token is never fed back
    assert race.total_bytes == CFG.n_layer * 2 * (len(IDS) + 3) * 8 * 4


def test_score_text_and_a_timed_trace():
    model = gpt()
    s = score_text(model, IDS, n_chars=len(IDS) - 1)
    logits = model.forward(np.asarray([IDS]))[0]
    want = -np.log(softmax(logits[:-1].astype(np.float64))[np.arange(4), IDS[1:]])
    np.testing.assert_allclose(s.losses, want, atol=1e-6)
    assert s.loss == pytest.approx(want.mean()) and s.perplexity == pytest.approx(math.exp(s.loss))
    assert s.bits_per_char == pytest.approx(s.loss / math.log(2))  # one character per token
    tr, ms = timed_trace(model, [IDS])
    assert ms > 0 and tr.logits.shape == (1, len(IDS), CFG.vocab_size)


def test_entropy_and_the_samplers_stages():
    assert entropy_bits(np.full(8, 1 / 8)) == pytest.approx(3)
    assert entropy_bits(np.eye(5)[2]) == 0
    logits = np.linspace(0, 3, 11)
    params = SamplingParams(temperature=0.7, top_k=4, top_p=0.9)
    shown, stages = sampler_stages(logits, params, history=[10], n=6)
    assert shown.tolist() == [10, 9, 8, 7, 6, 5]
    dists = filtered_distribution(logits, params, [10])
    assert [s.name for s in stages] == list(STAGES)
    for s in stages:
        np.testing.assert_array_equal(s.probs, dists[s.name][shown])
        assert s.entropy_bits == pytest.approx(entropy_bits(dists[s.name]))
    assert [s.kept for s in stages][-2] == 4 and stages[-1].kept <= 4


def test_layer_head_problems_read_the_config_and_the_table():
    assert layer_head_problems(CFG, 1, 1) == []
    assert layer_head_problems(CFG, 2, 2) == [
        "layer: the model has layers 0..1",
        "head: the model has heads 0..1",
    ]
    assert layer_head_problems(CFG, layer=5) == ["layer: the model has layers 0..1"]  # head not asked for
    lstm = LSTMConfig(vocab_size=11, n_layer=2, n_embd=8, n_hidden=8)
    assert layer_head_problems(lstm, 1, 0) == []
    assert layer_head_problems(lstm, 0, 1) == ["head: an LSTM has no attention heads; leave head at 0"]
    encdec = EncDecConfig(n_enc_layer=1, n_dec_layer=2, n_head=2, n_embd=8)
    (problem,) = layer_head_problems(encdec, 1, 0)
    assert problem.startswith("layer: the model has layers 0..0 (encoder 1, decoder 2")


def test_fill_masks_and_next_tokens(arch_zoo):
    model = load_model(arch_zoo / "tiny-mlm")
    mask_id = model.config.vocab_size - 1  # MASK_CHAR is appended last
    tok_ids = [5, mask_id, 7, mask_id]
    fill = fill_masks(model, tok_ids, mask_id, k=3)
    _, tr = model.forward(np.asarray([tok_ids]), trace=True)
    probs = softmax(np.asarray(tr.logits, dtype=np.float64)[0, [1, 3]])
    assert fill.positions == [1, 3] and fill.top_ids.shape == (2, 3)
    np.testing.assert_allclose(fill.probs, probs, atol=1e-12)
    assert fill.top_ids[:, 0].tolist() == np.argmax(probs, axis=-1).tolist()
    assert fill.filled == [5, int(fill.top_ids[0, 0]), 7, int(fill.top_ids[1, 0])]
    assert fill.attention.shape == (2, 2, 4, 4)
    with pytest.raises(ValueError, match="nothing is masked"):
        fill_masks(model, [5, 6], mask_id)
    gpt_model = gpt()
    logits = last_logits(gpt_model, IDS)
    np.testing.assert_allclose(logits, gpt_model.forward(np.asarray([IDS]))[0, -1], atol=1e-6)
    ids, p = next_tokens(logits, 3)
    assert ids.tolist() == np.argsort(-logits, kind="stable")[:3].tolist() and p[0] == softmax(logits).max()


def test_translation_and_the_cross_mask_of_a_batch(arch_zoo):
    model = load_model(arch_zoo / "tiny-numbers")
    src = [4, 2, 7]
    t = translate_traced(model, src, BOS_ID, EOS_ID, num_beams=2, max_new_tokens=6)
    assert t.greedy == greedy_translate(model, [src], BOS_ID, EOS_ID, 6)[0]
    assert len(t.beams.hypotheses) <= 2 and t.beams.steps
    T = len(t.greedy)
    assert t.cross_attention.shape == (2, 2, T, len(src)) and t.self_attention.shape == (2, 2, T, T)
    b = cross_mask_batch(model, [[1, 2, 3], [4]], BOS_ID, EOS_ID)
    assert b.src_mask.tolist() == [[1, 1, 1], [0, 0, 1]] and (b.tgt[:, 0] == BOS_ID).all()
    want = b.tgt_mask.astype(bool)[:, :, None] & b.src_mask.astype(bool)[:, None, :]
    np.testing.assert_array_equal(b.cross, want)


def test_the_lr_schedule_samples_lr_at_where_the_curve_bends():
    s = TrainSettings(lr=1e-3, min_lr=1e-4, warmup=10, max_steps=200)
    steps, lrs = lr_schedule(s, 20)
    assert steps == sorted(set(steps)) and steps[0] == 0 and steps[-1] == 199
    assert {9, 10} <= set(steps)
    assert lrs == [lr_at(step, s) for step in steps]
    assert s.decay_steps == 200 and s.replace(lr_decay_steps=50).decay_steps == 50
