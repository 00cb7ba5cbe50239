"""Where one batched decode step of the server goes: forward, sampling, attention rows, encoding.

Runs what ``playground serve`` runs for N streams of one model (default: 50 streams of
shakespeare-char on the NumPy twin, temperature 0.8, attention rows with every token, as
``make soak`` asks), in this process and without sockets: ``DecodeBatch.step`` with its forward
and sampler timed apart, then every token event turned into the bytes the SSE response sends.
Prints the mean milliseconds per step of each part. Socket writes and the event loop are what
``playground loadtest``'s inter-token gap holds beyond this total.

    python scripts/profile_step.py [--streams 50] [--steps 60] [--model shakespeare-char]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.generate import DecodeBatch, Decoding, start
from models.loading import zoo_dir
from models.sampling import SamplingParams
from server import streaming
from server.loadtest import PROMPTS
from server.registry import Registry

TIMES: dict[str, float] = defaultdict(float)


def timed(name: str, fn):
    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            TIMES[name] += time.perf_counter() - t0

    return wrapper


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--steps", type=int, default=60, help="steps measured (after 10 of warm-up)")
    parser.add_argument("--model", default="shakespeare-char")
    parser.add_argument("--backend", choices=("numpy", "torch"), default="numpy")
    parser.add_argument("--no-attention", dest="attention", action="store_false")
    args = parser.parse_args()
    entry = Registry.scan(zoo_dir()).get(args.model)
    if entry is None:
        parser.error(f"--model: no model {args.model!r} in {zoo_dir()}")
    model = entry.model(args.backend)
    params = SamplingParams(temperature=0.8)
    tok = entry.tokenizer

    def decoding(i: int) -> Decoding:
        ids = tok.encode(PROMPTS[i % len(PROMPTS)])
        return start(model, ids, 10_000, params, i * 1000, tokenizer=tok, include_attention=args.attention)

    decodings = [decoding(i) for i in range(args.streams)]
    batch = DecodeBatch(model)
    batch._forward = timed("forward + attention rows sliced", batch._forward)
    for name in streaming.PROFILED:  # the sampler and the encoder, as the server calls them
        module, attr = name.rsplit(".", 1)
        mod = sys.modules[module]
        setattr(mod, attr, timed(name, getattr(mod, attr)))
    encode = streaming.sse_bytes if hasattr(streaming, "sse_bytes") else None
    total = 0.0
    for n in range(10 + args.steps):
        if n == 10:
            TIMES.clear()
            total = 0.0
        t0 = time.perf_counter()
        events = batch.step(decodings)
        t_step = time.perf_counter() - t0
        t1 = time.perf_counter()
        for e in events:
            encode(entry, e)
        TIMES["encoding (all, to SSE bytes)"] += time.perf_counter() - t1
        total += t_step + time.perf_counter() - t1
    batch.release()
    print(f"{args.streams} streams, {args.model} ({args.backend}), attention rows: {args.attention}")
    print(f"mean ms per step over {args.steps} steps:")
    for name, s in sorted(TIMES.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<44} {s / args.steps * 1000:8.2f}")
    print(f"  {'step + encoding':<44} {total / args.steps * 1000:8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
