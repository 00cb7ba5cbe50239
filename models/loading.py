"""Finding and loading models and tokenizers by shipped name or by directory.

``import models`` stays light: the PyTorch twin (and ``torch``) is imported only when a model
is loaded with ``backend="torch"``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from models.architectures import ARCHITECTURES, BACKENDS, Backend, architecture
from models.tokenizer import AnyTokenizer, load_tokenizer_file
from models.weights import CONFIG_FILE, TOKENIZER_FILE, ModelFileError, architecture_of, read_json

DTYPES = ("float32", "float64")
__all__ = ["ARCHITECTURES", "BACKENDS", "DTYPES", "load_model", "load_tokenizer", "resolve", "shipped_models"]


def zoo_dir() -> Path:
    """Where shipped models live: ``$PLAYGROUND_ZOO`` or the package's own ``zoo`` folder."""
    return Path(os.environ.get("PLAYGROUND_ZOO") or Path(__file__).parent / "zoo")


def shipped_models() -> list[str]:
    """Names of the model directories in the zoo (those with a config.json)."""
    root = zoo_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / CONFIG_FILE).is_file())


def resolve(name_or_dir: str | os.PathLike[str]) -> Path:
    """A shipped model's name or a path → its directory; an unknown name lists the known ones."""
    path = Path(name_or_dir)
    if path.is_dir():
        return path
    known = shipped_models()
    name = str(name_or_dir)
    if name in known:
        return zoo_dir() / name
    listing = ", ".join(known) if known else "none are shipped yet"
    raise ModelFileError(f"no model directory or shipped model named {name!r}; shipped models: {listing}")


def load_model(
    name_or_dir: str | os.PathLike[str], backend: Backend = "numpy", dtype: str = "float32"
) -> Any:
    """A ready-to-run twin: ``model(ids)`` with ids (B, T) returns logits (B, T, V)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    directory = resolve(name_or_dir)
    arch = architecture(architecture_of(read_json(directory / CONFIG_FILE)))
    config, params = arch.load_dir(directory)
    try:
        return arch.build(config, params, backend, dtype=dtype)
    except (KeyError, ValueError) as e:
        raise ModelFileError(f"{directory}: weights do not fit config.json: {e}") from e


def load_tokenizer(name_or_dir: str | os.PathLike[str]) -> AnyTokenizer:
    """The tokenizer stored beside a model (``tokenizer.json``), or a tokenizer file itself."""
    path = Path(name_or_dir)
    if path.is_file():
        return load_tokenizer_file(path)
    directory = resolve(name_or_dir)
    if not (directory / TOKENIZER_FILE).is_file() and not (directory / "vocab.json").is_file():
        raise ModelFileError(f"{directory} holds no {TOKENIZER_FILE}")
    return load_tokenizer_file(directory)
