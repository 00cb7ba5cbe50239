"""The encoder-only (masked LM) twins: per-op and whole-model parity, bidirectional attention,
padding hidden exactly, the MLM head and loss by hand, the file layout, and the masking data."""

import json

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from models import encoder_numpy, encoder_torch, gpt_numpy, gpt_torch, load_model
from models.config import EncoderConfig
from models.mlm import MASK_CHAR, mask_tokens, with_mask_token
from models.tokenizer import CharTokenizer
from models.weights import (
    ModelFileError,
    encoder_num_params,
    encoder_param_shapes,
    init_encoder_params,
    save_model_dir,
)

from helpers import TOL, assert_close, assert_traces_close, assert_twins_mirror, jittered, public_names

CFG = EncoderConfig(vocab_size=23, block_size=16, n_layer=2, n_head=2, n_embd=16)


def encoder_dir(tmp_path, config=CFG, seed=0, jitter=0.1):
    params = jittered(init_encoder_params(config, seed), seed + 1000, jitter)
    return save_model_dir(tmp_path / f"encoder-{seed}", config, params)


def twins(tmp_path, dtype, config=CFG):
    d = encoder_dir(tmp_path, config)
    return load_model(d, "numpy", dtype), load_model(d, "torch", dtype)


def ids_of(B, T, seed=0, V=CFG.vocab_size):
    return np.random.default_rng(seed).integers(0, V, (B, T))


def run_torch(mt, ids, pm=None):
    with torch.no_grad():
        return mt.forward(torch.as_tensor(ids), None if pm is None else torch.as_tensor(pm), trace=True)


# -- per op ------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_ops_match(tmp_path, dtype):
    """Mask, positions, one attention, one block and the MLM head on random inputs, op by op."""
    mn, mt = twins(tmp_path, dtype)
    rng = np.random.default_rng(3)
    x = rng.normal(0, 1, (3, 7, CFG.n_embd)).astype(dtype)
    pm = np.array([[1] * 7, [1] * 4 + [0] * 3, [0] * 2 + [1] * 5])
    mask_n = encoder_numpy.encoder_mask(pm, 3, 7)
    mask_t = encoder_torch.encoder_mask(torch.as_tensor(pm), 3, 7)
    np.testing.assert_array_equal(mask_n, mask_t.numpy())
    np.testing.assert_array_equal(
        encoder_numpy.encoder_positions(pm, 3, 7), encoder_torch.encoder_positions(torch.as_tensor(pm), 3, 7)
    )
    bn, bt = mn.encoder.h[1], mt.encoder.h[1]
    with torch.no_grad():
        an, _, rn = bn.attn(x, mask_n)
        at, _, rt = bt.attn(torch.as_tensor(x), mask_t)
        assert_close("attention", an, at.numpy(), TOL[dtype])
        assert_close("attention probs", rn["att_probs"], rt["att_probs"].numpy(), TOL[dtype])
        yn, _, _ = bn(x, mask_n)
        yt, _, _ = bt(torch.as_tensor(x), mask_t)
        assert_close("block", yn, yt.numpy(), TOL[dtype])
        assert_close("mlm head", mn.head(x), mt.head(torch.as_tensor(x)).numpy(), TOL[dtype])


# -- whole model -------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("pos", ["learned", "sinusoidal"])
def test_whole_model_and_every_trace_tensor_match(tmp_path, dtype, pos):
    mn, mt = twins(tmp_path, dtype, CFG.replace(pos=pos))
    ids = ids_of(3, 16)
    pm = np.ones((3, 16), dtype=int)
    pm[1, 11:] = 0  # right padding
    pm[2, :5] = 0  # left padding
    ln, trn = mn.forward(ids, pm, trace=True)
    lt, trt = run_torch(mt, ids, pm)
    assert_close("logits", ln, lt.numpy(), TOL[dtype])
    assert_traces_close(trn.to_numpy(), trt.to_numpy(), TOL[dtype])
    assert trn.att_probs.shape == (2, 3, 2, 16, 16)
    assert trn.residual.shape == (3, 3, 16, 16) and trn.logit_lens.shape == (2, 3, 16, 23)
    assert_close("last lens = logits", trn.logit_lens[-1], ln, 0)
    ids_t = torch.as_tensor(ids)
    targets = np.where(np.random.default_rng(1).random(ids.shape) < 0.3, ids, -1)
    with torch.no_grad():
        lt_loss = mt.loss(ids_t, torch.as_tensor(targets), torch.as_tensor(pm)).item()
    assert abs(mn.loss(ids, targets, pm) - lt_loss) <= TOL[dtype]


