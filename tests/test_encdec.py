"""The encoder-decoder twins: per-op and whole-model parity, padding in self- and cross-attention,
the decoder's KV cache, greedy and beam decoding, the file layout."""

import json

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from models import encdec_numpy, encdec_torch, encoder_numpy, encoder_torch, gpt_numpy, gpt_torch, load_model
from models.beam import log_softmax
from models.config import EncDecConfig
from models.generate import TokenEvent, generate
from models.sampling import SamplingParams
from models.seq2seq import BoundDecoder, beam_translate, greedy_translate
from models.weights import (
    ModelFileError,
    encdec_num_params,
    encdec_param_shapes,
    init_encdec_params,
    save_model_dir,
)

from helpers import TOL, assert_close, assert_traces_close, assert_twins_mirror, jittered, public_names

CFG = EncDecConfig(
    src_vocab_size=11,
    tgt_vocab_size=13,
    src_block_size=8,
    tgt_block_size=12,
    n_enc_layer=2,
    n_dec_layer=2,
    n_head=2,
    n_embd=16,
)
BOS, EOS = 1, 2


def encdec_dir(tmp_path, config=CFG, seed=0, jitter=0.1):
    params = jittered(init_encdec_params(config, seed), seed + 1000, jitter)
    return save_model_dir(tmp_path / f"encdec-{seed}", config, params)


def twins(tmp_path, dtype, config=CFG, jitter=0.1):
    d = encdec_dir(tmp_path, config, jitter=jitter)
    return load_model(d, "numpy", dtype), load_model(d, "torch", dtype)


def rand_ids(shape, V, seed):
    return np.random.default_rng(seed).integers(0, V, shape)


def t(x):
    return None if x is None else torch.as_tensor(x)


# -- per op ------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_ops_match(tmp_path, dtype):
    """The cross mask, cross-attention and a whole decoder block on random inputs."""
    mn, mt = twins(tmp_path, dtype)
    rng = np.random.default_rng(3)
    x = rng.normal(0, 1, (2, 5, 16)).astype(dtype)
    memory = rng.normal(0, 1, (2, 7, 16)).astype(dtype)
    src_pm = np.array([[1] * 7, [1] * 4 + [0] * 3])
    tgt_pm = np.array([[1] * 5, [1] * 3 + [0] * 2])
    cm_n = encdec_numpy.cross_attention_mask(src_pm, tgt_pm, 2, 5, 7)
    cm_t = encdec_torch.cross_attention_mask(t(src_pm), t(tgt_pm), 2, 5, 7)
    np.testing.assert_array_equal(cm_n, cm_t.numpy())
    assert not cm_n[1, :, 4:].any() and not cm_n[1, 3:].any() and cm_n[0].all()
    causal = np.tril(np.ones((5, 5), dtype=bool))
    mask = gpt_numpy.attention_mask(causal, tgt_pm, 2, 5, 0)
    bn, bt = mn.decoder.h[1], mt.decoder.h[1]
    with torch.no_grad():
        kv_n = bn.crossattention.kv(memory)
        kv_t = bt.crossattention.kv(t(memory))
        assert_close("cross k", kv_n[0], kv_t[0].numpy(), TOL[dtype])
        cn, rn = bn.crossattention(x, cm_n, kv_n)
        ct, rt = bt.crossattention(t(x), cm_t, kv_t)
        assert_close("cross-attention", cn, ct.numpy(), TOL[dtype])
        assert_close("cross probs", rn["cross_probs"], rt["cross_probs"].numpy(), TOL[dtype])
        yn, _, _ = bn(x, mask, kv_n, cm_n)
        yt, _, _ = bt(t(x), t(mask), kv_t, cm_t)
        assert_close("decoder block", yn, yt.numpy(), TOL[dtype])


