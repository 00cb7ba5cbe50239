"""The PyTorch twin's decode step on a cache of fixed shape (``models/graph_step.py``): run eagerly on
the CPU it gives what ``generate`` gives on the growing cache, window slides included, for every
kind of block and position; on CUDA the same step is captured as a graph and replayed."""

from __future__ import annotations

import contextlib
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from test_batching import SAMPLED
from test_fast_path import CONFIGS  # pre-LN with GELU and learned positions; post-LN, ReLU, sinusoids

from models import gpt_torch, graph_step
from models.generate import DecodeBatch, TokenEvent, generate, start
from models.graph_step import StaticDecoder, lend, shared_decoder, take_decoder, uses_graphs

from helpers import TOL, assert_close, random_params


def twin(name: str = "pre-gelu", dtype: str = "float64") -> gpt_torch.GPT:
    config = CONFIGS[name]
    return gpt_torch.GPT(config, random_params(config, seed=3, jitter=0.5), dtype)


def loaded(model: gpt_torch.GPT, ids: list[int], token: int, capture: bool = False):
    """(the fast path's logits (1, V) and cache after ``ids`` then ``token``, a decoder loaded with
    the cache of ``ids``)."""
    with model.inference_context():
        _, past, _ = model.forward_cached(torch.tensor([ids]))
        expected, grown, _ = model.forward_cached(torch.tensor([[token]]), past)
        decoder = StaticDecoder(model, capture)
        decoder.load(past)
    return expected[:, -1], grown, decoder


def through(decoder: StaticDecoder, model, prompt, n, seed) -> list[TokenEvent]:
    """A generation stepped by a ``DecodeBatch`` that feeds ``decoder``, as ``generate`` steps it."""
    batch, d, events = DecodeBatch(model), start(model, prompt, n, SAMPLED, seed=seed), []
    batch.decoder = decoder
    while not d.finished:
        events += batch.step([d])
    batch.close()
    return events


def assert_same_events(got: list[TokenEvent], expected: list[TokenEvent], tol: float) -> None:
    assert [e.id for e in got] == [e.id for e in expected]
    for a, b in zip(got, expected, strict=True):
        assert_close("prob", a.step.model_prob, b.step.model_prob, tol)
        for stage, candidates in a.step.stages.items():
            assert_close(stage, [c.prob for c in candidates], [c.prob for c in b.step.stages[stage]], tol)


@pytest.mark.parametrize("name", CONFIGS)
def test_the_fixed_shape_step_gives_what_generate_gives_past_the_context(name):
    """40 tokens after prompts of 1 and 9 in a 24-token context: the window slides, the decoder is
    loaded anew from each re-read window, and every token and probability is ``generate``'s."""
    model = twin(name)
    assert not uses_graphs(model) and take_decoder(model) is None  # on the CPU, generate runs as ever
    for prompt, seed in (([7], 0), ([1, 2, 3, 4, 5, 6, 7, 8, 9], 1)):
        expected = [e for e in generate(model, prompt, 40, SAMPLED, seed) if isinstance(e, TokenEvent)]
        got = through(StaticDecoder(model, capture=False), model, prompt, 40, seed)
        assert_same_events(got, expected, TOL["float64"])


def test_a_step_leaves_the_keys_after_it_masked_and_the_logits_equal_the_growing_caches():
    """One step on a loaded decoder: the logits are the fast path's on the growing cache, its key is
    written at the loaded length, and the positions after it stay zero (masked, never seen)."""
    model = twin(dtype="float32")
    expected, grown, decoder = loaded(model, [3, 1, 4, 1, 5], 9)
    with model.inference_context():
        logits = decoder(9)
    np.testing.assert_allclose(logits.numpy(), expected.numpy(), atol=1e-5, rtol=0)
    for (k, _), keys in zip(grown, decoder.keys, strict=True):
        np.testing.assert_allclose(keys[:, :, :6].numpy(), k.numpy(), atol=1e-5, rtol=0)
        assert not keys[:, :, 6:].any()
    assert int(decoder.at) == 6


