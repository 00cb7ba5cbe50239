"""Model directories: names, atomic writes, tied weights stored once, clear errors, no pickle."""

import json

import numpy as np
import pytest
from safetensors.numpy import load_file

from models import load_model, load_tokenizer, shipped_models
from models.config import GPTConfig
from models.weights import ModelFileError, gpt_param_shapes, init_gpt_params, save_gpt_dir

from helpers import model_dir

CFG = GPTConfig(vocab_size=20, block_size=8, n_layer=2, n_head=2, n_embd=8)


def test_tied_weights_are_stored_once_and_untied_have_a_head(tmp_path):
    tied = load_file(str(model_dir(tmp_path / "a", CFG) / "model.safetensors"))
    assert "lm_head.weight" not in tied and "transformer.wte.weight" in tied
    untied_cfg = CFG.replace(tie_weights=False)
    untied = load_file(str(model_dir(tmp_path / "b", untied_cfg) / "model.safetensors"))
    assert untied["lm_head.weight"].shape == (20, 8)
    assert set(untied) == set(gpt_param_shapes(untied_cfg))


def test_torch_twin_round_trips_its_parameters(tmp_path):
    d = model_dir(tmp_path, CFG)
    mt = load_model(d, "torch")
    assert mt.lm_head.weight.data_ptr() == mt.transformer["wte"].weight.data_ptr()
    saved = load_file(str(d / "model.safetensors"))
    arrays = mt.state_arrays()
    assert arrays.keys() == saved.keys()
    for k in saved:
        np.testing.assert_array_equal(arrays[k], saved[k])
    assert (
        mt.num_parameters() == load_model(d, "numpy").num_parameters() == sum(v.size for v in saved.values())
    )


def test_same_seed_same_initial_model():
    a, b = init_gpt_params(CFG, 3), init_gpt_params(CFG, 3)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["transformer.wte.weight"], init_gpt_params(CFG, 4)["transformer.wte.weight"])


def test_atomic_save_leaves_no_temporary_files(tmp_path):
    d = save_gpt_dir(
        tmp_path / "m", CFG, init_gpt_params(CFG), tokenizer_json={"kind": "char", "chars": list("ab")}
    )
    assert sorted(p.name for p in d.iterdir()) == ["config.json", "model.safetensors", "tokenizer.json"]
    assert load_tokenizer(d).decode([1, 0]) == "ba"


def test_broken_directories_give_errors_that_name_the_file(tmp_path):
    d = model_dir(tmp_path, CFG)
    (d / "model.safetensors").write_bytes(b"\x00garbage")
    with pytest.raises(ModelFileError, match=r"model\.safetensors"):
        load_model(d)
    d = model_dir(tmp_path / "x", CFG)
    (d / "config.json").write_text("{oops")
    with pytest.raises(ModelFileError, match=r"config\.json"):
        load_model(d)
    d = model_dir(tmp_path / "y", CFG)
    (d / "config.json").write_text(json.dumps({**CFG.to_hf_dict(), "n_embd": 16}))
    for backend in ("numpy", "torch"):
        with pytest.raises(
            ModelFileError, match=r"transformer.wte.weight has shape \(20, 8\), expected \(20, 16\)"
        ):
            load_model(d, backend)
    with pytest.raises(ModelFileError, match=r"tokenizer\.json"):
        load_tokenizer(d)


def test_unknown_names_list_the_shipped_models(monkeypatch, tmp_path):
    monkeypatch.setenv("PLAYGROUND_ZOO", str(tmp_path))
    model_dir(tmp_path, CFG)  # tmp_path/model-0
    assert shipped_models() == ["model-0"]
    with pytest.raises(ModelFileError, match="model-0"):
        load_model("no-such-model")
    assert load_model("model-0").config == CFG
    with pytest.raises(ValueError, match="backend"):
        load_model("model-0", backend="jax")
    with pytest.raises(ValueError, match="dtype"):
        load_model("model-0", dtype="float16")


def test_written_files_are_readable_by_others(tmp_path):
    d = model_dir(tmp_path, CFG)
    for f in ("config.json", "model.safetensors"):
        assert (d / f).stat().st_mode & 0o777 == 0o644
