"""Hugging Face ``transformers`` GPT-2 as the outside oracle for both twins (test-only dependency)."""

import inspect
import logging

import numpy as np
import pytest
import torch

from models import load_model
from models.config import GPTConfig

from helpers import TOL, assert_close, model_dir

transformers = pytest.importorskip("transformers")
logging.getLogger("transformers").setLevel(logging.ERROR)


def save_hf(model, directory):
    kwargs = {}
    if "safe_serialization" in inspect.signature(model.save_pretrained).parameters:
        kwargs["safe_serialization"] = True  # older transformers; newer ones only write safetensors
    model.save_pretrained(directory, **kwargs)
    assert (directory / "model.safetensors").is_file()
    return directory


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory):
    torch.manual_seed(0)
    cfg = transformers.GPT2Config(
        n_layer=3, n_head=4, n_embd=32, vocab_size=101, n_positions=40, bos_token_id=0, eos_token_id=0
    )
    model = transformers.GPT2LMHeadModel(cfg).eval()
    with torch.no_grad():  # make LayerNorms and biases non-trivial
        for p in model.parameters():
            if p.dim() == 1:
                p.add_(torch.randn_like(p) * 0.05)
    return save_hf(model, tmp_path_factory.mktemp("hf") / "gpt2"), model


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_hf_gpt2_directory_loads_unchanged_and_matches(hf_dir, backend, dtype):
    directory, hf = hf_dir
    ids = np.random.default_rng(0).integers(0, 101, (2, 40))
    ref_model = hf.double() if dtype == "float64" else hf.float()
    with torch.no_grad():
        ref = ref_model(torch.as_tensor(ids)).logits.numpy()
    model = load_model(directory, backend, dtype)
    with model.inference_context():
        out = np.asarray(model(ids))
    assert_close(f"{backend} {dtype} logits vs transformers", out, ref, TOL[dtype])
    hf.float()


def test_hf_kv_cache_matches_ours(hf_dir):
    directory, hf = hf_dir
    ids = np.random.default_rng(1).integers(0, 101, (1, 12))
    with torch.no_grad():
        out = hf(torch.as_tensor(ids[:, :8]), use_cache=True)
        step = hf(torch.as_tensor(ids[:, 8:9]), past_key_values=out.past_key_values).logits.numpy()
    model = load_model(directory, "numpy", "float32")
    _, past, _ = model.forward_cached(ids[:, :8])
    ours, _, _ = model.forward_cached(ids[:, 8:9], past)
    assert_close("cached step", ours, step, 1e-5)


def test_our_gpt2_style_checkpoint_is_a_valid_hf_directory(tmp_path):
    cfg = GPTConfig(vocab_size=57, block_size=24, n_layer=2, n_head=2, n_embd=16)
    directory = model_dir(tmp_path, cfg)
    hf = transformers.GPT2LMHeadModel.from_pretrained(directory).eval()
    ids = np.random.default_rng(2).integers(0, 57, (2, 24))
    with torch.no_grad():
        ref = hf(torch.as_tensor(ids)).logits.numpy()
    assert_close("transformers on our checkpoint", load_model(directory, "numpy")(ids), ref, 1e-5)
