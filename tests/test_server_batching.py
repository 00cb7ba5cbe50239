"""Concurrent streams share forwards, give what each gives alone, and end cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from models import load_model
from models.generate import generate, start, step
from models.sampling import SamplingParams
from server.batching import PROMPT_TOKENS, Member, pick
from server.main import create_app
from server.settings import Settings

from helpers import TOK, char_gpt, iter_sse, server_process, sse_events

PROMPTS = ["be", "a", "head, bed. ", "a cab\nde", "b", "fed gab, "]


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    root = tmp_path_factory.mktemp("zoo")
    char_gpt(root / "tiny-char", jitter=0.3, block_size=64, n_layer=2, n_embd=16)
    char_gpt(root / "short-char", jitter=0.3, block_size=16, n_layer=2, n_embd=16)
    return root


async def run_streams(app, bodies):
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=60) as c:
            responses = await asyncio.gather(*(c.post("/api/generate", json=b) for b in bodies))
            health = (await c.get("/healthz")).json()
    return [sse_events(r) for r in responses], health


@pytest.mark.parametrize("batching", [True, False])
def test_concurrent_streams_give_what_each_gives_alone(zoo, batching):
    app = create_app(Settings(models_dir=zoo, batching=batching))
    bodies = [
        {
            "model": "tiny-char",
            "prompt": p,
            "max_new_tokens": 12 + 3 * i,
            "temperature": 0.9,
            "top_k": 20,
            "seed": i,
        }
        for i, p in enumerate(PROMPTS)
    ]
    with ThreadPoolExecutor(1) as pool:  # a loop of its own: Playwright's may be running in this thread
        streams, health = pool.submit(asyncio.run, run_streams(app, bodies)).result()
    model = load_model(zoo / "tiny-char", "numpy")
    for body, events in zip(bodies, streams, strict=True):
        alone = list(
            generate(
                model,
                TOK.encode(body["prompt"]),
                body["max_new_tokens"],
                SamplingParams(0.9, 20),
                body["seed"],
            )
        )
        assert events[0]["event"] == "start" and events[-1]["event"] == "done"
        tokens = [e["id"] for e in events if e["event"] == "token"]
        assert tokens == alone[-1].tokens
        assert events[-1]["reason"] == "length"
    if batching:
        assert health["mean_batch"] > 1.5  # six streams started together share their forwards
    else:
        assert health["mean_batch"] == 1.0


def test_newcomers_are_read_a_few_prompts_per_step_while_more_streams_run(zoo):
    """Streams beginning while more run: the running ones are all stepped, newcomers only while
    their prompts come to PROMPT_TOKENS; one newcomer is always taken, however long."""
    model = load_model(zoo / "tiny-char", "numpy")
    running = [start(model, TOK.encode(p), 20) for p in PROMPTS + PROMPTS[:2]]  # 8 running, 6 waiting
    step(model, running)  # their prompts are read: they are running now
    prompt = [1] * 10
    newcomers = [start(model, prompt, 20) for _ in range(6)]
    ready = [Member(d, str) for d in [running[0], *newcomers, *running[1:]]]
    picked = [m.decoding for m in pick(ready, max_batch=64)]
    fit = PROMPT_TOKENS // len(prompt)
    assert 1 <= fit < len(newcomers)
    assert picked == [running[0], *newcomers[:fit], *running[1:]]
    assert [m.decoding for m in pick(ready, max_batch=2)] == [running[0], newcomers[0]]
    long = start(model, [1] * (PROMPT_TOKENS + 5), 5)
    waiting = [Member(d, str) for d in [long, *newcomers, *running]]
    assert [m.decoding for m in pick(waiting, max_batch=64)] == [long, *running]
    # as many waiting as running, or more (a quiet server): every prompt is read at once
    ready = [Member(d, str) for d in [*newcomers[:3], *running[:3]]]
    assert [m.decoding for m in pick(ready, max_batch=64)] == [*newcomers[:3], *running[:3]]


@pytest.mark.parametrize("batching", [True, False])
def test_streams_slide_and_stop_while_others_go_on(zoo, batching):
    """Streams past a 16-token context, some stopping at a stop string: each gives what
    ``models.generate`` gives alone, window starts and text included."""
    app = create_app(Settings(models_dir=zoo, batching=batching))
    stops = [None, ["e"], None, ["ab", "."], None, ["\n"]]
    bodies = [
        {"model": "short-char", "prompt": p, "max_new_tokens": 30 + 7 * i, "temperature": 0.9, "seed": i}
        | ({"stop": stops[i]} if stops[i] else {})
        for i, p in enumerate(PROMPTS)
    ]
    with ThreadPoolExecutor(1) as pool:
        streams, _ = pool.submit(asyncio.run, run_streams(app, bodies)).result()
    model = load_model(zoo / "short-char", "numpy")
    for body, events in zip(bodies, streams, strict=True):
        prompt = TOK.encode(body["prompt"])
        alone = list(
            generate(
                model,
                prompt,
                body["max_new_tokens"],
                SamplingParams(0.9),
                body["seed"],
                tokenizer=TOK,
                stop=body.get("stop", ()),
            )
        )
        tokens = [e for e in events if e["event"] == "token"]
        assert [e["id"] for e in tokens] == alone[-1].tokens
        assert [e["window_start"] for e in tokens] == [e.window_start for e in alone[:-1]]
        assert "".join(e["text"] for e in tokens) == "".join(e.text for e in alone[:-1])
        assert events[-1]["reason"] == alone[-1].reason
        if events[-1]["reason"] == "length":
            assert tokens[-1]["window_start"] > 0  # it went past the context
    assert {s[-1]["reason"] for s in streams} == {"length", "stop"}


def test_sigterm_ends_open_streams_with_a_done_event_and_exits(tmp_path):
    """Three long streams, each holding its server-side stream suspended (its client reads nothing
    more after two tokens, and the attention rows soon fill the socket buffers); on SIGTERM each
    ends after its next step with ``done`` (reason "shutdown") and the process exits."""
    char_gpt(tmp_path / "zoo" / "long-char", block_size=512, n_layer=4, n_head=4, n_embd=16)
    body = {"model": "long-char", "prompt": "a", "max_new_tokens": 511, "include_attention": True}
    results: dict[int, list[dict]] = {}
    ready, terminated = threading.Barrier(4), threading.Event()

    def consume(i: int, url: str) -> None:
        events: list[dict] = []
        with httpx.Client(timeout=30) as c, c.stream("POST", url + "/api/generate", json=body) as r:
            for event in iter_sse(r.iter_lines()):
                events.append(event)
                if event["event"] == "token" and sum(e["event"] == "token" for e in events) == 2:
                    ready.wait(timeout=30)
                    terminated.wait(timeout=30)
        results[i] = events

    with server_process(tmp_path / "zoo", tmp_path / "server.log") as (proc, url):
        threads = [threading.Thread(target=consume, args=(i, url)) for i in range(3)]
        for t in threads:
            t.start()
        ready.wait(timeout=30)  # every stream has its first tokens
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        terminated.set()
        for t in threads:
            t.join(timeout=20)
        proc.wait(timeout=20)
        took = time.monotonic() - sent
    log = (tmp_path / "server.log").read_text()
    assert "Application shutdown complete" in log and "Finished server process" in log, log
    assert proc.returncode in (0, -signal.SIGTERM)  # uvicorn exits by the signal it was sent, once clean
    assert took < 5, f"shutdown took {took:.1f} s"
    for i in range(3):
        events = results[i]
        done = [e for e in events if e["event"] == "done"]
        assert done and done[0]["reason"] == "shutdown", [e["event"] for e in events[-3:]]
        assert 2 <= done[0]["n_tokens"] < body["max_new_tokens"]
