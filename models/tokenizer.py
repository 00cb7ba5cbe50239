"""Tokenizers: text ↔ token ids, saved as JSON.

- ``CharTokenizer``: one token per character of the training text (the lesson's first example).
- ``BPETokenizer``: byte-level BPE trained with Hugging Face ``tokenizers`` (GPT-2's scheme), so
  any Unicode text encodes; its ``tokenizer.json`` is the library's own format.

Both offer ``encode``, ``decode``, ``encode_with_offsets`` (character spans for highlighting),
``token_strings`` (the text each token stands for, for display) and ``eos_id`` (the end-of-text
token that ends a generation, or None when the vocabulary has none).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

Errors = Literal["strict", "replace", "ignore"]
PAD = "<pad>"  # a word vocabulary's padding token: what an unknown word becomes with errors="replace"
EOS_TOKENS = ("<|endoftext|>", "</s>", "<eos>", "[EOS]")  # end-of-text tokens, GPT-2's first


class UnknownCharacterError(ValueError):
    """Text holds characters that a character-level vocabulary does not have."""

    def __init__(self, chars: Sequence[str]):
        self.chars = list(chars)
        shown = ", ".join(repr(c) for c in self.chars[:10])
        more = f" and {len(self.chars) - 10} more" if len(self.chars) > 10 else ""
        super().__init__(f"characters not in this model's vocabulary: {shown}{more}")


class CharTokenizer:
    """Each distinct character is one token; ids follow the sorted character order."""

    kind = "char"

    def __init__(self, chars: Sequence[str]):
        chars = list(chars)
        if not chars or any(len(c) != 1 for c in chars) or len(set(chars)) != len(chars):
            raise ValueError("a character vocabulary is a non-empty list of distinct single characters")
        self.chars = chars
        self.stoi = {c: i for i, c in enumerate(chars)}
        self.fallback = self.stoi.get(" ", 0)  # what errors="replace" substitutes

    @classmethod
    def train(cls, text: str) -> CharTokenizer:
        return cls(sorted(set(text)))

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    @property
    def eos_id(self) -> int | None:
        return None  # a character is never the end of the text

    def encode(self, text: str, errors: Errors = "strict") -> list[int]:
        return self.encode_with_offsets(text, errors)[0]

    def encode_with_offsets(
        self, text: str, errors: Errors = "strict"
    ) -> tuple[list[int], list[tuple[int, int]]]:
        """Ids and the (start, end) character span of each; unknown characters per ``errors``."""
        ids, offsets, unknown = [], [], []
        for i, c in enumerate(text):
            idx = self.stoi.get(c)
            if idx is None:
                if errors == "strict":
                    unknown.append(c)
                    continue
                if errors == "ignore":
                    continue
                idx = self.fallback
            ids.append(idx)
            offsets.append((i, i + 1))
        if unknown:
            raise UnknownCharacterError(sorted(set(unknown)))
        return ids, offsets

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self.chars[i] for i in self._checked(ids))

    def token_strings(self, ids: Iterable[int]) -> list[str]:
        return [self.chars[i] for i in self._checked(ids)]

    def _checked(self, ids: Iterable[int]) -> list[int]:
        ids = [int(i) for i in ids]
        bad = [i for i in ids if not 0 <= i < len(self.chars)]
        if bad:
            raise ValueError(f"token ids out of range 0..{len(self.chars) - 1}: {bad[:10]}")
        return ids

    def to_json(self) -> dict[str, Any]:
        return {"kind": "char", "chars": self.chars}


class BPETokenizer:
    """Byte-level BPE (GPT-2's scheme) backed by a Hugging Face ``tokenizers.Tokenizer``."""

    kind = "bpe"

    def __init__(self, tokenizer: Tokenizer):
        self.tokenizer = tokenizer

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int, min_frequency: int = 2) -> BPETokenizer:
        """Learn merges from ``texts`` until the vocabulary has ``vocab_size`` tokens (256 bytes + merges)."""
        if vocab_size < 257:
            raise ValueError(f"vocab_size must exceed the 256 byte tokens, got {vocab_size}")
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        tok.train_from_iterator(texts, trainer=trainer)
        return cls(tok)

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size()

    @property
    def eos_id(self) -> int | None:
        """The id of an end-of-text special token (``<|endoftext|>``, ``</s>``, …), if one was added."""
        special = {t.content: i for i, t in self.tokenizer.get_added_tokens_decoder().items() if t.special}
        return next((special[t] for t in EOS_TOKENS if t in special), None)

    def encode(self, text: str, errors: Errors = "strict") -> list[int]:
        return self.tokenizer.encode(text).ids  # bytes cover every string: nothing is unknown

    def encode_with_offsets(
        self, text: str, errors: Errors = "strict"
    ) -> tuple[list[int], list[tuple[int, int]]]:
        enc = self.tokenizer.encode(text)
        return enc.ids, [tuple(o) for o in enc.offsets]

    def decode(self, ids: Iterable[int]) -> str:
        return self.tokenizer.decode(self._checked(ids), skip_special_tokens=False)

    def token_strings(self, ids: Iterable[int]) -> list[str]:
        """The text of each token alone (a token that splits a UTF-8 character shows as �)."""
        return [self.tokenizer.decode([i], skip_special_tokens=False) for i in self._checked(ids)]

    def _checked(self, ids: Iterable[int]) -> list[int]:
        ids = [int(i) for i in ids]
        bad = [i for i in ids if not 0 <= i < self.vocab_size]
        if bad:
            raise ValueError(f"token ids out of range 0..{self.vocab_size - 1}: {bad[:10]}")
        return ids

    def to_json(self) -> dict[str, Any]:
        return json.loads(self.tokenizer.to_str())


