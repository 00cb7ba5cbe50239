"""The architecture table: one entry per model family, read by everything that needs to know one.

Loading (``models.loading``), training (``models.training``), the server's registry and its routes
look an architecture up here instead of switching on its name, so a fifth architecture is one
``Architecture`` entry below plus its two twins. Twins are named as ``"module:Class"`` and imported
only when built, so reading the table never imports torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from models.config import EncDecConfig, EncoderConfig, GPTConfig, LSTMConfig
from models.weights import (
    ModelFileError,
    check_params,
    encdec_num_params,
    encdec_param_shapes,
    encoder_num_params,
    encoder_param_shapes,
    gpt_num_params,
    gpt_param_shapes,
    gpt_weight_problems,
    init_encdec_params,
    init_encoder_params,
    init_gpt_params,
    init_lstm_params,
    load_encdec_dir,
    load_encoder_dir,
    load_gpt_dir,
    load_lstm_dir,
    lstm_num_params,
    lstm_param_shapes,
    lstm_weight_problems,
    normalise_gpt_names,
)

Backend = Literal["torch", "numpy"]
BACKENDS: tuple[Backend, ...] = ("torch", "numpy")
ModelConfig = GPTConfig | LSTMConfig | EncoderConfig | EncDecConfig
Params = dict[str, np.ndarray]

# What a model does with its input: predict the next token, fill masked positions, or translate.
Kind = Literal["causal-lm", "masked-lm", "seq2seq"]
# Which explanation ``models.explain`` gives it (and the trace route sends): a stack of attention
# blocks, an encoder with a decoder and cross-attention, or recurrent gates and states.
Explanation = Literal["stack", "encoder-decoder", "recurrent"]


@dataclass(frozen=True)
class Architecture:
    name: str  # as config.json names it under "playground": {"architecture": …}
    label: str  # for people
    kind: Kind
    explanation: Explanation
    attention: bool  # has attention heads to show (layer × head pickers, attention maps)
    config: type[Any]  # the frozen config dataclass
    twins: Mapping[Backend, str]  # backend → "module:Class"
    load_dir: Callable[[Path], tuple[Any, Params]]  # a model directory → (config, parameters)
    init_params: Callable[[Any, int], Params]  # (config, seed) → GPT-2-style random parameters
    num_params: Callable[[Any], int]
    param_shapes: Callable[[Any], dict[str, tuple[int, ...]]]  # config → every stored name and its shape
    weight_problems: Callable[[Any, Mapping[str, tuple[int, ...]]], str]  # "" when the weights fit
    task: str  # what ``playground train`` teaches it unless told otherwise
    train_flags: tuple[str, ...]  # the config fields that ``playground train`` flags may set
    stored_names: Callable[[Mapping[str, Any]], dict[str, Any]] = dict  # file names → the twins' names

    def model_class(self, backend: Backend) -> type[Any]:
        """The twin class for ``backend``, imported now (the PyTorch one imports torch)."""
        if backend not in self.twins:
            raise ValueError(f"backend must be one of {', '.join(self.twins)}, got {backend!r}")
        module, cls = self.twins[backend].split(":")
        return getattr(importlib.import_module(module), cls)

    def build(
        self, config: Any, params: Params | None = None, backend: Backend = "numpy", seed: int = 0, **kw: Any
    ) -> Any:
        """A twin from ``params``, or from the seeded random initialisation when there are none."""
        return self.model_class(backend)(
            config, params if params is not None else self.init_params(config, seed), **kw
        )


def _shapes_fit(shapes_of: Callable[[Any], dict[str, tuple[int, ...]]]) -> Callable[..., str]:
    return lambda config, shapes: check_params(shapes_of(config), shapes)


ARCHITECTURES: dict[str, Architecture] = {
    a.name: a
    for a in (
        Architecture(
            name="gpt",
            label="GPT (decoder-only transformer)",
            kind="causal-lm",
            explanation="stack",
            attention=True,
            config=GPTConfig,
            twins={"torch": "models.gpt_torch:GPT", "numpy": "models.gpt_numpy:GPT"},
            load_dir=load_gpt_dir,
            init_params=init_gpt_params,
            num_params=gpt_num_params,
            param_shapes=gpt_param_shapes,
            weight_problems=gpt_weight_problems,
            stored_names=normalise_gpt_names,
            task="lm",
            train_flags=("block_size", "n_layer", "n_head", "n_embd", "norm", "pos", "activation", "dropout"),
        ),
        Architecture(
            name="lstm",
            label="LSTM (recurrent network)",
            kind="causal-lm",
            explanation="recurrent",
            attention=False,
            config=LSTMConfig,
            twins={"torch": "models.lstm_torch:LSTM", "numpy": "models.lstm_numpy:LSTM"},
            load_dir=load_lstm_dir,
            init_params=init_lstm_params,
            num_params=lstm_num_params,
            param_shapes=lstm_param_shapes,
            weight_problems=lstm_weight_problems,
            task="lm",
            train_flags=("block_size", "n_layer", "n_embd", "n_hidden", "dropout"),
        ),
        Architecture(
            name="encoder",
            label="Encoder (BERT-style masked LM)",
            kind="masked-lm",
            explanation="stack",
            attention=True,
            config=EncoderConfig,
            twins={"torch": "models.encoder_torch:MaskedLM", "numpy": "models.encoder_numpy:MaskedLM"},
            load_dir=load_encoder_dir,
            init_params=init_encoder_params,
            num_params=encoder_num_params,
            param_shapes=encoder_param_shapes,
            weight_problems=_shapes_fit(encoder_param_shapes),
            task="mlm",
            train_flags=("block_size", "n_layer", "n_head", "n_embd", "pos", "dropout"),
        ),
        Architecture(
            name="encoder-decoder",
            label="Encoder-decoder (translation)",
            kind="seq2seq",
            explanation="encoder-decoder",
            attention=True,
            config=EncDecConfig,
            twins={
                "torch": "models.encdec_torch:EncoderDecoder",
                "numpy": "models.encdec_numpy:EncoderDecoder",
            },
            load_dir=load_encdec_dir,
            init_params=init_encdec_params,
            num_params=encdec_num_params,
            param_shapes=encdec_param_shapes,
            weight_problems=_shapes_fit(encdec_param_shapes),
            task="numbers",
            train_flags=("n_enc_layer", "n_dec_layer", "n_head", "n_embd", "pos", "dropout"),
        ),
    )
}


def architecture(name: str) -> Architecture:
    """The table's entry for ``name``; an unknown name lists the known ones."""
    if name not in ARCHITECTURES:
        raise ModelFileError(f"architecture {name!r} is not known; known: {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[name]


def architecture_for(config: Any) -> Architecture:
    """The entry whose config class ``config`` is an instance of."""
    for a in ARCHITECTURES.values():
        if isinstance(config, a.config):
            return a
    raise TypeError(f"{type(config).__name__} is not the config of a known architecture")


def names_where(test: Callable[[Architecture], bool]) -> tuple[str, ...]:
    """Names of the architectures that pass ``test``, in table order."""
    return tuple(a.name for a in ARCHITECTURES.values() if test(a))


LANGUAGE_MODELS = names_where(lambda a: a.kind == "causal-lm")  # generate, score, sample
CAUSAL_TRANSFORMERS = names_where(lambda a: a.kind == "causal-lm" and a.attention)  # heads, caches


# Where a task model's answer ends: the text that stops its generation unless a request says
# otherwise (a "numbers" GPT writes one "1234=one thousand …\n" line). A model card's "stop" list
# takes precedence; a language model ("lm") writes on.
# tasks whose answers end with a newline (models/training/sequences.py and numbers)
TASK_STOPS: dict[str, tuple[str, ...]] = {
    name: ("\n",) for name in ("numbers", "copy", "reverse", "sort", "induction")
}


def default_stop(task: str, card: Mapping[str, Any] | None = None) -> tuple[str, ...]:
    """The stop strings of a model trained for ``task``: its card's "stop", else the task's."""
    if card and isinstance(card.get("stop"), list):
        return tuple(str(s) for s in card["stop"])
    return TASK_STOPS.get(task, ())
