"""One DecodeBatch kept across steps, as the server keeps it: streams join while others run, leave,
and ask in a different order each step; every stream still gets what it gets alone."""

import numpy as np
import pytest
from test_batching import PROMPTS, SAMPLED, TOL, gpt_dir, lstm_dir  # noqa: F401  (fixtures)

from models import load_model
from models.generate import DecodeBatch, TokenEvent, generate, start
from models.sampling import SamplingParams

from helpers import assert_close


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
        asking = [d for d, a in zip(decodings, arrive, strict=True) if a <= t and not d.finished]
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