class WordTokenizer:
    """Each word of a fixed list is one token (text splits on spaces); the interface of ``CharTokenizer``."""

    kind = "word"

    def __init__(self, words: Sequence[str]):
        words = list(words)
        if not words or len(set(words)) != len(words) or any(not w or " " in w for w in words):
            raise ValueError("a word vocabulary is a non-empty list of distinct words without spaces")
        self.words = words
        self.stoi = {w: i for i, w in enumerate(words)}

    @property
    def vocab_size(self) -> int:
        return len(self.words)

    @property
    def eos_id(self) -> int | None:
        return next((self.stoi[t] for t in EOS_TOKENS if t in self.stoi), None)

    def encode(self, text: str, errors: Errors = "strict") -> list[int]:
        return self.encode_with_offsets(text, errors)[0]

    def encode_with_offsets(
        self, text: str, errors: Errors = "strict"
    ) -> tuple[list[int], list[tuple[int, int]]]:
        """Ids and the (start, end) character span of each word; unknown words per ``errors``
        ("replace" substitutes ``<pad>``)."""
        ids, offsets, unknown, start = [], [], [], 0
        for word in text.split(" "):
            end = start + len(word)
            if word:
                idx = self.stoi.get(word)
                if idx is None and errors == "strict":
                    unknown.append(word)
                elif idx is not None or errors == "replace":
                    ids.append(self.stoi.get(PAD, 0) if idx is None else idx)
                    offsets.append((start, end))
            start = end + 1
        if unknown:
            raise ValueError(f"words not in this vocabulary: {', '.join(repr(w) for w in unknown[:10])}")
        return ids, offsets

    def decode(self, ids: Iterable[int]) -> str:
        return " ".join(self.token_strings(ids))

    def token_strings(self, ids: Iterable[int]) -> list[str]:
        ids = [int(i) for i in ids]
        bad = [i for i in ids if not 0 <= i < len(self.words)]
        if bad:
            raise ValueError(f"token ids out of range 0..{len(self.words) - 1}: {bad[:10]}")
        return [self.words[i] for i in ids]

    def to_json(self) -> dict[str, Any]:
        return {"kind": "word", "words": self.words}


class Seq2SeqTokenizers(NamedTuple):
    """An encoder-decoder's two vocabularies, saved as one ``tokenizer.json``; unpacks as
    ``source, target``. ``vocab_size`` is the target's (the model's output vocabulary)."""

    source: CharTokenizer
    target: WordTokenizer

    @property
    def kind(self) -> str:
        return "seq2seq"

    @property
    def vocab_size(self) -> int:
        return self.target.vocab_size

    def to_json(self) -> dict[str, Any]:
        return {"kind": "seq2seq", "source": self.source.to_json(), "target": self.target.to_json()}


def tokenizers_from_json(data: dict[str, Any]) -> Seq2SeqTokenizers:
    """The (source, target) tokenizers written by ``tokenizers_json``."""
    if data.get("kind") != "seq2seq":
        raise ValueError("not a source/target tokenizer pair (kind must be 'seq2seq')")
    source, target = data["source"], data["target"]
    if source.get("kind") != "char" or target.get("kind") != "word":
        raise ValueError("expected a character source vocabulary and a word target vocabulary")
    return Seq2SeqTokenizers(CharTokenizer(source["chars"]), WordTokenizer(target["words"]))


AnyTokenizer = CharTokenizer | BPETokenizer


def tokenizer_from_json(data: dict[str, Any]) -> AnyTokenizer:
    """Rebuild a tokenizer from its JSON (ours for characters, the library's for BPE)."""
    if data.get("kind") == "char":
        return CharTokenizer(data["chars"])
    if isinstance(data.get("model"), dict):
        return BPETokenizer(Tokenizer.from_str(json.dumps(data)))
    if data.get("kind") in ("word", "seq2seq"):  # numbers to words: words, or a source/target pair
        return WordTokenizer(data["words"]) if data["kind"] == "word" else tokenizers_from_json(data)
    raise ValueError("unrecognised tokenizer JSON: neither a character vocabulary nor a tokenizers file")


def load_tokenizer_file(path: Path) -> AnyTokenizer:
    """Read ``tokenizer.json``, or GPT-2's ``vocab.json`` + ``merges.txt`` from a directory."""
    path = Path(path)
    if path.is_dir():
        if (path / "tokenizer.json").is_file():
            path = path / "tokenizer.json"
        elif (path / "vocab.json").is_file() and (path / "merges.txt").is_file():
            try:
                bpe = models.BPE.from_file(str(path / "vocab.json"), str(path / "merges.txt"))
            except Exception as e:  # tokenizers raises plain Exception for a malformed file
                raise ValueError(f"{path}: cannot read vocab.json + merges.txt: {e}") from e
            tok = Tokenizer(bpe)
            tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
            tok.decoder = decoders.ByteLevel()
            return BPETokenizer(tok)
        else:
            raise FileNotFoundError(f"{path} holds no tokenizer.json (nor vocab.json + merges.txt)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: cannot read tokenizer JSON: {e}") from e
    try:
        return tokenizer_from_json(data)
    except Exception as e:  # tokenizers raises plain Exception for a malformed file
        raise ValueError(f"{path}: {e}") from e
