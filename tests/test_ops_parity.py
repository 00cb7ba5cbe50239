"""Per-op parity of the twins, plus hand-computed values so that both being wrong also fails."""

import math

import numpy as np
import pytest
import torch

from models import gpt_numpy as gn
from models import gpt_torch as gt
from models.config import GPTConfig

from helpers import TOL, assert_close, random_params

DTYPES = ["float64", "float32"]


def pair(x, dtype):
    x = np.asarray(x, dtype=dtype)
    return x, torch.from_numpy(x.copy())


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax(dtype):
    x = np.random.default_rng(0).normal(0, 3, (4, 5, 7))
    x[0, 0, 3:] = -np.inf  # partly masked row
    x[0, 1, :] = -np.inf  # fully masked row → zeros, not NaN
    xn, xt = pair(x, dtype)
    a, b = gn.softmax(xn), gt.softmax(xt).numpy()
    assert_close("softmax", a, b, TOL[dtype])
    np.testing.assert_allclose(a[0, 1], 0.0)
    np.testing.assert_allclose(a[0, 0, 3:], 0.0)
    np.testing.assert_allclose(a[1:].sum(-1), 1.0, atol=TOL[dtype])
    # hand value: softmax([0, ln 3]) = [1/4, 3/4]
    np.testing.assert_allclose(gn.softmax(np.array([0.0, math.log(3)])), [0.25, 0.75], atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("with_bias", [True, False])
def test_layer_norm(dtype, with_bias):
    rng = np.random.default_rng(1)
    x, w, b = rng.normal(2, 3, (3, 6, 16)), rng.normal(1, 0.2, 16), rng.normal(0, 0.2, 16)
    args_n = [pair(v, dtype)[0] for v in (x, w, b)]
    args_t = [pair(v, dtype)[1] for v in (x, w, b)]
    if not with_bias:
        args_n[2] = args_t[2] = None
    a = gn.layer_norm(*args_n, eps=1e-5)
    assert_close("layer_norm", a, gt.layer_norm(*args_t, eps=1e-5).numpy(), TOL[dtype])
    # unit gain, no bias: mean 0 and biased variance 1 - eps/(var + eps)
    y = gn.layer_norm(x, None, None, 1e-5)
    np.testing.assert_allclose(y.mean(-1), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(-1), x.var(-1) / (x.var(-1) + 1e-5), atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gelu_is_the_tanh_approximation(dtype):
    x = np.linspace(-6, 6, 1001)
    xn, xt = pair(x, dtype)
    assert_close("gelu", gn.gelu(xn), gt.gelu(xt).numpy(), TOL[dtype])
    # the same function as torch's own tanh GELU, and measurably not the exact erf GELU
    exact_tanh = torch.nn.functional.gelu(torch.from_numpy(x), approximate="tanh").numpy()
    erf = torch.nn.functional.gelu(torch.from_numpy(x)).numpy()
    assert_close("gelu vs torch tanh", gn.gelu(x), exact_tanh, 1e-12)
    assert np.max(np.abs(gn.gelu(x) - erf)) > 1e-4
    np.testing.assert_allclose(gn.relu(np.array([-1.0, 0.0, 2.0])), [0, 0, 2])


def test_sinusoidal_positions_match_the_formula():
    pe = gn.sinusoidal_positions(np.arange(10), 8)
    p, i = 7, 3  # dimension pair 2i, 2i+1 with i = 3
    assert pe[p, 2 * i] == pytest.approx(math.sin(p / 10000 ** (2 * i / 8)))
    assert pe[p, 2 * i + 1] == pytest.approx(math.cos(p / 10000 ** (2 * i / 8)))
    assert_close("sinusoids", pe, gt.sinusoidal_positions(torch.arange(10), 8).numpy(), 1e-12)


def test_masks_and_positions_of_a_padded_batch():
    pad = np.array([[0, 0, 1, 1], [1, 1, 1, 1]])
    causal = np.tril(np.ones((8, 8), bool))
    m = gn.attention_mask(causal, pad, 2, 4, 0)
    np.testing.assert_array_equal(
        m, gt.attention_mask(torch.as_tensor(causal), torch.as_tensor(pad), 2, 4, 0)
    )
    assert not m[0, :, :2].any(), "padded keys are never visible"
    assert not m[0, :2].any(), "padded queries see nothing"
    np.testing.assert_array_equal(m[1], np.tril(np.ones((4, 4), bool)))
    np.testing.assert_array_equal(gn.position_ids(m), [[0, 0, 0, 1], [0, 1, 2, 3]])
    step = gn.attention_mask(causal, np.concatenate([pad, [[1], [1]]], 1), 2, 1, 4)  # one cached step
    np.testing.assert_array_equal(gn.position_ids(step), [[2], [4]])
    np.testing.assert_array_equal(gn.position_ids(step), gt.position_ids(torch.as_tensor(step)))


def modules(dtype, **opts):
    cfg = GPTConfig(vocab_size=11, block_size=16, n_layer=1, n_head=4, n_embd=16, **opts)
    params = random_params(cfg, seed=3)
    return cfg, gn.GPT(cfg, params, dtype), gt.GPT(cfg, params, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_attention(dtype):
    _, mn, mt = modules(dtype)
    x = np.random.default_rng(4).normal(0, 1, (2, 6, 16)).astype(dtype)
    pad = np.array([[0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]])
    mask_n = gn.attention_mask(mn.causal, pad, 2, 6, 0)
    yn, _, rn = mn.transformer["h"][0].attn(x, mask_n)
    with torch.no_grad():
        yt, _, rt = mt.transformer["h"][0].attn(torch.from_numpy(x), torch.from_numpy(mask_n))
    assert_close("attn.y", yn, yt.numpy(), TOL[dtype])
    for key in rn:
        assert_close(f"attn.{key}", rn[key], rt[key].numpy(), TOL[dtype])
    # by hand for one head: softmax(q k^T / sqrt(hs)) with the mask, then @ v
    q, k = rn["q"][1, 2], rn["k"][1, 2]
    s = q @ k.T / math.sqrt(4) + np.where(np.tril(np.ones((6, 6))) > 0, 0, -np.inf)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    assert_close("hand attention", rn["att_probs"][1, 2], p, TOL[dtype])
    assert (rn["att_probs"][0, :, :, 0] == 0).all(), "the padded key receives exactly zero attention"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("norm", ["pre", "post"])
@pytest.mark.parametrize("activation", ["gelu", "relu"])
def test_block(dtype, norm, activation):
    _, mn, mt = modules(dtype, norm=norm, activation=activation)
    x = np.random.default_rng(5).normal(0, 1, (2, 5, 16)).astype(dtype)
    mask = gn.attention_mask(mn.causal, None, 2, 5, 0)
    yn, _, rn = mn.transformer["h"][0](x, mask)
    with torch.no_grad():
        yt, _, rt = mt.transformer["h"][0](torch.from_numpy(x), torch.from_numpy(mask))
    assert_close("block.y", yn, yt.numpy(), TOL[dtype])
    for key in ("resid_mid", "mlp_act"):
        assert_close(f"block.{key}", rn[key], rt[key].numpy(), TOL[dtype])
