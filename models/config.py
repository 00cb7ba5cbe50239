"""Model configuration: one frozen dataclass per architecture, named presets, and the
translation to and from a Hugging Face GPT-2 ``config.json``.

A project checkpoint whose options are GPT-2's own (pre-LN, learned positions, GELU, bias,
tied weights) writes a ``config.json`` that ``transformers`` reads as a plain GPT-2; the
options GPT-2 does not have are kept under the ``"playground"`` key, which ``transformers``
ignores.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Self

Norm = Literal["pre", "post"]
Pos = Literal["learned", "sinusoidal", "none"]
Activation = Literal["gelu", "relu"]

_CHOICES: dict[str, tuple[str, ...]] = {
    "norm": ("pre", "post"),
    "pos": ("learned", "sinusoidal", "none"),
    "activation": ("gelu", "relu"),
}

# Hugging Face activation names that are the tanh-approximated GELU (GPT-2's). The exact
# erf GELU ("gelu") is a different function and is refused rather than silently swapped.
_HF_GELU_TANH = ("gelu_new", "gelu_pytorch_tanh", "gelu_fast")


def _check_sizes(config: Any, int_fields: tuple[str, ...]) -> None:
    """Every one of ``int_fields`` is a positive integer; dropout is in [0, 1)."""
    for name in int_fields:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not 0.0 <= float(config.dropout) < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {config.dropout!r}")


def _check_transformer_fields(config: Any, int_fields: tuple[str, ...]) -> None:
    """The checks every transformer config shares: sizes, dropout, head split, choices, eps."""
    _check_sizes(config, int_fields)
    if config.n_embd % config.n_head != 0:
        raise ValueError(
            f"n_embd ({config.n_embd}) must be divisible by n_head ({config.n_head}) "
            "so that every head gets the same size"
        )
    for name, allowed in _CHOICES.items():  # fixed ones (an encoder's norm) are valid by definition
        value = getattr(config, name)
        if value not in allowed:
            raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    if not float(config.layer_norm_eps) > 0.0:
        raise ValueError(f"layer_norm_eps must be positive, got {config.layer_norm_eps!r}")


class ConfigDict:
    """What every config dataclass shares: a changed copy, a plain dict and back (an unknown field
    is refused, named with the class), and the ``config.json`` of a model directory, which names
    the model type and, under "playground", the architecture."""

    model_type: ClassVar[str]  # config.json's "model_type"
    architecture: ClassVar[str]  # config.json's "playground": {"architecture": …}

    def replace(self, **changes: Any) -> Self:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown {cls.__name__} field(s): {', '.join(unknown)}")
        return cls(**data)

    def to_hf_dict(self) -> dict[str, Any]:
        """The ``config.json`` of a model directory of this architecture."""
        return {
            "model_type": self.model_type,
            **self.to_dict(),
            "playground": {"architecture": self.architecture},
        }

    @classmethod
    def from_hf_dict(cls, data: dict[str, Any]) -> Self:
        """Read a ``config.json`` this project wrote: every field but "model_type" and "playground"."""
        return cls.from_dict({k: v for k, v in data.items() if k not in ("model_type", "playground")})


@dataclass(frozen=True)
class GPTConfig(ConfigDict):
    """Decoder-only transformer hyper-parameters (the FFN is always 4 × n_embd)."""

    vocab_size: int = 65
    block_size: int = 128  # longest context, in tokens
    n_layer: int = 2
    n_head: int = 2
    n_embd: int = 32
    norm: Norm = "pre"  # "pre": x + f(LN(x)) (GPT-2); "post": LN(x + f(x)) (2017 paper)
    pos: Pos = "learned"  # learned position table (wpe), fixed sinusoids, or none at all
    activation: Activation = "gelu"  # GELU (tanh approximation, as GPT-2) or ReLU
    bias: bool = True  # biases in linear layers and LayerNorms
    tie_weights: bool = True  # lm_head shares the token embedding matrix
    dropout: float = 0.0  # training only; both twins ignore it at inference
    layer_norm_eps: float = 1e-5

    def __post_init__(self) -> None:
        _check_transformer_fields(self, ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"))
        for name in ("bias", "tie_weights"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")

    @property
    def head_size(self) -> int:
        return self.n_embd // self.n_head

    @property
    def final_norm(self) -> bool:
        """Pre-LN stacks end with a LayerNorm (ln_f); post-LN blocks already end normalised."""
        return self.norm == "pre"

    @property
    def is_gpt2(self) -> bool:
        """True when every option is GPT-2's own, so ``transformers`` can load the checkpoint."""
        return (
            self.norm == "pre"
            and self.pos == "learned"
            and self.activation == "gelu"
            and self.bias
            and self.tie_weights
        )

    # -- Hugging Face GPT-2 config.json ----------------------------------------------------

    def to_hf_dict(self) -> dict[str, Any]:
        """A ``config.json`` that ``transformers.GPT2Config`` reads; extra options under "playground"."""
        return {
            "architectures": ["GPT2LMHeadModel"],
            "model_type": "gpt2",
            "vocab_size": self.vocab_size,
            "n_positions": self.block_size,
            "n_ctx": self.block_size,
            "n_embd": self.n_embd,
            "n_layer": self.n_layer,
            "n_head": self.n_head,
            "n_inner": None,
            "activation_function": "gelu_new" if self.activation == "gelu" else "relu",
            "resid_pdrop": self.dropout,
            "embd_pdrop": self.dropout,
            "attn_pdrop": self.dropout,
            "layer_norm_epsilon": self.layer_norm_eps,
            "tie_word_embeddings": self.tie_weights,
            "scale_attn_weights": True,
            "playground": {
                "architecture": "gpt",
                "norm": self.norm,
                "pos": self.pos,
                "bias": self.bias,
            },
        }

    @classmethod
    def from_hf_dict(cls, data: dict[str, Any]) -> GPTConfig:
        """Read a Hugging Face GPT-2 ``config.json`` (or one this project wrote)."""
        model_type = data.get("model_type", "gpt2")
        if model_type != "gpt2":
            raise ValueError(f"model_type must be 'gpt2' for a GPT checkpoint, got {model_type!r}")
        for key in ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head"):
            if key not in data:
                raise ValueError(f"config.json is missing {key!r}")
        n_inner = data.get("n_inner")
        if n_inner not in (None, 4 * data["n_embd"]):
            raise ValueError(f"n_inner must be 4 × n_embd ({4 * data['n_embd']}), got {n_inner}")
        act = data.get("activation_function", "gelu_new")
        if act in _HF_GELU_TANH:
            activation = "gelu"
        elif act == "relu":
            activation = "relu"
        else:
            raise ValueError(
                f"activation_function {act!r} is not supported; use one of "
                f"{', '.join((*_HF_GELU_TANH, 'relu'))}"
            )
        for key, supported in (
            ("scale_attn_weights", True),
            ("scale_attn_by_inverse_layer_idx", False),
            ("reorder_and_upcast_attn", False),
        ):
            if data.get(key, supported) != supported:
                raise ValueError(f"{key}={data[key]!r} is not supported (only {supported})")
        extra = data.get("playground", {})
        return cls(
            vocab_size=data["vocab_size"],
            block_size=data["n_positions"],
            n_layer=data["n_layer"],
            n_head=data["n_head"],
            n_embd=data["n_embd"],
            norm=extra.get("norm", "pre"),
            pos=extra.get("pos", "learned"),
            activation=activation,
            bias=extra.get("bias", True),
            tie_weights=data.get("tie_word_embeddings", True),
            dropout=float(data.get("resid_pdrop", 0.0)),
            layer_norm_eps=float(data.get("layer_norm_epsilon", 1e-5)),
        )


