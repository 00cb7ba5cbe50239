"""Where one batched decode step of the server goes: forward, sampling, attention rows, encoding.

Runs what ``playground serve`` runs for N streams of one model (default: 50 streams of
shakespeare-char on the NumPy twin, temperature 0.8, attention rows with every token, as
``make soak`` asks), in this process and without sockets: ``DecodeBatch.step`` with its forward
and sampler timed apart, then every token event turned into the bytes the SSE response sends.
Prints the mean CPU milliseconds per step of each part. Socket writes and the event loop are what
the server's CPU per token (``playground loadtest``) holds beyond this total / streams.

    python scripts/profile_step.py [--streams 50] [--steps 60] [--model shakespeare-char]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.sse import format_sse_event
from threadpoolctl import threadpool_limits

from models.generate import DecodeBatch, Decoding, start
from models.loading import zoo_dir
from models.sampling import SamplingParams
from server import streaming
from server.loadtest import PROMPTS
from server.registry import Registry
from server.settings import Settings

TIMES: dict[str, float] = defaultdict(float)
# CPU time of this thread (every step runs in it, BLAS on one thread as the server sets it):
# unlike wall time, hardly changed by whatever else runs on the machine
CLOCK = time.thread_time


def timed(name: str, fn):
    def wrapper(*args, **kwargs):
        t0 = CLOCK()
        try:
            return fn(*args, **kwargs)
        finally:
            TIMES[name] += CLOCK() - t0

    return wrapper


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--steps", type=int, default=60, help="steps measured (after 10 of warm-up)")
    parser.add_argument("--model", default="shakespeare-char")
    parser.add_argument("--backend", choices=("numpy", "torch"), default="numpy")
    parser.add_argument("--no-attention", dest="attention", action="store_false")
    parser.add_argument(
        "--max-new-tokens",
        type=int,
        default=100,
        help="per stream, as loadtest asks; a finished stream "
        "is replaced by a new one, and the first ones end at staggered steps (default 100)",
    )
    args = parser.parse_args()
    threadpool_limits(limits=Settings().blas_threads, user_api="blas")  # as the server does
    entry = Registry.scan(zoo_dir()).get(args.model)
    if entry is None:
        parser.error(f"--model: no model {args.model!r} in {zoo_dir()}")
    model = entry.model(args.backend)
    params = SamplingParams(temperature=0.8)
    tok = entry.tokenizer

    def decoding(i: int, n: int) -> Decoding:
        ids = tok.encode(PROMPTS[i % len(PROMPTS)])
        return start(model, ids, n, params, i * 1000, tokenizer=tok, include_attention=args.attention)

    # stream i's first generation ends after a share of max_new_tokens: one joins every few steps
    decodings = [decoding(i, 1 + args.max_new_tokens * (i + 1) // args.streams) for i in range(args.streams)]
    batch = DecodeBatch(model)
    batch._forward = timed("forward (with merges) + attention rows sliced", batch._forward)
    batch._arrange = timed("  of which merging newcomers' caches", batch._arrange)
    profiled = getattr(streaming, "PROFILED", ("models.generate.sample_next", "server.streaming.rounded"))
    for name in (*profiled, "models.generate.read_windows"):  # as the server calls them
        module, attr = name.rsplit(".", 1)
        setattr(sys.modules[module], attr, timed(name, getattr(sys.modules[module], attr)))
    encode = getattr(streaming, "sse_bytes", None) or (  # the code before sse_bytes: what FastAPI did
        lambda entry, e: format_sse_event(
            data_str=streaming.token_event(entry, e).model_dump_json(), event="token"
        )
    )
    total, joined = 0.0, 0
    for n in range(10 + args.steps):
        if n == 10:
            TIMES.clear()
            total, joined = 0.0, 0
        for i, d in enumerate(decodings):
            if d.finished:
                decodings[i] = decoding(i + n, args.max_new_tokens)
                joined += 1
        t0 = CLOCK()
        events = batch.step(decodings)
        t_step = CLOCK() - t0
        t1 = CLOCK()
        for e in events:
            encode(entry, e)
        TIMES["encoding (all, to SSE bytes)"] += CLOCK() - t1
        total += t_step + CLOCK() - t1
    batch.release()
    print(f"{args.streams} streams, {args.model} ({args.backend}), attention rows: {args.attention}")
    print(f"mean ms per step over {args.steps} steps ({joined} streams joined meanwhile):")
    for name, s in TIMES.items():
        print(f"  {name:<44} {s / args.steps * 1000:8.2f}")
    print(f"  {'step + encoding':<44} {total / args.steps * 1000:8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
