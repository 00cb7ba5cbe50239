"""One DecodeBatch kept across steps, as the server keeps it: streams join while others run, leave,
and ask in a different order each step; every stream still gets what it gets alone."""

import collections

import numpy as np
import pytest
from test_batching import PROMPTS, SAMPLED, TOL, gpt_dir, lstm_dir  # noqa: F401  (fixtures)

from models import gpt_numpy, gpt_torch, load_model
from models.config import GPTConfig
from models.generate import DecodeBatch, TokenEvent, generate, start
from models.sampling import SamplingParams

from helpers import assert_close, random_params

TWINS = {"numpy": gpt_numpy.GPT, "torch": gpt_torch.GPT}


def small_twin(backend: str, block_size: int, seed: int):
    """A 2-layer GPT of random weights (float64) with a short context, for schedules past it."""
    cfg = GPTConfig(vocab_size=40, block_size=block_size, n_layer=2, n_head=2, n_embd=32)
    return TWINS[backend](cfg, random_params(cfg, seed=seed, jitter=0.5), "float64")


def asking_at(decodings: list, arrive, t: int) -> list:
    """The decodings that have arrived by step ``t`` and are not finished."""
    return [d for d, a in zip(decodings, arrive, strict=True) if a <= t and not d.finished]


def assert_each_got_its_tokens_alone(model, decodings: list, plan: list, events: dict, note=None) -> None:
    """Every decoding of ``plan`` ((prompt, new tokens, seed) each) finished with the token ids
    ``events`` holds for it, those ``generate`` gives it alone."""
    assert all(d.finished for d in decodings)
    for d, (p, n, s) in zip(decodings, plan, strict=True):
        alone = [e.id for e in generate(model, p, n, SAMPLED, s) if isinstance(e, TokenEvent)]
        assert events[id(d)] == alone, note or (p, n)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("arch", ["gpt", "lstm"])
