"""Generation past the context (the window slides) and generation that stops (stop strings, the end
token, a task model's end of line), on both twins, alone and batched."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models import load_model
from models.architectures import default_stop
from models.config import GPTConfig, LSTMConfig
from models.generate import DecodeBatch, DoneEvent, TokenEvent, generate, start
from models.loading import load_tokenizer
from models.sampling import SamplingParams, softmax
from models.stopping import StopStrings
from models.tokenizer import CharTokenizer
from models.weights import init_lstm_params, save_model_dir

from helpers import TOL, assert_close, model_dir

BLOCK = 16
GREEDY = SamplingParams(temperature=0)
SAMPLED = SamplingParams(temperature=1.1, top_k=15, top_p=0.95, repetition_penalty=1.1)
TOK = CharTokenizer(list("abcdefghijklmnopqrstuvwxyz0123456789 .,\n"))  # 40 characters, one per id
ZOO = Path(__file__).resolve().parents[1] / "models" / "zoo"


@pytest.fixture(scope="module")
def gpt_dir(tmp_path_factory):
    cfg = GPTConfig(vocab_size=40, block_size=BLOCK, n_layer=2, n_head=2, n_embd=32)
    return model_dir(tmp_path_factory.mktemp("long"), cfg, jitter=0.5)


@pytest.fixture(scope="module")
def lstm_dir(tmp_path_factory):
    cfg = LSTMConfig(vocab_size=40, block_size=BLOCK, n_layer=2, n_embd=8, n_hidden=12)
    rng = np.random.default_rng(1)
    params = {
        k: (v + rng.normal(0, 0.3, v.shape)).astype(np.float32) for k, v in init_lstm_params(cfg, 0).items()
    }
    return save_model_dir(tmp_path_factory.mktemp("lstm"), cfg, params)


def run(model, prompt, n, params=GREEDY, seed=0, **kw):
    events = list(generate(model, prompt, n, params, seed, **kw))
    assert isinstance(events[-1], DoneEvent)
    return [e for e in events if isinstance(e, TokenEvent)], events[-1]


# -- the window slides --------------------------------------------------------------------------


@pytest.mark.parametrize("params", [GREEDY, SAMPLED], ids=["greedy", "sampled"])
def test_300_tokens_past_a_16_token_context_are_the_same_on_both_backends(gpt_dir, params):
    numpy_ev, done = run(load_model(gpt_dir, "numpy"), [1, 2, 3], 300, params, seed=5)
    torch_ev, _ = run(load_model(gpt_dir, "torch"), [1, 2, 3], 300, params, seed=5)
    assert [e.id for e in numpy_ev] == [e.id for e in torch_ev]
    assert [e.window_start for e in numpy_ev] == [e.window_start for e in torch_ev]
    assert done.reason == "length" and done.n_tokens == 300


def test_the_window_slides_by_half_the_context(gpt_dir):
    events, _ = run(load_model(gpt_dir, "numpy"), [1, 2, 3], 40)
    starts = [e.window_start for e in events]
    # token k is predicted from the 3 + k tokens before it; token 13 reads 16, the whole context
    assert starts[:14] == [0] * 14
    # token 14 would read 17: the last 8 (from index 9) are read again, then the window grows to 16
    assert starts[14:23] == [9] * 9 and starts[23:32] == [18] * 9 and starts[32] == 27


@pytest.mark.parametrize("keep", [None, 1, BLOCK - 1, BLOCK])
def test_generation_across_a_slide_equals_reading_the_window_from_scratch(gpt_dir, keep):
    model = load_model(gpt_dir, "numpy", "float64")
    prompt = [4, 5, 6, 7, 8]
    events, _ = run(model, prompt, 50, SAMPLED, seed=3, keep=keep)
    assert events[-1].window_start > 0
    seq = list(prompt)
    for e in events:
        window = seq[e.window_start :]
        assert 0 < len(window) <= BLOCK
        probs = softmax(np.asarray(model(np.asarray([window])))[0, -1].astype(np.float64))
        assert_close(f"token {e.index}", e.step.model_prob, probs[e.id], TOL["float64"])
        seq.append(e.id)


def test_keep_out_of_range_is_refused(gpt_dir):
    with pytest.raises(ValueError, match="keep"):
        start(load_model(gpt_dir, "numpy"), [1], 5, keep=BLOCK + 1)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_an_lstm_carries_its_state_past_its_block_size(lstm_dir, backend):
    model = load_model(lstm_dir, backend, "float64")
    events, done = run(model, [1, 2, 3], 60)
    assert done.reason == "length" and done.n_tokens == 60
    assert all(e.window_start == 0 for e in events)  # no window: it never slides
    seq = [1, 2, 3]
    for e in events:  # each token the argmax of the whole text read from the start
        with model.inference_context():
            logits = model(np.asarray([seq]))
        assert e.id == int(np.argmax(np.asarray(logits)[0, -1]))
        seq.append(e.id)


# -- stopping -----------------------------------------------------------------------------------


def test_stop_strings_hold_back_what_may_begin_one():
    s = StopStrings(("END", "\n"))
    assert s.feed("abc") == ("abc", None)
    assert s.feed("xE") == ("x", None)  # "E" may begin "END"
    assert s.feed("N") == ("", None)
    assert s.feed("Dmore") == ("", "END")  # neither the stop string nor what follows is shown
    s = StopStrings(("END",))
    assert s.feed("aEN") == ("a", None) and s.flush() == "EN"  # released when the generation ends
    s = StopStrings(("c", "ab"))
    assert s.feed("xabc") == ("x", "ab")  # the earliest stop wins


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_a_stop_string_ends_the_generation_before_it(gpt_dir, backend):
    model = load_model(gpt_dir, backend)
    free, _ = run(model, [1, 2, 3], 40, tokenizer=TOK)
    text = "".join(e.text for e in free)
    stop = text[12:15]
    cut = text.index(stop)
    events, done = run(model, [1, 2, 3], 40, tokenizer=TOK, stop=[stop, "@@"])
    assert done.reason == "stop" and done.stop == stop
    assert "".join(e.text for e in events) == text[:cut]
    assert len(events) == cut + len(stop)  # every token of the stop string was drawn, none shown


def test_text_held_for_a_stop_string_that_never_completes_is_released(gpt_dir):
    model = load_model(gpt_dir, "numpy")
    free, _ = run(model, [1, 2, 3], 30, tokenizer=TOK)
    text = "".join(e.text for e in free)
    events, done = run(model, [1, 2, 3], 30, tokenizer=TOK, stop=[text[-2:] + "@"])
    assert done.reason == "length" and "".join(e.text for e in events) == text


class EndTokenizer(CharTokenizer):
    """A character vocabulary whose ``eos`` id is given."""

    def __init__(self, chars, eos):
        super().__init__(chars)
        self.eos = eos

    @property
    def eos_id(self):
        return self.eos


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_the_tokenizers_end_token_stops_the_generation(gpt_dir, backend):
    model = load_model(gpt_dir, backend)
    free, _ = run(model, [1, 2, 3], 30)
    eos = free[6].id
    first = next(i for i, e in enumerate(free) if e.id == eos)
    tok = EndTokenizer(TOK.chars, eos)
    events, done = run(model, [1, 2, 3], 30, tokenizer=tok)
    assert done.reason == "stop" and len(events) == first + 1 and events[-1].text == ""
    assert done.stop == TOK.chars[eos]


def test_stop_strings_need_a_tokenizer_and_have_bounds(gpt_dir):
    model = load_model(gpt_dir, "numpy")
    with pytest.raises(ValueError, match="tokenizer"):
        start(model, [1], 5, stop=["a"])
    with pytest.raises(ValueError, match="at most 4"):
        start(model, [1], 5, tokenizer=TOK, stop=list("abcde"))
    with pytest.raises(ValueError, match="1 to 32"):
        start(model, [1], 5, tokenizer=TOK, stop=["x" * 33])


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_the_numbers_decoder_stops_at_the_end_of_its_line(backend):
    directory = ZOO / "numbers-to-words-decoder"
    model, tok = load_model(directory, backend), load_tokenizer(directory)
    stop = default_stop("numbers")
    assert stop == ("\n",) and default_stop("lm") == ()
    events, done = run(model, tok.encode("4012="), 200, tokenizer=tok, stop=stop)
    assert "".join(e.text for e in events) == "four thousand twelve"
    assert done.reason == "stop" and done.stop == "\n"


def test_a_cards_own_stop_comes_first():
    assert default_stop("numbers", {"stop": ["."]}) == (".",)
    assert default_stop("lm", {}) == ()


# -- batched --------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_a_batch_slides_and_stops_some_rows_while_others_go_on(gpt_dir, backend):
    model = load_model(gpt_dir, backend, "float64")
    free, _ = run(model, [9, 10], 60, tokenizer=TOK)
    stop = "".join(e.text for e in free)[25:27]
    cases = [  # prompt, max_new_tokens, params, stop strings
        ([1, 2, 3], 50, SAMPLED, []),
        ([4], 20, GREEDY, []),
        ([5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18], 70, SAMPLED, []),  # slides early
        ([9, 10], 60, GREEDY, [stop]),  # stops mid-way
        ([2, 2], 35, SAMPLED, [], 4),  # keeps 4 tokens: slides often
    ]
    decodings = [
        start(model, c[0], c[1], c[2], seed=s, tokenizer=TOK, stop=c[3], keep=(c[4] if len(c) > 4 else None))
        for s, c in enumerate(cases)
    ]
    batch = DecodeBatch(model)
    got: dict[int, list[TokenEvent]] = {id(d): [] for d in decodings}
    while not all(d.finished for d in decodings):
        live = [d for d in decodings if not d.finished]
        for d, e in zip(live, batch.step(live), strict=True):
            got[id(d)].append(e)
    batch.release()
    for s, (c, d) in enumerate(zip(cases, decodings, strict=True)):
        solo, done = run(
            model, c[0], c[1], c[2], s, tokenizer=TOK, stop=c[3], keep=c[4] if len(c) > 4 else None
        )
        mine = got[id(d)]
        assert [e.id for e in mine] == [e.id for e in solo], f"decoding {s}"
        assert [e.window_start for e in mine] == [e.window_start for e in solo]
        assert [e.text for e in mine] == [e.text for e in solo]
        for a, b in zip(mine, solo, strict=True):
            assert_close(
                f"decoding {s} token {a.index}", a.step.model_prob, b.step.model_prob, TOL["float64"]
            )
        assert d.done().reason == done.reason
    assert decodings[3].reason == "stop" and len(got[id(decodings[3])]) < 60
    assert all(got[id(d)][-1].window_start > 0 for d in decodings if d.reason == "length")
