"""Whole-model parity of the twins on random weights: logits, every trace tensor, loss, cache, padding."""

import itertools

import numpy as np
import pytest
import torch

from models import gpt_numpy, gpt_torch, load_model
from models.batch import pad_batch
from models.config import PRESETS, GPTConfig, preset
from models.trace import Trace

from helpers import TOL, assert_close, assert_traces_close, assert_twins_mirror, model_dir

OPTIONS = [
    dict(zip(("norm", "pos", "activation", "tie_weights"), combo, strict=True))
    for combo in itertools.product(
        ("pre", "post"), ("learned", "sinusoidal", "none"), ("gelu", "relu"), (True, False)
    )
]


def twins(tmp_path, config, dtype, seed=0):
    d = model_dir(tmp_path, config, seed)
    return load_model(d, "numpy", dtype), load_model(d, "torch", dtype)


def compare(mn, mt, ids, dtype, padding_mask=None):
    ln, trn = mn.forward(ids, padding_mask, trace=True)
    with torch.no_grad():
        pm = None if padding_mask is None else torch.as_tensor(padding_mask)
        lt, trt = mt.forward(torch.as_tensor(ids), pm, trace=True)
    assert_close("logits", ln, lt.numpy(), TOL[dtype])
    assert_traces_close(trn.to_numpy(), trt.to_numpy(), TOL[dtype])
    return ln, trn


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(PRESETS))
def test_presets(tmp_path, name, dtype):
    cfg = preset(name, vocab_size=97, block_size=48)
    mn, mt = twins(tmp_path, cfg, dtype)
    ids = np.random.default_rng(0).integers(0, 97, (2, 48))
    compare(mn, mt, ids, dtype)
    targets = np.roll(ids, -1, axis=1)
    with torch.no_grad():
        assert (
            abs(mn.loss(ids, targets) - mt.loss(torch.as_tensor(ids), torch.as_tensor(targets)).item())
            <= TOL[dtype]
        )


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("opts", OPTIONS, ids=lambda o: "-".join(str(v) for v in o.values()))
def test_option_combinations(tmp_path, opts, dtype):
    cfg = GPTConfig(vocab_size=53, block_size=24, n_layer=3, n_head=4, n_embd=32, **opts)
    mn, mt = twins(tmp_path, cfg, dtype)
    ids = np.random.default_rng(1).integers(0, 53, (3, 24))
    logits, tr = compare(mn, mt, ids, dtype)
    assert tr.att_probs.shape == (3, 3, 4, 24, 24)
    assert tr.logit_lens.shape == (3, 3, 24, 53)
    assert_close("last lens = logits", tr.logit_lens[-1], logits, 0)


def test_bias_free_model(tmp_path):
    cfg = GPTConfig(vocab_size=20, block_size=8, n_layer=2, n_head=2, n_embd=8, bias=False)
    mn, mt = twins(tmp_path, cfg, "float64")
    compare(mn, mt, np.arange(16).reshape(2, 8) % 20, "float64")


def test_loss_is_cross_entropy_by_hand(tmp_path):
    cfg = GPTConfig(vocab_size=13, block_size=8, n_layer=1, n_head=1, n_embd=8)
    mn, _ = twins(tmp_path, cfg, "float64")
    ids = np.array([[1, 2, 3, 4, 5]])
    targets = np.array([[2, 3, 4, 5, -1]])  # the last position is ignored
    logits = mn(ids)[0]
    by_hand = np.mean([np.log(np.exp(logits[t]).sum()) - logits[t, targets[0, t]] for t in range(4)])
    assert mn.loss(ids, targets) == pytest.approx(by_hand, abs=1e-12)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("pos", ["learned", "sinusoidal", "none"])
def test_kv_cache_equals_recompute(tmp_path, backend, pos):
    cfg = GPTConfig(vocab_size=31, block_size=32, n_layer=2, n_head=2, n_embd=16, pos=pos)
    model = load_model(model_dir(tmp_path, cfg), backend, "float64")
    ids = np.random.default_rng(2).integers(0, 31, (2, 20))
    with model.inference_context():
        full = model.forward(ids)
        logits, past, _ = model.forward_cached(ids[:, :12])
        steps = [logits]
        for t in range(12, 20):
            logits, past, tr = model.forward_cached(ids[:, t : t + 1], past, trace=True)
            steps.append(logits)
    cached = np.concatenate([np.asarray(s) for s in steps], axis=1)
    assert_close("cached logits", cached, np.asarray(full), 1e-10)
    assert [tuple(k.shape) for k, _ in past] == [(2, 2, 20, 8)] * 2
    assert tuple(tr.att_probs.shape) == (2, 2, 2, 1, 20)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_padded_batch_equals_each_prompt_alone(tmp_path, backend):
    """Left-padded unequal prompts: each row's logits equal the unpadded run, pads get zero attention."""
    cfg = GPTConfig(vocab_size=29, block_size=16, n_layer=2, n_head=2, n_embd=16)
    model = load_model(model_dir(tmp_path, cfg), backend, "float64")
    prompts = [[3, 1, 4, 1, 5, 9], [2, 7], [1, 8, 2, 8]]
    ids, pad = pad_batch(prompts)
    T = ids.shape[1]
    np.testing.assert_array_equal(pad[1], [0, 0, 0, 0, 1, 1])
    with model.inference_context():
        logits, tr = model.forward(ids, pad, trace=True)
        tr = tr.to_numpy()
        for b, p in enumerate(prompts):
            alone = np.asarray(model.forward(np.array([p])))[0]
            assert_close(f"row {b}", np.asarray(logits)[b, T - len(p) :], alone, 1e-10)
            n_pad = T - len(p)
            assert (tr["att_probs"][:, b, :, :, :n_pad] == 0).all()
    # and the padded batch continues correctly through the KV cache
    with model.inference_context():
        _, past, _ = model.forward_cached(ids, None, pad)
        nxt = np.array([[5], [6], [7]])
        step, _, _ = model.forward_cached(nxt, past, np.concatenate([pad, np.ones((3, 1), int)], 1))
        for b, p in enumerate(prompts):
            alone = np.asarray(model.forward(np.array([[*p, int(nxt[b, 0])]])))[0, -1]
            assert_close(f"cached row {b}", np.asarray(step)[b, 0], alone, 1e-10)


def test_context_limit_is_a_clear_error(tmp_path):
    cfg = GPTConfig(vocab_size=10, block_size=4, n_layer=1, n_head=1, n_embd=4)
    mn, mt = twins(tmp_path, cfg, "float32")
    for m in (mn, mt):
        with pytest.raises(ValueError, match="context of 4"):
            m.forward(np.zeros((1, 5), dtype=int))


def test_twins_expose_the_same_public_names():
    assert_twins_mirror(gpt_numpy, gpt_torch, "GPT", extras=("use_cuda_graphs",))  # CUDA: the PyTorch twin's


def test_trace_fields_are_documented():
    assert Trace.field_names()[0] == "tok_emb" and "logit_lens" in Trace.field_names()
