import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models import load_tokenizer
from models.tokenizer import (
    BPETokenizer,
    CharTokenizer,
    UnknownCharacterError,
    WordTokenizer,
    tokenizer_from_json,
)

TEXT = (
    "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n"
    "First Citizen:\nYou are all resolved rather to die than to famish?\n"
) * 20


def test_char_round_trip_and_sorted_ids():
    tok = CharTokenizer.train(TEXT)
    assert tok.chars == sorted(set(TEXT))
    ids = tok.encode("hear me")
    assert tok.decode(ids) == "hear me"
    assert ids[0] == tok.chars.index("h")
    assert tok.token_strings(tok.encode("a\n")) == ["a", "\n"]


def test_char_unknown_characters():
    tok = CharTokenizer.train("abc ")
    with pytest.raises(UnknownCharacterError, match="'é'"):
        tok.encode("abé")
    assert tok.encode("abé", errors="replace") == [1, 2, 0]  # replaced by the space
    assert tok.encode("abé", errors="ignore") == [1, 2]
    with pytest.raises(ValueError, match="out of range"):
        tok.decode([0, 99])


def test_char_offsets():
    tok = CharTokenizer.train(TEXT)
    ids, offsets = tok.encode_with_offsets("me")
    assert offsets == [(0, 1), (1, 2)] and len(ids) == 2


def test_bpe_trains_to_size_and_round_trips():
    tok = BPETokenizer.train([TEXT], vocab_size=300)
    assert 256 < tok.vocab_size <= 300
    ids = tok.encode("Speak, speak. Before we proceed")
    assert tok.decode(ids) == "Speak, speak. Before we proceed"
    assert len(ids) < len("Speak, speak. Before we proceed")  # merges shorten the text
    assert "".join(tok.token_strings(ids)) == "Speak, speak. Before we proceed"
    ids, offsets = tok.encode_with_offsets("hear me speak")
    assert offsets[0][0] == 0 and offsets[-1][1] == len("hear me speak")


def test_json_round_trip_through_a_file(tmp_path):
    for tok in (CharTokenizer.train(TEXT), BPETokenizer.train([TEXT], vocab_size=280)):
        path = tmp_path / f"{tok.kind}.json"
        path.write_text(json.dumps(tok.to_json()))
        again = load_tokenizer(path)
        assert again.kind == tok.kind and again.encode("speak me") == tok.encode("speak me")
    with pytest.raises(ValueError, match="unrecognised"):
        tokenizer_from_json({"something": "else"})
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"bad\.json"):
        load_tokenizer(tmp_path / "bad.json")


BPE = BPETokenizer.train([TEXT], vocab_size=300)
CHAR = CharTokenizer.train(TEXT)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_unicode_text_round_trips_through_bpe(text):
    assert BPE.decode(BPE.encode(text)) == text


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_char_tokenizer_never_crashes(text):
    try:
        assert CHAR.decode(CHAR.encode(text)) == text
    except UnknownCharacterError as e:
        assert set(e.chars) <= set(text) - set(CHAR.chars)
    assert len(CHAR.encode(text, errors="replace")) == len(text)


def test_streamed_text_holds_back_half_characters():
    from models.generate import TextStream

    tok = BPETokenizer.train(["ab"], vocab_size=300, min_frequency=1000)  # no merges: one token per byte
    ids = tok.encode("a✓b")
    assert len(ids) == 5  # ✓ is three bytes
    stream = TextStream(tok, ids[:1])
    assert [stream.add(i) for i in ids[1:]] == ["", "", "✓", "b"]
    stream = TextStream(tok, ids[:2])  # the prompt itself ends inside the character
    assert [stream.add(i) for i in ids[2:]] == ["", "✓", "b"]


def whole_text_stream(tok, prompt, tokens):
    """What each token adds, by decoding the whole text every time: what ``TextStream`` must give."""
    ids, shown, out = list(prompt), tok.decode(prompt).rstrip("\ufffd"), []
    for t in tokens:
        ids.append(t)
        full = tok.decode(ids)
        if full.endswith("\ufffd"):
            out.append("")
        else:
            out.append(full[len(shown) :])
            shown = full
    return out


STREAM_TOKENIZERS = {
    "char": CharTokenizer.train(TEXT),
    "word": WordTokenizer(["a", "bb", "ccc", "<eos>"]),
    # few merges: characters of two to four bytes are split across tokens
    "bpe": BPETokenizer.train(["a✓b é ü€ 😀 ab ab"] * 50, vocab_size=270, min_frequency=2),
}


@pytest.mark.parametrize("kind", list(STREAM_TOKENIZERS))
@given(data=st.data())
@settings(max_examples=60, deadline=None)
def test_streamed_text_is_what_the_whole_text_adds(kind, data):
    from models.generate import TextStream

    tok = STREAM_TOKENIZERS[kind]
    ids = st.integers(0, tok.vocab_size - 1)
    prompt = data.draw(st.lists(ids, min_size=1, max_size=8))
    tokens = data.draw(st.lists(ids, max_size=30))
    stream = TextStream(tok, prompt)
    assert [stream.add(t) for t in tokens] == whole_text_stream(tok, prompt, tokens)