def test_attention_is_bidirectional(tmp_path):
    """Changing the last token changes the first position's logits (a GPT's would not move)."""
    mn, _ = twins(tmp_path, "float64")
    ids = ids_of(1, 10, seed=4)
    other = ids.copy()
    other[0, -1] = (other[0, -1] + 1) % CFG.vocab_size
    _, tr = mn.forward(ids, trace=True)
    assert (tr.att_probs[:, 0, :, 0, 1:] > 0).all()  # the first query reads every later key
    assert np.abs(mn.forward(ids)[0, 0] - mn.forward(other)[0, 0]).max() > 1e-6
    np.testing.assert_allclose(tr.att_probs.sum(-1), 1.0, atol=1e-12)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_padded_keys_get_exactly_zero_and_a_padded_batch_equals_each_alone(tmp_path, backend):
    model = load_model(encoder_dir(tmp_path), backend, "float64")
    seqs = [[3, 1, 4, 1, 5, 9, 2], [2, 7], [1, 8, 2, 8]]
    T = 7
    for side in ("right", "left"):
        ids = np.zeros((3, T), dtype=int)
        pm = np.zeros((3, T), dtype=int)
        spans = []
        for b, s in enumerate(seqs):
            start = 0 if side == "right" else T - len(s)
            ids[b, start : start + len(s)] = s
            pm[b, start : start + len(s)] = 1
            spans.append(slice(start, start + len(s)))
        with model.inference_context():
            logits, tr = model.forward(ids, pm, trace=True)
            tr = tr.to_numpy()
            for b, s in enumerate(seqs):
                alone = np.asarray(model.forward(np.array([s])))[0]
                assert_close(f"{side} row {b}", np.asarray(logits)[b, spans[b]], alone, 1e-10)
                pad = pm[b] == 0
                assert (tr["att_probs"][:, b][..., pad] == 0).all()  # no query reads a padded key
                assert (tr["att_probs"][:, b][:, :, pad, :] == 0).all()  # a padded query reads nothing
                np.testing.assert_array_equal(tr["positions"][b, spans[b]], np.arange(len(s)))


def test_mlm_head_and_loss_by_hand(tmp_path):
    mn, mt = twins(tmp_path, "float64")
    ids = ids_of(2, 9, seed=5)
    logits, tr = mn.forward(ids, trace=True)
    params = {
        k: v.astype(np.float64)
        for k, v in load_file(str(tmp_path / "encoder-0" / "model.safetensors")).items()
    }
    h = tr.output @ params["mlm_head.dense.weight"] + params["mlm_head.dense.bias"]
    h = 0.5 * h * (1 + np.tanh(np.sqrt(2 / np.pi) * (h + 0.044715 * h**3)))
    h = (h - h.mean(-1, keepdims=True)) / np.sqrt(h.var(-1, keepdims=True) + CFG.layer_norm_eps)
    h = h * params["mlm_head.ln.weight"] + params["mlm_head.ln.bias"]
    by_hand = h @ params["encoder.wte.weight"].T + params["mlm_head.bias"]
    assert_close("mlm logits", logits, by_hand, 1e-12)
    targets = np.full(ids.shape, -1)
    targets[0, 2], targets[1, 7] = 4, 11  # only the masked positions are scored
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = -(logp[0, 2, 4] + logp[1, 7, 11]) / 2
    assert mn.loss(ids, targets) == pytest.approx(expected, abs=1e-12)
    with torch.no_grad():
        assert mt.loss(torch.as_tensor(ids), torch.as_tensor(targets)).item() == pytest.approx(
            expected, abs=1e-12
        )


# -- files and config ----------------------------------------------------------------------------