# Named presets (layers / heads / width); FFN is 4 × width. vocab and context come from the data.
PRESETS: dict[str, dict[str, int]] = {
    "tiny": {"n_layer": 2, "n_head": 2, "n_embd": 32},
    "small": {"n_layer": 4, "n_head": 4, "n_embd": 64},
    "medium": {"n_layer": 6, "n_head": 6, "n_embd": 192},
    "large": {"n_layer": 12, "n_head": 8, "n_embd": 256},
}


def preset(name: str, **overrides: Any) -> GPTConfig:
    """A ``GPTConfig`` from a named preset, with any field overridden."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return GPTConfig(**{**PRESETS[name], **overrides})


@dataclass(frozen=True)
class LSTMConfig(ConfigDict):
    """A character-level LSTM language model: embedding → L stacked LSTM layers → linear head.

    Gates follow PyTorch's ``nn.LSTM`` (order i, f, g, o; two bias vectors per layer), so one
    weight file runs in both twins. ``block_size`` is the longest text served at once: an LSTM
    has no position table, its state carries the context.
    """

    vocab_size: int = 65
    block_size: int = 256
    n_layer: int = 2
    n_embd: int = 64  # embedding width (the first layer's input)
    n_hidden: int = 128  # hidden and cell state width
    dropout: float = 0.0  # between layers, training only

    model_type = "playground-lstm"
    architecture = "lstm"

    def __post_init__(self) -> None:
        _check_sizes(self, ("vocab_size", "block_size", "n_layer", "n_embd", "n_hidden"))


@dataclass(frozen=True)
class EncoderConfig(ConfigDict):
    """An encoder-only (BERT-style) masked language model: bidirectional pre-LN blocks.

    The blocks are GPT's (pre-LN, GELU, biases, FFN 4 × n_embd); only the attention mask differs
    (padding only, no triangle). The class attributes below are those fixed options, read by the
    GPT twins' ``Block`` / ``MLP`` that the encoder twins reuse.
    """

    vocab_size: int = 65
    block_size: int = 128  # longest input, in tokens
    n_layer: int = 2
    n_head: int = 2
    n_embd: int = 32
    pos: Pos = "learned"  # learned position table (wpe) or fixed sinusoids
    dropout: float = 0.0  # training only
    layer_norm_eps: float = 1e-5

    norm = "pre"  # fixed: x + f(LN(x))
    activation = "gelu"  # fixed: GELU, tanh approximation
    bias = True  # fixed: biases in linear layers and LayerNorms
    model_type = "playground-encoder"
    architecture = "encoder"

    def __post_init__(self) -> None:
        _check_transformer_fields(self, ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"))

    @property
    def head_size(self) -> int:
        return self.n_embd // self.n_head


@dataclass(frozen=True)
class EncDecConfig(ConfigDict):
    """An encoder-decoder transformer (the 2017 layout, pre-LN): a bidirectional encoder reads the
    source; decoder blocks add cross-attention (queries from the target, keys and values from the
    encoder's output) between their masked self-attention and their MLP.

    Source and target have their own vocabularies, block sizes and embedding tables, unless
    ``share_embeddings`` (one table, which needs one vocabulary). The LM head is always tied to the
    target embedding. Fixed options as in ``EncoderConfig``.
    """

    src_vocab_size: int = 10
    tgt_vocab_size: int = 33
    src_block_size: int = 16  # longest source, in tokens
    tgt_block_size: int = 32  # longest target, BOS included
    n_enc_layer: int = 2
    n_dec_layer: int = 2
    n_head: int = 2
    n_embd: int = 32
    pos: Pos = "learned"
    share_embeddings: bool = False  # one embedding table for source and target
    dropout: float = 0.0  # training only
    layer_norm_eps: float = 1e-5

    norm = "pre"
    activation = "gelu"
    bias = True
    model_type = "playground-encoder-decoder"
    architecture = "encoder-decoder"

    def __post_init__(self) -> None:
        _check_transformer_fields(
            self,
            (
                "src_vocab_size",
                "tgt_vocab_size",
                "src_block_size",
                "tgt_block_size",
                "n_enc_layer",
                "n_dec_layer",
                "n_head",
                "n_embd",
            ),
        )
        if not isinstance(self.share_embeddings, bool):
            raise ValueError(f"share_embeddings must be true or false, got {self.share_embeddings!r}")
        if self.share_embeddings and self.src_vocab_size != self.tgt_vocab_size:
            raise ValueError(
                f"share_embeddings needs one vocabulary; src_vocab_size is {self.src_vocab_size}, "
                f"tgt_vocab_size {self.tgt_vocab_size}"
            )

    @property
    def head_size(self) -> int:
        return self.n_embd // self.n_head

    @property
    def block_size(self) -> int:
        """The decoder's context (what generation and beam search are limited by)."""
        return self.tgt_block_size

    @property
    def vocab_size(self) -> int:
        """The output vocabulary (the target's)."""
        return self.tgt_vocab_size

    def encoder_config(self) -> EncoderConfig:
        """The encoder half as an ``EncoderConfig`` (the encoder twins build it from this)."""
        return EncoderConfig(
            vocab_size=self.src_vocab_size,
            block_size=self.src_block_size,
            n_layer=self.n_enc_layer,
            n_head=self.n_head,
            n_embd=self.n_embd,
            pos=self.pos,
            dropout=self.dropout,
            layer_norm_eps=self.layer_norm_eps,
        )