# -- whole model -------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "opts", [{}, {"pos": "sinusoidal"}, {"share_embeddings": True, "tgt_vocab_size": 11, "n_dec_layer": 3}]
)
def test_whole_model_and_every_trace_tensor_match(tmp_path, dtype, opts):
    cfg = CFG.replace(**opts)
    mn, mt = twins(tmp_path, dtype, cfg)
    src = rand_ids((3, 8), 11, 0)
    tgt = rand_ids((3, 12), cfg.tgt_vocab_size, 1)
    src_pm = np.ones((3, 8), dtype=int)
    src_pm[1, 5:] = 0
    src_pm[2, :3] = 0
    tgt_pm = np.ones((3, 12), dtype=int)
    tgt_pm[2, 9:] = 0
    ln, trn = mn.forward(src, tgt, src_pm, tgt_pm, trace=True)
    with torch.no_grad():
        lt, trt = mt.forward(t(src), t(tgt), t(src_pm), t(tgt_pm), trace=True)
    assert_close("logits", ln, lt.numpy(), TOL[dtype])
    a, b = trn.to_numpy(), trt.to_numpy()
    assert_traces_close(a, b, TOL[dtype])
    L = cfg.n_dec_layer
    assert a["encoder.att_probs"].shape == (2, 3, 2, 8, 8)
    assert a["decoder.att_probs"].shape == (L, 3, 2, 12, 12)
    assert a["decoder.cross_probs"].shape == (L, 3, 2, 12, 8)
    assert "encoder.logits" not in a  # the encoder of an encoder-decoder has no head
    assert_close("last lens = logits", a["decoder.logit_lens"][-1], ln, 0)
    tgt_out = np.where(tgt_pm == 1, np.roll(tgt, -1, axis=1), -1)
    with torch.no_grad():
        loss_t = mt.loss(t(src), t(tgt), t(tgt_out), t(src_pm), t(tgt_pm)).item()
    assert abs(mn.loss(src, tgt, tgt_out, src_pm, tgt_pm) - loss_t) <= TOL[dtype]


def test_loss_by_hand(tmp_path):
    mn, _ = twins(tmp_path, "float64")
    src, tgt_in = np.array([[3, 4, 5]]), np.array([[BOS, 7, 8, 9]])
    tgt_out = np.array([[7, 8, -1, EOS]])
    logp = log_softmax(mn(src, tgt_in))[0]
    expected = -(logp[0, 7] + logp[1, 8] + logp[3, EOS]) / 3
    assert mn.loss(src, tgt_in, tgt_out) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_padding_gets_exactly_zero_and_a_padded_batch_equals_each_alone(tmp_path, backend):
    model = load_model(encdec_dir(tmp_path), backend, "float64")
    sources = [[3, 1, 4, 1, 5, 9], [2, 7], [1, 8, 2, 8]]
    targets = [[BOS, 5, 6, 7, 8], [BOS, 9], [BOS, 3, 3]]
    S, T = 6, 5
    src, src_pm = np.zeros((3, S), int), np.zeros((3, S), int)
    tgt, tgt_pm = np.zeros((3, T), int), np.zeros((3, T), int)
    for b, (s, g) in enumerate(zip(sources, targets, strict=True)):
        src[b, S - len(s) :], src_pm[b, S - len(s) :] = s, 1  # sources left-padded
        tgt[b, : len(g)], tgt_pm[b, : len(g)] = g, 1  # targets right-padded
    with model.inference_context():
        logits, tr = model.forward(src, tgt, src_pm, tgt_pm, trace=True)
        tr = tr.to_numpy()
        for b, (s, g) in enumerate(zip(sources, targets, strict=True)):
            alone = np.asarray(model.forward(np.array([s]), np.array([g])))[0]
            assert_close(f"row {b}", np.asarray(logits)[b, : len(g)], alone, 1e-10)
            src_pad, tgt_pad = src_pm[b] == 0, tgt_pm[b] == 0
            assert (tr["encoder.att_probs"][:, b][..., src_pad] == 0).all()  # encoder self-attention
            assert (tr["decoder.cross_probs"][:, b][..., src_pad] == 0).all()  # cross-attention
            assert (tr["decoder.att_probs"][:, b][..., tgt_pad] == 0).all()  # decoder self-attention
            real = tr["decoder.cross_probs"][:, b][:, :, ~tgt_pad]
            np.testing.assert_allclose(real.sum(-1), 1.0, atol=1e-12)


