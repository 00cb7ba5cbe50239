"""Numbers to words: the wording on hand-written cases, the split, the vocabularies, the batches."""

import numpy as np
import pytest

from models.numbers import (
    BOS_ID,
    EOS_ID,
    MAX_NUMBER,
    MAX_WORDS,
    PAD_ID,
    WORDS,
    encdec_batch,
    encdec_example,
    gpt_answer,
    gpt_batch,
    gpt_line,
    gpt_prompt,
    gpt_tokenizer,
    source_tokenizer,
    split_numbers,
    target_tokenizer,
    to_words,
    tokenizers_json,
)
from models.tokenizer import WordTokenizer, tokenizers_from_json

CASES = {
    0: "zero",
    7: "seven",
    10: "ten",
    13: "thirteen",
    19: "nineteen",
    20: "twenty",
    21: "twenty one",
    40: "forty",
    99: "ninety nine",
    100: "one hundred",
    101: "one hundred one",
    110: "one hundred ten",
    115: "one hundred fifteen",
    999: "nine hundred ninety nine",
    1000: "one thousand",
    1001: "one thousand one",
    1010: "one thousand ten",
    1100: "one thousand one hundred",
    1234: "one thousand two hundred thirty four",
    12000: "twelve thousand",
    20020: "twenty thousand twenty",
    100000: "one hundred thousand",
    100001: "one hundred thousand one",
    123456: "one hundred twenty three thousand four hundred fifty six",
    700010: "seven hundred thousand ten",
    999999: "nine hundred ninety nine thousand nine hundred ninety nine",
}


@pytest.mark.parametrize(("n", "words"), CASES.items())
def test_wording(n, words):
    assert to_words(n) == words
    assert to_words(str(n)) == words


def test_every_number_has_its_own_spelling_from_the_word_list():
    seen = {}
    for n in range(0, MAX_NUMBER + 1, 7):  # a stride through the whole range
        words = to_words(n)
        assert words not in seen, (n, seen.get(words))
        seen[words] = n
        assert set(words.split()) <= set(WORDS) and "  " not in words
        assert len(words.split()) <= MAX_WORDS
    assert len(to_words(777777).split()) == MAX_WORDS


@pytest.mark.parametrize("bad", [-1, MAX_NUMBER + 1, "007", "12a", "", "-3", "١٢"])
def test_out_of_range_and_malformed_numbers_are_refused(bad):
    with pytest.raises(ValueError):
        to_words(bad)


@pytest.mark.parametrize("bad", [1.0, True, None])
def test_non_integers_are_refused(bad):
    with pytest.raises(TypeError):
        to_words(bad)


def test_split_partitions_the_range_and_holds_out_every_length():
    s = split_numbers(seed=0)
    train, val, test = s["train"], s["val"], s["test"]
    assert len(np.intersect1d(train, test)) == len(np.intersect1d(train, val)) == 0
    assert len(np.intersect1d(val, test)) == 0
    everything = np.concatenate([train, val, test])
    assert len(everything) == MAX_NUMBER + 1 and np.array_equal(
        np.sort(everything), np.arange(MAX_NUMBER + 1)
    )
    assert np.isin(np.arange(100), train).all()  # the small numbers are always learnt
    lengths = {d: int(np.sum((test >= 10 ** (d - 1)) & (test < 10**d))) for d in range(1, 7)}
    assert lengths == {1: 0, 2: 0, 3: 90, 4: 900, 5: 1000, 6: 1000}
    assert len(val) == len(test) == 2990


def test_split_is_deterministic_and_seeded():
    a, b, c = split_numbers(seed=0), split_numbers(seed=0), split_numbers(seed=1)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["test"], c["test"])
    # a pinned value: the split must not drift between releases
    assert a["test"][:3].tolist() == [113, 119, 123] and a["val"][:3].tolist() == [102, 108, 136]


def test_source_and_target_vocabularies():
    src, tgt = source_tokenizer(), target_tokenizer()
    assert src.encode("1204") == [1, 2, 0, 4]  # a digit's id is its value
    assert tgt.vocab_size == 33 and tgt.words[:3] == ["<pad>", "<s>", "</s>"]
    assert (tgt.stoi["<pad>"], tgt.stoi["<s>"], tgt.stoi["</s>"]) == (PAD_ID, BOS_ID, EOS_ID)
    ids, offsets = tgt.encode_with_offsets("one thousand two")
    assert tgt.decode(ids) == "one thousand two" and offsets == [(0, 3), (4, 12), (13, 16)]
    assert tgt.token_strings(ids) == ["one", "thousand", "two"]
    with pytest.raises(ValueError, match="'eleventy'"):
        tgt.encode("eleventy one")
    assert tgt.encode("eleventy one", errors="ignore") == [tgt.stoi["one"]]
    assert tgt.encode("eleventy one", errors="replace") == [PAD_ID, tgt.stoi["one"]]
    with pytest.raises(ValueError, match="out of range"):
        tgt.decode([33])
    with pytest.raises(ValueError):
        WordTokenizer(["a", "a"])
    s2, t2 = tokenizers_from_json(tokenizers_json())
    assert s2.chars == src.chars and t2.words == tgt.words
    with pytest.raises(ValueError, match="seq2seq"):
        tokenizers_from_json({"kind": "char", "chars": ["a"]})


def test_encoder_decoder_examples_and_batches():
    tgt = target_tokenizer()
    src_ids, tgt_ids = encdec_example(1234)
    assert src_ids == [1, 2, 3, 4]
    assert tgt.decode(tgt_ids[:-1]) == CASES[1234] and tgt_ids[-1] == EOS_ID
    b = encdec_batch([5, 1234, 700010])
    assert b.src.shape == b.src_mask.shape == (3, 6)
    np.testing.assert_array_equal(b.src_mask.sum(1), [1, 4, 6])
    assert (b.tgt_in[:, 0] == BOS_ID).all()
    for t_in, t_out, n in zip(b.tgt_in, b.tgt_out, [5, 1234, 700010], strict=True):
        words = tgt.encode(to_words(n))
        assert t_out[t_out != -1].tolist() == [*words, EOS_ID]  # the decoder is scored on words + EOS
        assert t_in[: len(words) + 1].tolist() == [BOS_ID, *words]  # and reads BOS + words
    assert (b.tgt_in[0, 2:] == PAD_ID).all()


def test_decoder_only_format():
    assert gpt_line(1234) == "1234=one thousand two hundred thirty four\n"
    assert gpt_prompt("42") == "42="
    assert gpt_answer("forty two\n13=thirteen") == "forty two"
    tok = gpt_tokenizer()
    assert tok.decode(tok.encode(gpt_line(987654))) == gpt_line(987654)
    assert tok.vocab_size == 32 and tok.chars[0] == "\n"
    ids, targets = gpt_batch([12, 1234], tok)
    assert ids.shape == targets.shape == (2, len(gpt_line(1234)) - 1)
    line = gpt_line(12)
    scored = targets[0][targets[0] != -1]
    assert tok.decode(scored) == "twelve\n"  # only the answer and its newline are scored
    assert tok.decode(ids[0, : len(line) - 1]) == line[:-1]
    _, all_targets = gpt_batch([12], tok, answer_only=False)
    assert tok.decode(all_targets[0]) == line[1:]