def test_the_model_lends_its_decoder_to_one_generation_at_a_time(monkeypatch):
    """The captured decoder is the model's, lent to one generation at a time (a second one at the
    same time decodes without it), made anew when the parameters move, and never kept by a decoder
    that failed to be made. Attention rows are refused: a captured step keeps none."""
    model = twin()
    first = lend(model, capture=False)
    assert first is shared_decoder(model) and lend(model, capture=False) is None  # the first holds it
    batch, d = DecodeBatch(model), start(model, [1], 3, SAMPLED, seed=0, include_attention=True)
    batch.decoder = first
    batch.step([d])  # its prompt, read apart from the batch
    with pytest.raises(ValueError, match="without attention rows"):
        batch.step([d])  # the next token would need the attention rows a fixed-shape step does not keep
    batch.close()  # gives the shared decoder back
    assert lend(model, capture=False) is first
    first.give_back()
    model.float()  # the parameters move: a graph of the old ones would read freed memory
    moved = lend(model, capture=False)
    assert moved is not first and moved.keys[0].dtype == torch.float32
    moved.give_back()

    def out_of_memory(*args):
        raise MemoryError

    model.double()  # moved again: the next lend makes a decoder, and that fails
    monkeypatch.setattr(StaticDecoder, "__init__", out_of_memory)
    with pytest.raises(MemoryError):
        lend(model, capture=False)
    monkeypatch.undo()
    assert lend(model, capture=False) is not None  # the lock was let go


NO_CUDA = "no CUDA device on this machine: the capture runs on a GPU only"


@pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_CUDA)
def test_on_cuda_generate_replays_a_captured_step_with_the_cpus_tokens():
    model = twin(dtype="float32")
    expected = [e for e in generate(model, [1, 2, 3], 40, SAMPLED, 4) if isinstance(e, TokenEvent)]
    model.to("cuda")
    assert uses_graphs(model)
    got = [e for e in generate(model, [1, 2, 3], 40, SAMPLED, 4) if isinstance(e, TokenEvent)]
    assert shared_decoder(model).graph is not None  # captured at the first step, replayed since
    assert_same_events(got, expected, 1e-4)


def test_generate_decodes_through_the_decoder_it_is_lent(monkeypatch):
    """Where ``take_decoder`` lends one (on CUDA; here forced, its step run eagerly), ``generate``
    decodes through the model's shared decoder, gives the same tokens, and gives it back after."""
    model = twin()
    expected = [e for e in generate(model, [5, 6], 30, SAMPLED, 2) if isinstance(e, TokenEvent)]
    assert shared_decoder(model) is None
    monkeypatch.setattr(graph_step, "take_decoder", lambda model: lend(model, capture=False))
    got = [e for e in generate(model, [5, 6], 30, SAMPLED, 2) if isinstance(e, TokenEvent)]
    assert shared_decoder(model) is not None
    assert_same_events(got, expected, TOL["float64"])
    assert lend(model, capture=False) is shared_decoder(model)  # given back: lent again


def test_the_capture_warms_up_at_the_new_tokens_position_even_at_the_contexts_end(monkeypatch):
    """The capture's steps, with CUDA's calls stood in for (the recording runs the step, a replay
    runs it again): loaded at the context's last position, the warm-up steps never write past it,
    the position is put back, and the one replay gives the growing cache's logits."""
    model = twin(dtype="float32")
    replays = []

    class Graph:
        def replay(self) -> None:
            replays.append(int(decoder.at))
            decoder._step()

    waits = SimpleNamespace(wait_stream=lambda stream: None)
    monkeypatch.setattr(torch.cuda, "Stream", lambda: waits)
    monkeypatch.setattr(torch.cuda, "current_stream", lambda: waits)
    monkeypatch.setattr(torch.cuda, "stream", lambda stream: contextlib.nullcontext())
    monkeypatch.setattr(torch.cuda, "CUDAGraph", Graph)
    monkeypatch.setattr(torch.cuda, "graph", lambda graph, **how: contextlib.nullcontext())
    last = CONFIGS["pre-gelu"].block_size - 1  # the prompt fills the context but its last position
    expected, _, decoder = loaded(model, [i % 37 for i in range(last)], 7, capture=True)
    with model.inference_context():
        logits = decoder(7)
    assert isinstance(decoder.graph, Graph) and replays == [last] and int(decoder.at) == last + 1
    np.testing.assert_allclose(logits.numpy(), expected.numpy(), atol=1e-5, rtol=0)
