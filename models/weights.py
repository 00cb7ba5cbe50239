"""Model directories on disk: ``config.json`` + ``model.safetensors`` (+ ``tokenizer.json``, ``card.json``).

Parameter names are GPT-2 / Hugging Face's, so a ``transformers`` GPT-2 directory loads as it is
and a checkpoint with GPT-2's options is itself a valid Hugging Face GPT-2 directory. A tied
matrix is stored once. Files are written atomically (temporary file, then rename) and nothing
here unpickles: safetensors and JSON only.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

from models.config import ConfigDict, EncDecConfig, EncoderConfig, GPTConfig, LSTMConfig

Config = TypeVar("Config", bound=ConfigDict)

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
TOKENIZER_FILE = "tokenizer.json"
CARD_FILE = "card.json"

FILE_MODE = 0o644  # written files are readable by everyone, writable by their owner

# Buffers that older ``transformers`` versions saved with GPT-2 (the causal mask); not parameters.
_HF_BUFFERS = (".attn.bias", ".attn.masked_bias")


class ModelFileError(ValueError):
    """A model directory that cannot be read: the message names the file and what is wrong."""


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, flush it to disk, then rename over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, FILE_MODE)  # mkstemp makes owner-only files; models are meant to be shared
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode())


def save_safetensors(
    path: Path, arrays: Mapping[str, np.ndarray], metadata: dict[str, str] | None = None
) -> None:
    """Save arrays as safetensors atomically (``format: pt`` so ``transformers`` accepts the file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        save_file(
            {k: np.ascontiguousarray(v) for k, v in arrays.items()},
            tmp,
            metadata={"format": "pt", **(metadata or {})},
        )
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path} is missing")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelFileError(f"{path} is not valid JSON: {e}") from e
    if not isinstance(data, dict):
        raise ModelFileError(f"{path} must hold a JSON object")
    return data


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a safetensors file, read one at a time (no second copy of the whole file)."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path} is missing")
    try:
        with safe_open(str(path), framework="np") as f:
            return {name: f.get_tensor(name) for name in f.keys()}
    except Exception as e:  # safetensors raises its own error types for corrupt headers/data
        raise ModelFileError(f"{path} is not a readable safetensors file: {e}") from e


def architecture_of(config_dict: Mapping[str, Any]) -> str:
    """Which model family a ``config.json`` describes (a plain HF GPT-2 config is "gpt")."""
    return str(config_dict.get("playground", {}).get("architecture", "gpt"))


