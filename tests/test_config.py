import pytest

from models.config import PRESETS, GPTConfig, preset


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        ("n_embd", {"n_embd": 30, "n_head": 4}),
        ("norm", {"norm": "middle"}),
        ("pos", {"pos": "rotary"}),
        ("activation", {"activation": "swish"}),
        ("vocab_size", {"vocab_size": 0}),
        ("n_layer", {"n_layer": -1}),
        ("dropout", {"dropout": 1.5}),
        ("layer_norm_eps", {"layer_norm_eps": 0.0}),
        ("bias", {"bias": "yes"}),
    ],
)
def test_invalid_values_name_the_field(field, changes):
    with pytest.raises(ValueError, match=field):
        GPTConfig(**changes)


def test_presets_follow_the_seed_table():
    table = {name: (c["n_layer"], c["n_head"], c["n_embd"]) for name, c in PRESETS.items()}
    assert table == {"tiny": (2, 2, 32), "small": (4, 4, 64), "medium": (6, 6, 192), "large": (12, 8, 256)}
    cfg = preset("medium", vocab_size=100, block_size=64)
    assert (cfg.n_layer, cfg.head_size, cfg.vocab_size) == (6, 32, 100)
    with pytest.raises(ValueError, match="unknown preset"):
        preset("huge")


def test_config_is_frozen():
    cfg = GPTConfig()
    with pytest.raises(AttributeError):
        cfg.n_layer = 3  # type: ignore[misc]


@pytest.mark.parametrize("norm", ["pre", "post"])
@pytest.mark.parametrize("pos", ["learned", "sinusoidal"])
@pytest.mark.parametrize("activation", ["gelu", "relu"])
def test_hf_config_round_trip(norm, pos, activation):
    cfg = GPTConfig(
        vocab_size=77, block_size=40, norm=norm, pos=pos, activation=activation, tie_weights=False
    )
    assert GPTConfig.from_hf_dict(cfg.to_hf_dict()) == cfg


def test_plain_hf_gpt2_config_is_read_and_exact_gelu_refused():
    hf = {"model_type": "gpt2", "vocab_size": 10, "n_positions": 8, "n_embd": 4, "n_layer": 1, "n_head": 2}
    cfg = GPTConfig.from_hf_dict(hf)
    assert cfg.is_gpt2 and cfg.activation == "gelu"
    with pytest.raises(ValueError, match="activation_function"):
        GPTConfig.from_hf_dict({**hf, "activation_function": "gelu"})
    with pytest.raises(ValueError, match="n_positions"):
        GPTConfig.from_hf_dict({k: v for k, v in hf.items() if k != "n_positions"})