def test_file_layout_parameters_and_config(tmp_path):
    d = encoder_dir(tmp_path)
    saved = load_file(str(d / "model.safetensors"))
    assert set(saved) == set(encoder_param_shapes(CFG))
    assert "encoder.wte.weight" in saved and not any("decoder" in k for k in saved)  # tied: stored once
    raw = json.loads((d / "config.json").read_text())
    assert raw["model_type"] == "playground-encoder" and raw["playground"] == {"architecture": "encoder"}
    assert EncoderConfig.from_hf_dict(raw) == CFG
    mn, mt = load_model(d, "numpy"), load_model(d, "torch")
    assert type(mn).__name__ == type(mt).__name__ == "MaskedLM"
    assert (
        mn.num_parameters()
        == mt.num_parameters()
        == encoder_num_params(CFG)
        == sum(v.size for v in saved.values())
    )
    arrays = mt.state_arrays()
    assert arrays.keys() == saved.keys()
    assert all(np.array_equal(arrays[k], saved[k]) for k in saved)
    sinus = EncoderConfig(vocab_size=5, block_size=4, n_layer=1, n_head=1, n_embd=4, pos="sinusoidal")
    assert "encoder.wpe.weight" not in encoder_param_shapes(sinus)


def test_bad_configs_files_and_inputs(tmp_path):
    with pytest.raises(ValueError, match="divisible by n_head"):
        EncoderConfig(n_embd=10, n_head=3)
    with pytest.raises(ValueError, match="pos must be one of"):
        EncoderConfig(pos="rotary")
    with pytest.raises(ValueError, match="unknown EncoderConfig field"):
        EncoderConfig.from_dict({"norm": "post"})
    d = encoder_dir(tmp_path)
    (d / "config.json").write_text((d / "config.json").read_text().replace('"n_embd": 16', '"n_embd": 8'))
    with pytest.raises(ModelFileError, match="does not fit"):
        load_model(d)
    mn, mt = twins(tmp_path / "ok", "float32")
    for m in (mn, mt):
        with pytest.raises(ValueError, match="context of 16"):
            m.forward(np.zeros((1, 17), dtype=int))


def test_twins_expose_the_same_public_names():
    names = {"encoder_mask", "encoder_positions", "SelfAttention", "EncoderBlock", "MLMHead", "Encoder"}
    assert public_names(encoder_numpy) == {*names, "MaskedLM"}
    assert_twins_mirror(encoder_numpy, encoder_torch, "MaskedLM")
    # the GPT twin's pieces are reused, not copied
    for name in ("LayerNorm", "Conv1D", "CausalSelfAttention", "Block", "gelu", "embed_tokens"):
        assert getattr(encoder_numpy, name) is getattr(gpt_numpy, name)
        assert getattr(encoder_torch, name) is getattr(gpt_torch, name)


# -- masking data ---------------------------------------------------------------------------------


def test_mask_token_lives_in_the_vocabulary():
    tok, mask_id = with_mask_token(CharTokenizer.train("to be or not"))
    assert tok.chars[mask_id] == MASK_CHAR and mask_id == tok.vocab_size - 1
    assert tok.encode("to be") == CharTokenizer.train("to be or not").encode("to be")  # other ids kept
    assert with_mask_token(tok) == (tok, mask_id)


def test_bert_masking_recipe():
    rng = np.random.default_rng(0)
    V, mask_id = 30, 29
    ids = rng.integers(0, V - 1, (64, 128))
    pm = np.ones_like(ids)
    pm[:, 100:] = 0
    inputs, targets = mask_tokens(ids, mask_id, V, np.random.default_rng(1), p=0.15, padding_mask=pm)
    chosen = targets != -1
    assert not chosen[:, 100:].any() and chosen.any(axis=1).all()
    np.testing.assert_array_equal(targets[chosen], ids[chosen])
    np.testing.assert_array_equal(inputs[~chosen], ids[~chosen])  # unchosen tokens are untouched
    assert abs(chosen[:, :100].mean() - 0.15) < 0.01
    masked = (inputs == mask_id)[chosen].mean()
    kept = (inputs == ids)[chosen].mean()
    swapped = ((inputs != ids) & (inputs != mask_id))[chosen].mean()
    assert abs(masked - 0.8) < 0.03 and abs(kept - 0.1 - 0.1 / (V - 1)) < 0.03 and abs(swapped - 0.1) < 0.03
    again = mask_tokens(ids, mask_id, V, np.random.default_rng(1), p=0.15, padding_mask=pm)
    np.testing.assert_array_equal(again[0], inputs)  # same seed, same masking