def normalise_gpt_names(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Accept GPT2LMHeadModel names as they are and GPT2Model names (no ``transformer.``)."""
    out = {}
    for name, value in arrays.items():
        if name.endswith(_HF_BUFFERS):
            continue
        if name != "lm_head.weight" and not name.startswith("transformer."):
            name = "transformer." + name
        out[name] = value
    return out


def gpt_param_shapes(config: GPTConfig) -> dict[str, tuple[int, ...]]:
    """Every stored parameter of a GPT and its shape (a tied lm_head is not listed)."""
    C, V = config.n_embd, config.vocab_size
    shapes: dict[str, tuple[int, ...]] = {"transformer.wte.weight": (V, C)}
    if config.pos == "learned":
        shapes["transformer.wpe.weight"] = (config.block_size, C)
    layer = {
        "ln_1.weight": (C,),
        "ln_1.bias": (C,),
        "attn.c_attn.weight": (C, 3 * C),
        "attn.c_attn.bias": (3 * C,),
        "attn.c_proj.weight": (C, C),
        "attn.c_proj.bias": (C,),
        "ln_2.weight": (C,),
        "ln_2.bias": (C,),
        "mlp.c_fc.weight": (C, 4 * C),
        "mlp.c_fc.bias": (4 * C,),
        "mlp.c_proj.weight": (4 * C, C),
        "mlp.c_proj.bias": (C,),
    }
    for i in range(config.n_layer):
        for name, shape in layer.items():
            if config.bias or not name.endswith(".bias"):
                shapes[f"transformer.h.{i}.{name}"] = shape
    if config.final_norm:
        shapes["transformer.ln_f.weight"] = (C,)
        if config.bias:
            shapes["transformer.ln_f.bias"] = (C,)
    if not config.tie_weights:
        shapes["lm_head.weight"] = (V, C)
    return shapes


def check_params(expected: Mapping[str, tuple[int, ...]], shapes: Mapping[str, tuple[int, ...]]) -> str:
    """What is missing, unexpected or mis-shaped among stored ``shapes`` (empty when they fit)."""
    problems = []
    missing = sorted(set(expected) - set(shapes))
    extra = sorted(set(shapes) - set(expected))
    if missing:
        problems.append(f"missing {', '.join(missing[:5])}" + (" …" if len(missing) > 5 else ""))
    if extra:
        problems.append(f"unexpected {', '.join(extra[:5])}" + (" …" if len(extra) > 5 else ""))
    for name in sorted(set(expected) & set(shapes)):
        if tuple(shapes[name]) != tuple(expected[name]):
            problems.append(f"{name} has shape {tuple(shapes[name])}, expected {tuple(expected[name])}")
    return "; ".join(problems)


def init_gpt_params(config: GPTConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """GPT-2's initialisation as float32 arrays: weights N(0, 0.02), residual projections
    N(0, 0.02/√(2L)), biases 0, LayerNorm gains 1. The same seed gives the same model on both twins."""
    rng = np.random.default_rng(seed)
    params = {}
    for name, shape in gpt_param_shapes(config).items():
        if name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
            value = np.ones(shape)
        elif name.endswith(".bias"):
            value = np.zeros(shape)
        elif name.endswith("c_proj.weight"):
            value = rng.normal(0.0, 0.02 / np.sqrt(2 * config.n_layer), shape)
        else:
            value = rng.normal(0.0, 0.02, shape)
        params[name] = value.astype(np.float32)
    return params


def gpt_weight_problems(config: GPTConfig, shapes: Mapping[str, tuple[int, ...]]) -> str:
    """What keeps stored weights (name → shape) from fitting ``config``; empty when they fit."""
    shapes = dict(shapes)
    if config.tie_weights:
        shapes.pop("lm_head.weight", None)  # some writers store the tied copy too
    return check_params(gpt_param_shapes(config), shapes)


def gpt_num_params(config: GPTConfig) -> int:
    """How many numbers a GPT stores (a tied matrix counted once)."""
    return sum(math.prod(shape) for shape in gpt_param_shapes(config).values())


def read_safetensors_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Names and shapes from a safetensors header, without reading the tensors."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path} is missing")
    try:
        with safe_open(str(path), framework="np") as f:
            return {name: tuple(f.get_slice(name).get_shape()) for name in f.keys()}
    except Exception as e:  # safetensors raises its own error types for corrupt headers
        raise ModelFileError(f"{path} is not a readable safetensors file: {e}") from e


def _load_dir(
    directory: Path,
    config_cls: type[Config],
    shapes_of: Callable[[Config], Mapping[str, tuple[int, ...]]],
    prepare: Callable[[Config, dict[str, np.ndarray]], dict[str, np.ndarray]] | None = None,
) -> tuple[Config, dict[str, np.ndarray]]:
    """Read a model directory → (config, parameters): ``config.json`` through the config class,
    the weights (through ``prepare`` when given) checked against ``shapes_of(config)``; what does
    not fit is a ModelFileError naming the file."""
    directory = Path(directory)
    raw = read_json(directory / CONFIG_FILE)
    try:
        config = config_cls.from_hf_dict(raw)
    except (ValueError, TypeError) as e:
        raise ModelFileError(f"{directory / CONFIG_FILE}: {e}") from e
    params = read_safetensors(directory / WEIGHTS_FILE)
    if prepare is not None:
        params = prepare(config, params)
    problems = check_params(shapes_of(config), {name: value.shape for name, value in params.items()})
    if problems:
        raise ModelFileError(f"{directory / WEIGHTS_FILE} does not fit {CONFIG_FILE}: {problems}")
    return config, params


def _save_dir(
    directory: Path,
    config: ConfigDict,
    arrays: Mapping[str, np.ndarray],
    tokenizer_json: dict[str, Any] | None = None,
    card: dict[str, Any] | None = None,
) -> Path:
    """Write weights, ``config.json`` and, when given, the tokenizer and the card."""
    directory = Path(directory)
    save_safetensors(directory / WEIGHTS_FILE, arrays)
    atomic_write_json(directory / CONFIG_FILE, config.to_hf_dict())
    if tokenizer_json is not None:
        atomic_write_json(directory / TOKENIZER_FILE, tokenizer_json)
    if card is not None:
        atomic_write_json(directory / CARD_FILE, card)
    return directory


def _gpt_file_arrays(config: GPTConfig, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A GPT file's arrays under GPT2LMHeadModel's names, a tied lm_head's stored copy dropped."""
    params = normalise_gpt_names(arrays)
    if config.tie_weights:
        params.pop("lm_head.weight", None)  # some writers store the tied copy too
    return params


def load_gpt_dir(directory: Path) -> tuple[GPTConfig, dict[str, np.ndarray]]:
    """Read a GPT model directory (a Hugging Face GPT-2 one too) → (config, parameters named as in
    the file)."""
    return _load_dir(directory, GPTConfig, gpt_param_shapes, _gpt_file_arrays)


def save_gpt_dir(
    directory: Path,
    config: GPTConfig,
    params: Mapping[str, np.ndarray],
    tokenizer_json: dict[str, Any] | None = None,
    card: dict[str, Any] | None = None,
) -> Path:
    """Write a GPT model directory; with GPT-2's options it is a valid HF GPT-2 directory."""
    arrays = dict(params)
    if config.tie_weights:
        arrays.pop("lm_head.weight", None)  # stored once, as transformer.wte.weight
    return _save_dir(directory, config, arrays, tokenizer_json, card)


# -- LSTM -----------------------------------------------------------------------------------


def lstm_param_shapes(config: LSTMConfig) -> dict[str, tuple[int, ...]]:
    """Every parameter of an LSTM language model, named as PyTorch's ``nn.LSTM`` names them."""
    E, H, V = config.n_embd, config.n_hidden, config.vocab_size
    shapes: dict[str, tuple[int, ...]] = {"wte.weight": (V, E)}
    for k in range(config.n_layer):
        width = E if k == 0 else H
        shapes[f"lstm.weight_ih_l{k}"] = (4 * H, width)
        shapes[f"lstm.weight_hh_l{k}"] = (4 * H, H)
        shapes[f"lstm.bias_ih_l{k}"] = (4 * H,)
        shapes[f"lstm.bias_hh_l{k}"] = (4 * H,)
    shapes["head.weight"] = (V, H)
    shapes["head.bias"] = (V,)
    return shapes


def lstm_num_params(config: LSTMConfig) -> int:
    return sum(math.prod(shape) for shape in lstm_param_shapes(config).values())


def init_lstm_params(config: LSTMConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """PyTorch's LSTM initialisation, U(-1/√H, 1/√H), with the forget-gate bias at 1 (a cell
    starts out remembering); embeddings N(0, 1), head U(-1/√H, 1/√H). Same seed, same model."""
    rng = np.random.default_rng(seed)
    H = config.n_hidden
    bound = 1.0 / math.sqrt(H)
    params = {}
    for name, shape in lstm_param_shapes(config).items():
        if name == "wte.weight":
            value = rng.normal(0.0, 1.0, shape)
        else:
            value = rng.uniform(-bound, bound, shape)
        if name.startswith("lstm.bias_ih"):
            value[H : 2 * H] = 1.0  # forget gate (order i, f, g, o); bias_hh keeps its small noise
        params[name] = value.astype(np.float32)
    return params


def lstm_weight_problems(config: LSTMConfig, shapes: Mapping[str, tuple[int, ...]]) -> str:
    return check_params(lstm_param_shapes(config), shapes)


def load_lstm_dir(directory: Path) -> tuple[LSTMConfig, dict[str, np.ndarray]]:
    """Read an LSTM model directory → (config, parameters)."""
    return _load_dir(directory, LSTMConfig, lstm_param_shapes)


def save_model_dir(
    directory: Path,
    config: ConfigDict,
    params: Mapping[str, np.ndarray],
    tokenizer_json: dict[str, Any] | None = None,
    card: dict[str, Any] | None = None,
) -> Path:
    """Write a model directory of any architecture (config.json names it)."""
    if isinstance(config, GPTConfig):
        return save_gpt_dir(directory, config, params, tokenizer_json, card)
    return _save_dir(directory, config, dict(params), tokenizer_json, card)


# -- encoder (masked LM) and encoder-decoder ------------------------------------------------
#
# Names follow GPT-2's inside each stack, under "encoder." / "decoder." instead of "transformer.":
#   {stack}.wte.weight (V, C), {stack}.wpe.weight (block, C) when positions are learned,
#   {stack}.h.{i}.ln_1 / attn.c_attn / attn.c_proj / ln_2 / mlp.c_fc / mlp.c_proj, {stack}.ln_f.
# Decoder blocks add GPT-2's cross-attention layout (as ``GPT2Block(add_cross_attention=True)``):
#   decoder.h.{i}.ln_cross_attn, crossattention.q_attn (C, C) for queries from the target,
#   crossattention.c_attn (C, 2C) for keys and values from the encoder, crossattention.c_proj (C, C).
# The masked LM head (BERT's): mlm_head.dense (C, C) → GELU → mlm_head.ln, then the token
# embedding transposed (tied, stored once) plus mlm_head.bias (V,). The encoder-decoder's LM head
# is the target embedding transposed (tied, no bias); with share_embeddings the one table is
# stored as encoder.wte.weight.


def stack_param_shapes(
    prefix: str, vocab_size: int, block_size: int, n_layer: int, n_embd: int, pos: str
) -> dict[str, tuple[int, ...]]:
    """A pre-LN GPT stack's parameters (embeddings, blocks, ln_f) under ``prefix`` ("encoder.")."""
    gpt = GPTConfig(
        vocab_size=vocab_size, block_size=block_size, n_layer=n_layer, n_head=1, n_embd=n_embd, pos=pos
    )
    return {prefix + name.removeprefix("transformer."): s for name, s in gpt_param_shapes(gpt).items()}


def encoder_param_shapes(config: EncoderConfig) -> dict[str, tuple[int, ...]]:
    """Every stored parameter of the masked LM (its tied decoder matrix is encoder.wte.weight)."""
    C, V = config.n_embd, config.vocab_size
    shapes = stack_param_shapes("encoder.", V, config.block_size, config.n_layer, C, config.pos)
    shapes["mlm_head.dense.weight"] = (C, C)
    shapes["mlm_head.dense.bias"] = (C,)
    shapes["mlm_head.ln.weight"] = (C,)
    shapes["mlm_head.ln.bias"] = (C,)
    shapes["mlm_head.bias"] = (V,)
    return shapes


def encdec_param_shapes(config: EncDecConfig) -> dict[str, tuple[int, ...]]:
    """Every stored parameter of the encoder-decoder (tied and shared matrices listed once)."""
    C = config.n_embd
    shapes = stack_param_shapes(
        "encoder.", config.src_vocab_size, config.src_block_size, config.n_enc_layer, C, config.pos
    )
    decoder = stack_param_shapes(
        "decoder.", config.tgt_vocab_size, config.tgt_block_size, config.n_dec_layer, C, config.pos
    )
    if config.share_embeddings:
        del decoder["decoder.wte.weight"]
    cross = {
        "ln_cross_attn.weight": (C,),
        "ln_cross_attn.bias": (C,),
        "crossattention.q_attn.weight": (C, C),
        "crossattention.q_attn.bias": (C,),
        "crossattention.c_attn.weight": (C, 2 * C),
        "crossattention.c_attn.bias": (2 * C,),
        "crossattention.c_proj.weight": (C, C),
        "crossattention.c_proj.bias": (C,),
    }
    for i in range(config.n_dec_layer):
        for name, shape in cross.items():
            decoder[f"decoder.h.{i}.{name}"] = shape
    return {**shapes, **decoder}


def init_params_like_gpt2(
    shapes: Mapping[str, tuple[int, ...]], n_layer: int, seed: int
) -> dict[str, np.ndarray]:
    """GPT-2's initialisation for any parameter table: LayerNorm gains 1 (1-D weights), biases 0,
    residual projections (c_proj) N(0, 0.02/√(2L)), every other matrix N(0, 0.02); float32."""
    rng = np.random.default_rng(seed)
    params = {}
    for name, shape in shapes.items():
        if name.endswith(".weight") and len(shape) == 1:
            value = np.ones(shape)
        elif name.endswith("bias"):
            value = np.zeros(shape)
        elif name.endswith("c_proj.weight"):
            value = rng.normal(0.0, 0.02 / np.sqrt(2 * n_layer), shape)
        else:
            value = rng.normal(0.0, 0.02, shape)
        params[name] = value.astype(np.float32)
    return params


def init_encoder_params(config: EncoderConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """GPT-2's initialisation of the masked LM; the same seed gives the same model on both twins."""
    return init_params_like_gpt2(encoder_param_shapes(config), config.n_layer, seed)


def init_encdec_params(config: EncDecConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """GPT-2's initialisation of the encoder-decoder (L = the deeper stack's layers)."""
    return init_params_like_gpt2(
        encdec_param_shapes(config), max(config.n_enc_layer, config.n_dec_layer), seed
    )


def encoder_num_params(config: EncoderConfig) -> int:
    return sum(math.prod(shape) for shape in encoder_param_shapes(config).values())


def encdec_num_params(config: EncDecConfig) -> int:
    return sum(math.prod(shape) for shape in encdec_param_shapes(config).values())


def load_encoder_dir(directory: Path) -> tuple[EncoderConfig, dict[str, np.ndarray]]:
    """Read a masked-LM model directory → (config, parameters)."""
    return _load_dir(directory, EncoderConfig, encoder_param_shapes)


def load_encdec_dir(directory: Path) -> tuple[EncDecConfig, dict[str, np.ndarray]]:
    """Read an encoder-decoder model directory → (config, parameters)."""
    return _load_dir(directory, EncDecConfig, encdec_param_shapes)