# -- the decoder's KV cache ----------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("pos", ["learned", "sinusoidal"])
def test_kv_cache_equals_recompute(tmp_path, backend, pos):
    model = load_model(encdec_dir(tmp_path, CFG.replace(pos=pos)), backend, "float64")
    src = rand_ids((2, 7), 11, 2)
    src_pm = np.array([[1] * 7, [1] * 5 + [0] * 2])
    tgt = rand_ids((2, 11), 13, 3)
    with model.inference_context():
        full = np.asarray(model.forward(src, tgt, src_pm))
        memory = model.encode(src, src_pm)
        logits, past, _ = model.decode_cached(tgt[:, :4], memory, src_pm)
        steps, cross_k = [logits], past[0][2]
        for i in range(4, 11):
            logits, past, tr = model.decode_cached(tgt[:, i : i + 1], None, src_pm, past, trace=True)
            steps.append(logits)
            assert past[0][2] is cross_k  # cross-attention keys computed once per source
    cached = np.concatenate([np.asarray(s) for s in steps], axis=1)
    assert_close("cached logits", cached, full, 1e-10)
    assert [tuple(x.shape) for x in past[1]] == [(2, 2, 11, 8), (2, 2, 11, 8), (2, 2, 7, 8), (2, 2, 7, 8)]
    assert tuple(tr.att_probs.shape) == (2, 2, 2, 1, 11) and tuple(tr.cross_probs.shape) == (2, 2, 2, 1, 7)
    np.testing.assert_array_equal(np.asarray(tr.positions), [[10], [10]])
    reordered = model.reorder_past(past, np.array([1, 1, 0]))
    assert all(
        np.array_equal(np.asarray(r[j][0]), np.asarray(p[j][1]))
        for r, p in zip(reordered, past, strict=True)
        for j in range(4)
    )


def test_decoding_errors(tmp_path):
    mn, mt = twins(tmp_path, "float32")
    for m in (mn, mt):
        with m.inference_context():
            with pytest.raises(ValueError, match="needs the encoder's output"):
                m.decode_cached(np.array([[BOS]]), None)
            with pytest.raises(ValueError, match="context of 12"):
                m.forward(np.array([[1]]), np.zeros((1, 13), dtype=int))
            with pytest.raises(ValueError, match="context of 8"):
                m.encode(np.zeros((1, 9), dtype=int))


# -- greedy and beam decoding ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def peaked(tmp_path_factory):
    d = encdec_dir(tmp_path_factory.mktemp("beam"), jitter=0.5)  # sharper distributions
    return load_model(d, "numpy", "float64"), load_model(d, "torch", "float64")


SOURCES = [[3, 1, 4], [1, 5, 9, 2, 6], [5], [3, 5, 8, 9]]


def seq_logprob(model, src, ids):
    """Σ log p(ids | src, BOS) by one teacher-forced forward."""
    logp = log_softmax(np.asarray(model(np.array([src]), np.array([[BOS, *ids[:-1]]]))))[0]
    return sum(logp[i, tok] for i, tok in enumerate(ids))


@pytest.mark.parametrize("backend", [0, 1])
def test_one_beam_is_greedy_and_a_batch_is_each_alone(peaked, backend):
    model = peaked[backend]
    batch = greedy_translate(model, SOURCES, BOS, EOS, max_new_tokens=8)
    for src, out in zip(SOURCES, batch, strict=True):
        assert greedy_translate(model, [src], BOS, EOS, max_new_tokens=8) == [out]
        result = beam_translate(model, src, BOS, EOS, num_beams=1, max_new_tokens=8)
        assert result.best.ids == out
        assert all(len(s.beams) + len(s.finished) >= 1 for s in result.steps)
    assert len({tuple(o) for o in batch}) > 1  # the source matters


def test_greedy_stops_at_eos_and_at_the_context(peaked):
    model = peaked[0]
    outs = greedy_translate(model, SOURCES, BOS, EOS)
    for out in outs:
        assert (EOS in out and out.index(EOS) == len(out) - 1) or len(out) == CFG.tgt_block_size
    any_token = greedy_translate(model, SOURCES, BOS, eos_id=-1)  # never stops early
    assert all(len(o) == CFG.tgt_block_size for o in any_token)


@pytest.mark.parametrize("alpha", [0.0, 1.0, 2.0])
def test_beam_scores_match_a_hand_computation(peaked, alpha):
    model = peaked[0]
    result = beam_translate(model, SOURCES[1], BOS, EOS, num_beams=3, max_new_tokens=6, length_penalty=alpha)
    assert len(result.hypotheses) == 3
    for h in result.hypotheses:
        lp = seq_logprob(model, SOURCES[1], h.ids)
        assert h.logprob == pytest.approx(lp, abs=1e-9)
        assert h.score == pytest.approx(lp / len(h.ids) ** alpha, abs=1e-9)
        assert not h.finished or h.ids[-1] == EOS
    scores = [h.score for h in result.hypotheses]
    assert scores == sorted(scores, reverse=True)
    for step in result.steps:  # every step's beams are reported, best first, none holding EOS
        assert [b.logprob for b in step.beams] == sorted((b.logprob for b in step.beams), reverse=True)
        assert all(EOS not in b.ids for b in step.beams)


