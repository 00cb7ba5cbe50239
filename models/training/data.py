"""Preparing a text for training: a tokenizer, a 90/10 train/validation split, token arrays.

``prepare`` (the ``playground prepare`` command) reads one text file, cuts it by characters
(the first 90 % trains, the last 10 % validates), builds the tokenizer (a character vocabulary,
or byte-level BPE learned from the training split only) and writes a data directory::

    data/<text>-<tokenizer>/
        train.npy  val.npy   token ids, uint16 (.npy, read back with allow_pickle=False)
        tokenizer.json
        meta.json            text, sha256, characters and tokens per split, vocabulary

``meta.json`` is written last, so a directory that has one is complete. The validation split's
character count is what turns a loss per token into bits per character.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.tokenizer import AnyTokenizer, BPETokenizer, CharTokenizer
from models.weights import TOKENIZER_FILE, atomic_write_bytes, atomic_write_json, read_json

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TEXT = REPO_ROOT.parent / "shared" / "data" / "tinyshakespeare.txt"
TEXT_ENV = "PLAYGROUND_TEXT"
TOKENIZERS = ("char", "bpe")
DEFAULT_BPE_VOCAB = 1024
TRAIN_FRACTION = 0.9
SPLITS = ("train", "val")
META_FILE = "meta.json"
TOKEN_DTYPE = np.uint16  # every vocabulary here is far below 65 536 tokens


@dataclass(frozen=True)
class TokenData:
    """A prepared data directory in memory: token ids per split and its ``meta.json``."""

    directory: Path
    train: np.ndarray  # (N_train,) uint16
    val: np.ndarray  # (N_val,) uint16
    meta: dict[str, Any]

    @property
    def vocab_size(self) -> int:
        return int(self.meta["vocab_size"])

    @property
    def kind(self) -> str:
        return str(self.meta["tokenizer"])

    def tokenizer_json(self) -> dict[str, Any]:
        return read_json(self.directory / TOKENIZER_FILE)

    def card_data(self) -> dict[str, Any]:
        """What a model card says of the text it was trained on: name, hash, characters and tokens."""
        meta = self.meta
        splits = {k: {"chars": v["chars"], "tokens": v["tokens"]} for k, v in meta["splits"].items()}
        return {"text": meta["text_name"], "sha256": meta["sha256"], "splits": splits}


def default_text_path() -> Path:
    """The text ``prepare`` reads without ``--text``: ``$PLAYGROUND_TEXT`` or the shared Shakespeare."""
    return Path(os.environ.get(TEXT_ENV) or DEFAULT_TEXT)


def resolve_text(text: str | os.PathLike[str] | None) -> Path:
    """The training text to read; a missing file says how to name one."""
    if text is not None:
        path = Path(text)
        if not path.is_file():
            raise FileNotFoundError(f"--text {path}: no such file")
        return path
    path = default_text_path()
    if not path.is_file():
        raise FileNotFoundError(
            f"no training text: {path} does not exist; pass --text PATH (or set {TEXT_ENV})"
        )
    return path


def default_data_dir(kind: str, text: Path | None = None) -> Path:
    """``data/<text name>-<tokenizer>`` in the repository (git ignores ``data/``)."""
    return REPO_ROOT / "data" / f"{(text or default_text_path()).stem}-{kind}"


def build_tokenizer(kind: str, text: str, train_text: str, vocab_size: int) -> AnyTokenizer:
    """A character vocabulary over the whole text (so validation has no unknown characters), or
    byte-level BPE learned from the training split alone (bytes cover anything validation holds)."""
    if kind == "char":
        return CharTokenizer.train(text)
    if kind == "bpe":
        return BPETokenizer.train([train_text], vocab_size)
    raise ValueError(f"--tokenizer must be one of {', '.join(TOKENIZERS)}, got {kind!r}")


def _save_tokens(path: Path, ids: list[int]) -> np.ndarray:
    array = np.asarray(ids, dtype=TOKEN_DTYPE)
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    atomic_write_bytes(path, buffer.getvalue())
    return array


def prepare(
    text_path: Path, kind: str = "char", vocab_size: int | None = None, out_dir: Path | None = None
) -> Path:
    """Tokenize ``text_path`` into a train/validation data directory; returns the directory."""
    if kind == "char" and vocab_size is not None:
        raise ValueError(
            "--vocab-size applies to --tokenizer bpe only (a character vocabulary is the text's)"
        )
    if kind == "bpe" and vocab_size is None:
        vocab_size = DEFAULT_BPE_VOCAB
    text_path = Path(text_path)
    raw = text_path.read_bytes()
    text = raw.decode("utf-8")
    n_train = int(len(text) * TRAIN_FRACTION)
    parts = {"train": text[:n_train], "val": text[n_train:]}
    if not parts["train"] or not parts["val"]:
        raise ValueError(f"{text_path} is too short to split 90/10 ({len(text)} characters)")
    tokenizer = build_tokenizer(kind, text, parts["train"], vocab_size or 0)
    if tokenizer.vocab_size > np.iinfo(TOKEN_DTYPE).max + 1:
        raise ValueError(f"a vocabulary of {tokenizer.vocab_size} does not fit {np.dtype(TOKEN_DTYPE).name}")

    out_dir = Path(out_dir) if out_dir is not None else default_data_dir(kind, text_path)
    splits = {}
    for name, part in parts.items():
        tokens = _save_tokens(out_dir / f"{name}.npy", tokenizer.encode(part))
        splits[name] = {"file": f"{name}.npy", "chars": len(part), "tokens": len(tokens)}
    atomic_write_json(out_dir / TOKENIZER_FILE, tokenizer.to_json())
    meta = {
        "text": str(text_path.resolve()),
        "text_name": text_path.name,
        "sha256": hashlib.sha256(raw).hexdigest(),
        "train_fraction": TRAIN_FRACTION,
        "tokenizer": kind,
        "vocab_size": tokenizer.vocab_size,
        "requested_vocab_size": vocab_size,  # BPE only: the target; fewer merges may exist
        "dtype": np.dtype(TOKEN_DTYPE).name,
        "splits": splits,
    }
    atomic_write_json(out_dir / META_FILE, meta)  # last: its presence marks a complete directory
    log.info(
        "%s → %s: %s tokenizer, vocabulary %d; train %d chars / %d tokens, val %d chars / %d tokens",
        text_path,
        out_dir,
        kind,
        tokenizer.vocab_size,
        splits["train"]["chars"],
        splits["train"]["tokens"],
        splits["val"]["chars"],
        splits["val"]["tokens"],
    )
    return out_dir


def load_data(directory: Path) -> TokenData:
    """Read a prepared data directory (never unpickling); a missing one says to run ``prepare``."""
    directory = Path(directory)
    if not (directory / META_FILE).is_file():
        raise FileNotFoundError(
            f"{directory} holds no prepared data ({META_FILE} is missing); run `playground prepare` first"
        )
    meta = read_json(directory / META_FILE)
    arrays = {}
    for name in SPLITS:
        array = np.load(directory / meta["splits"][name]["file"], allow_pickle=False)
        if array.dtype != TOKEN_DTYPE or array.ndim != 1 or len(array) != meta["splits"][name]["tokens"]:
            raise ValueError(f"{directory / meta['splits'][name]['file']} does not match {META_FILE}")
        arrays[name] = array
    return TokenData(directory, arrays["train"], arrays["val"], meta)


# -- the `playground prepare` command ---------------------------------------------------------


def shown_path(path: Path) -> str:
    """A path as a command in the repository root would name it: relative when it is near the repo."""
    path = Path(path).resolve()
    if path.is_relative_to(REPO_ROOT.parent):
        return os.path.relpath(path, REPO_ROOT)
    return str(path)


def prepare_args(data: TokenData) -> list[str]:
    """``playground prepare …`` that makes ``data`` again."""
    meta = data.meta
    prepare = ["playground", "prepare", "--text", shown_path(Path(meta["text"])), "--tokenizer", data.kind]
    if data.kind == "bpe":
        prepare += ["--vocab-size", str(meta["requested_vocab_size"])]
    return [*prepare, "--out", shown_path(data.directory)]
