"""The LSTM twins: NumPy from the gate equations, PyTorch's nn.LSTM and its step-by-step twin agree."""

import numpy as np
import pytest
import torch

from models import load_model, lstm_numpy, lstm_torch
from models.config import LSTMConfig
from models.weights import init_lstm_params, lstm_num_params, save_model_dir

from helpers import TOL, assert_close, assert_twins_mirror, public_names

CFG = LSTMConfig(vocab_size=11, block_size=128, n_layer=2, n_embd=6, n_hidden=8)


def lstm_dir(tmp_path, config=CFG, seed=0):
    params = init_lstm_params(config, seed)
    rng = np.random.default_rng(seed + 1)
    params = {
        k: (v + rng.normal(0, 0.3, v.shape)).astype(np.float32) for k, v in params.items()
    }  # not just init
    return save_model_dir(tmp_path / "lstm", config, params)


def twins(tmp_path, dtype, config=CFG):
    d = lstm_dir(tmp_path, config)
    return load_model(d, "numpy", dtype), load_model(d, "torch", dtype)


def ids_of(B, T, seed=0, V=CFG.vocab_size):
    return np.random.default_rng(seed).integers(0, V, (B, T))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_numpy_twin_matches_nn_lstm_over_100_steps(tmp_path, dtype):
    mn, mt = twins(tmp_path, dtype)
    ids = ids_of(3, 100)
    ln, trn = mn.forward(ids, trace=True)
    with torch.no_grad():
        fast = mt.forward(torch.as_tensor(ids))  # nn.LSTM's fused kernel
        slow, trt = mt.forward(torch.as_tensor(ids), trace=True)  # the equations, step by step
    assert_close("logits (nn.LSTM)", ln, fast.numpy(), TOL[dtype])
    assert_close("logits (step by step)", ln, slow.numpy(), TOL[dtype])
    a, b = trn.to_numpy(), trt.to_numpy()
    for name in a:
        assert_close(name, a[name], b[name], TOL[dtype])
    assert a["hidden"].shape == (2, 3, 100, 8)


def test_one_step_by_hand(tmp_path):
    mn, _ = twins(tmp_path, "float64")
    ids = np.array([[4]])
    _, tr = mn.forward(ids, trace=True)
    p = {k: v.astype(np.float64) for k, v in init_params_of(mn).items()}
    x = p["wte.weight"][4]
    z = p["lstm.weight_ih_l0"] @ x + p["lstm.bias_ih_l0"] + p["lstm.bias_hh_l0"]  # h0 = 0
    H = CFG.n_hidden
    i, f, g, o = (1 / (1 + np.exp(-z[:H])), 1 / (1 + np.exp(-z[H : 2 * H])), np.tanh(z[2 * H : 3 * H]),
                  1 / (1 + np.exp(-z[3 * H :])))  # fmt: skip
    c = i * g  # c0 = 0
    h = o * np.tanh(c)
    t = tr.to_numpy()
    np.testing.assert_allclose(t["forget_gate"][0, 0, 0], f, atol=1e-12)
    np.testing.assert_allclose(t["cell"][0, 0, 0], c, atol=1e-12)
    np.testing.assert_allclose(t["hidden"][0, 0, 0], h, atol=1e-12)


def init_params_of(model):
    return {
        "wte.weight": model.wte.weight,
        "lstm.weight_ih_l0": model.lstm.weight_ih_l0,
        "lstm.bias_ih_l0": model.lstm.bias_ih_l0,
        "lstm.bias_hh_l0": model.lstm.bias_hh_l0,
    }


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_state_carried_equals_one_long_run(tmp_path, backend):
    d = lstm_dir(tmp_path)
    m = load_model(d, backend, "float64")
    ids = ids_of(2, 30, seed=3)
    with m.inference_context():
        whole = m.forward(ids)
        a, state, _ = m.forward_cached(ids[:, :17])
        b, _, _ = m.forward_cached(ids[:, 17:], state)
    got = np.concatenate([np.asarray(a), np.asarray(b)], axis=1)
    assert_close("logits", np.asarray(whole), got, 1e-10)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_left_padding_leaves_the_state_at_zero(tmp_path, backend):
    m = load_model(lstm_dir(tmp_path), backend, "float64")
    short = ids_of(1, 5, seed=4)
    padded = np.concatenate([np.zeros((1, 3), dtype=int), short], axis=1)
    mask = np.array([[0, 0, 0, 1, 1, 1, 1, 1]])
    with m.inference_context():
        alone = np.asarray(m.forward(short))
        batch = np.asarray(m.forward(padded, mask if backend == "numpy" else torch.as_tensor(mask)))
    assert_close("padded logits", alone, batch[:, 3:], 1e-10)


def test_loss_and_parameter_count(tmp_path):
    mn, mt = twins(tmp_path, "float64")
    ids = ids_of(2, 20, seed=5)
    targets = np.roll(ids, -1, axis=1)
    targets[:, -1] = -1
    logits = mn.forward(ids)
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    by_hand = -np.mean([logp[b, t, targets[b, t]] for b in range(2) for t in range(19)])
    assert mn.loss(ids, targets) == pytest.approx(by_hand, abs=1e-10)
    with torch.no_grad():
        assert float(mt.loss(torch.as_tensor(ids), torch.as_tensor(targets))) == pytest.approx(
            by_hand, abs=1e-10
        )
    assert mn.num_parameters() == mt.num_parameters() == lstm_num_params(CFG)


def test_a_file_of_another_shape_is_refused(tmp_path):
    d = lstm_dir(tmp_path)
    bigger = CFG.replace(n_hidden=9)
    (d / "config.json").write_text((d / "config.json").read_text().replace('"n_hidden": 8', '"n_hidden": 9'))
    with pytest.raises(Exception, match=r"lstm\.weight_hh_l0 has shape"):
        load_model(d, "numpy")
    assert bigger.n_hidden == 9


def test_twins_expose_the_same_public_names():
    assert public_names(lstm_numpy) == {"sigmoid", "LSTMLayer", "LSTM"}
    assert_twins_mirror(lstm_numpy, lstm_torch, "LSTM", extras={"layer"})


def test_config_is_checked():
    with pytest.raises(ValueError, match="n_hidden must be a positive integer"):
        LSTMConfig(n_hidden=0)
    with pytest.raises(ValueError, match="unknown LSTMConfig field"):
        LSTMConfig.from_dict({"n_heads": 2})