def test_streams_join_leave_and_reorder_in_one_kept_batch(gpt_dir, lstm_dir, backend, arch):  # noqa: F811
    model = load_model(gpt_dir if arch == "gpt" else lstm_dir, backend, "float64")
    plan = [(PROMPTS[i % 4], 6 + 3 * (i % 3), SAMPLED if i % 2 else SamplingParams(0.7), i) for i in range(7)]
    arrive = [0, 0, 1, 3, 3, 4, 8]  # the step each stream first asks at
    decodings = [start(model, p, n, q, seed=s, include_attention=arch == "gpt") for p, n, q, s in plan]
    batch, events = DecodeBatch(model), {id(d): [] for d in decodings}
    order = np.random.default_rng(0)
    for t in range(40):
        asking = asking_at(decodings, arrive, t)
        if t % 5 == 2 and len(asking) > 2:
            asking = asking[1:]  # one skips a step (its consumer was slow): it leaves and comes back
        asking = [asking[i] for i in order.permutation(len(asking))]
        for d, e in zip([d for d in asking if not d.finished], batch.step(asking), strict=True):
            events[id(d)].append(e)
    assert all(d.finished for d in decodings)
    for d, (p, n, q, s) in zip(decodings, plan, strict=True):
        solo = [
            e
            for e in generate(model, p, n, q, s, include_attention=arch == "gpt")
            if isinstance(e, TokenEvent)
        ]
        got = events[id(d)]
        assert [e.id for e in got] == [e.id for e in solo]
        for a, b in zip(got, solo, strict=True):
            assert_close("prob", a.step.model_prob, b.step.model_prob, TOL["float64"])
            if a.attention is not None:
                assert_close("attention", a.attention, b.attention, TOL["float64"])


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_a_newcomer_takes_the_row_of_a_stream_that_ends_without_copying_the_batch(gpt_dir, backend):  # noqa: F811
    """A ends as C begins: C's cache is written into A's row of the batch's cache where it lies (the
    cache grown in place stays the same buffer), and every stream gets what it gets alone."""
    model = load_model(gpt_dir, backend, "float64")
    plan = {"A": (PROMPTS[0], 4, 1), "B": (PROMPTS[1], 12, 2), "C": (PROMPTS[2][:2], 6, 3)}
    arrive = {"A": 0, "B": 0, "C": 3}  # C reads its prompt at A's last step and joins at the next
    decodings = {
        k: start(model, p, n, SAMPLED, seed=s, include_attention=True) for k, (p, n, s) in plan.items()
    }
    batch, events, slabs = DecodeBatch(model), {k: [] for k in plan}, []
    for t in range(14):
        asking = [k for k, d in decodings.items() if arrive[k] <= t and not d.finished]
        for k, e in zip(asking, batch.step([decodings[k] for k in asking]), strict=True):
            events[k].append(e)
        if t in (3, 4):
            slabs.append(batch.past[0].slab)
    assert batch.members == [] or all(d.finished for d in decodings.values())
    assert slabs[0] is slabs[1]  # C took A's row: no new buffer, no copy of B's row
    for k, (p, n, s) in plan.items():
        solo = [
            e for e in generate(model, p, n, SAMPLED, s, include_attention=True) if isinstance(e, TokenEvent)
        ]
        assert [e.id for e in events[k]] == [e.id for e in solo], k
        for a, b in zip(events[k], solo, strict=True):
            assert_close("attention", a.attention, b.attention, TOL["float64"])


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_random_schedules_past_the_context_give_every_stream_what_it_gets_alone(backend):
    """Streams arrive at random, skip steps, run past a 16-token context (their windows slide) and
    end while others take their rows or leave them vacant: each still gets its own tokens alone."""
    model = small_twin(backend, 16, seed=1)
    for trial in range(6):
        rng = np.random.default_rng(trial)
        plan = [
            (rng.integers(1, 40, rng.integers(1, 10)).tolist(), int(rng.integers(3, 40)), s)
            for s in range(12)
        ]
        arrive = np.sort(rng.integers(0, 30, len(plan)))
        decodings = [start(model, p, n, SAMPLED, seed=s) for p, n, s in plan]
        batch, events = DecodeBatch(model), {id(d): [] for d in decodings}
        for t in range(200):
            asking = asking_at(decodings, arrive, t)
            if rng.random() < 0.2 and len(asking) > 2:
                asking = asking[1:]  # one skips a step
            for d, e in zip(asking, batch.step(asking), strict=True):
                events[id(d)].append(e.id)
        assert_each_got_its_tokens_alone(model, decodings, plan, events, trial)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_a_batch_keeps_its_buffers_while_rows_are_merged_and_selected_anew(backend):
    """Streams join with caches longer than the batch's (merged after its rows), leave (rows kept
    vacant, then selected anew) and slide past the context (read apart, merged back): the batch's
    cache stays in the buffers it was first merged into, and every stream gets what it gets alone."""
    model = small_twin(backend, 24, seed=2)
    rng = np.random.default_rng(5)
    plan = [([1, 2], 8, 0), ([3, 4, 5], 40, 1), ([6, 7], 6, 2), (rng.integers(1, 40, 12).tolist(), 30, 3)]
    plan += [([8], 12, 4), (rng.integers(1, 40, 14).tolist(), 6, 5)]
    arrive = [0, 0, 0, 3, 9, 30]  # some arrive with caches longer than the batch's
    decodings = [start(model, p, n, SAMPLED, seed=s) for p, n, s in plan]
    batch, events, slabs, sizes = DecodeBatch(model), {id(d): [] for d in decodings}, [], set()
    for t in range(60):
        asking = asking_at(decodings, arrive, t)
        for d, e in zip(asking, batch.step(asking), strict=True):
            events[id(d)].append(e.id)
        if len(batch.members) > 1:
            slabs.append([layer.slab for layer in batch.past])
            sizes.add(len(batch.members))
    assert len(sizes) > 2  # rows came and went
    assert all(a is b for held in slabs for a, b in zip(held, slabs[0], strict=True))  # ... in the same slabs
    assert_each_got_its_tokens_alone(model, decodings, plan, events)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_rows_are_selected_and_newcomers_merged_in_the_batchs_own_buffers(backend, monkeypatch):
    """Once the batch has its buffers, a member that leaves and newcomers that join are arranged in
    them, rows moved up and caches written after them: no cache is copied into new arrays
    (``reorder_past`` and ``merge_past`` are not called), and every stream gets what it gets alone."""
    model = small_twin(backend, 32, seed=4)
    plan = [([1, 2, 3], 4, 0), ([4, 5], 20, 1), ([6, 7, 8, 9], 20, 2), ([3], 12, 3), ([5, 6], 12, 4)]
    arrive = [0, 0, 0, 6, 6]  # the first leaves at step 4; two arrive together when no row is vacant
    decodings = [start(model, p, n, SAMPLED, seed=s) for p, n, s in plan]
    batch, events, copies = DecodeBatch(model), {id(d): [] for d in decodings}, collections.Counter()

    def counted(name):
        method = getattr(model, name)

        def call(*args):
            copies[name] += 1
            return method(*args)

        return call

    for t in range(30):
        asking = asking_at(decodings, arrive, t)
        if t == 2:  # the batch has its buffers: from now on every copy into new arrays is counted
            for name in ("reorder_past", "merge_past"):
                monkeypatch.setattr(model, name, counted(name))
        for d, e in zip(asking, batch.step(asking), strict=True):
            events[id(d)].append(e.id)
    assert not copies
    assert_each_got_its_tokens_alone(model, decodings, plan, events)