def test_beam_backends_agree(peaked):
    a = beam_translate(peaked[0], SOURCES[3], BOS, EOS, num_beams=3, max_new_tokens=6, length_penalty=0.7)
    b = beam_translate(peaked[1], SOURCES[3], BOS, EOS, num_beams=3, max_new_tokens=6, length_penalty=0.7)
    assert [h.ids for h in a.hypotheses] == [h.ids for h in b.hypotheses]
    np.testing.assert_allclose([h.score for h in a.hypotheses], [h.score for h in b.hypotheses], atol=1e-9)


def test_generate_streams_through_the_bound_decoder(peaked):
    model = peaked[1]
    events = list(generate(BoundDecoder(model, SOURCES[0]), [BOS], 6, SamplingParams(temperature=0)))
    ids = [e.id for e in events if isinstance(e, TokenEvent)]
    assert ids == greedy_translate(model, [SOURCES[0]], BOS, eos_id=-1, max_new_tokens=6)[0]


def test_a_generation_through_the_bound_decoder_slides_past_its_context(peaked):
    """Past the decoder's 12 target positions the window slides, as a GPT's does, on both twins alike."""
    runs = []
    for model in peaked:
        events = list(generate(BoundDecoder(model, SOURCES[0]), [BOS], 30, SamplingParams(temperature=0)))
        runs.append([e.id for e in events if isinstance(e, TokenEvent)])
        assert events[-1].reason == "length" and max(e.window_start for e in events[:-1]) > 0
    assert len(runs[0]) == 30 and runs[0] == runs[1]


# -- files and config ----------------------------------------------------------------------------


def test_file_layout_parameters_and_config(tmp_path):
    d = encdec_dir(tmp_path)
    saved = load_file(str(d / "model.safetensors"))
    assert set(saved) == set(encdec_param_shapes(CFG))
    assert saved["decoder.h.0.crossattention.c_attn.weight"].shape == (16, 32)
    assert saved["decoder.h.1.crossattention.q_attn.weight"].shape == (16, 16)
    assert "lm_head.weight" not in saved  # tied to decoder.wte.weight
    raw = json.loads((d / "config.json").read_text())
    assert raw["model_type"] == "playground-encoder-decoder"
    assert raw["playground"] == {"architecture": "encoder-decoder"}
    assert EncDecConfig.from_hf_dict(raw) == CFG
    mn, mt = load_model(d, "numpy"), load_model(d, "torch")
    total = sum(v.size for v in saved.values())
    assert mn.num_parameters() == mt.num_parameters() == encdec_num_params(CFG) == total
    arrays = mt.state_arrays()
    assert arrays.keys() == saved.keys() and all(np.array_equal(arrays[k], saved[k]) for k in saved)
    shared = CFG.replace(tgt_vocab_size=11, share_embeddings=True)
    names = encdec_param_shapes(shared)
    assert "encoder.wte.weight" in names and "decoder.wte.weight" not in names  # stored once
    ms = load_model(encdec_dir(tmp_path / "s", shared), "torch")
    assert ms.decoder.wte.weight.data_ptr() == ms.encoder.wte.weight.data_ptr()


def test_bad_configs_and_files(tmp_path):
    with pytest.raises(ValueError, match="share_embeddings needs one vocabulary"):
        CFG.replace(share_embeddings=True)
    with pytest.raises(ValueError, match="n_dec_layer must be a positive integer"):
        CFG.replace(n_dec_layer=0)
    with pytest.raises(ValueError, match="unknown EncDecConfig field"):
        EncDecConfig.from_dict({"vocab_size": 3})
    d = encdec_dir(tmp_path)
    (d / "config.json").write_text(
        (d / "config.json").read_text().replace('"n_dec_layer": 2', '"n_dec_layer": 3')
    )
    with pytest.raises(ModelFileError, match=r"missing decoder\.h\.2\."):
        load_model(d)


def test_twins_expose_the_same_public_names():
    names = {"cross_attention_mask", "CrossAttention", "DecoderBlock", "Decoder", "EncoderDecoder"}
    assert public_names(encdec_numpy) == names
    assert_twins_mirror(encdec_numpy, encdec_torch, "EncoderDecoder")
    # the encoder and GPT pieces are reused, not copied
    assert encdec_numpy.Encoder is encoder_numpy.Encoder and encdec_torch.Encoder is encoder_torch.Encoder
    for name in ("Block", "attention_mask", "softmax", "position_ids"):
        assert getattr(encdec_numpy, name) is getattr(gpt_numpy, name)
        assert getattr(encdec_torch, name) is getattr(gpt_torch, name)
