"""``playground loadtest``: many concurrent generation streams against a running server.

Each of ``--streams`` clients (async httpx, one connection each) asks for generations one after
another until ``--warmup`` + ``--duration`` seconds have passed, reading every Server-Sent Event.
Printed for the ``--duration`` after the warm-up: errors and 503s, time to first token, the gaps
between tokens, aggregate tokens per second, the server's resident memory at the start and the end
of that window, its median in the window's first and last quarters, and its mean batch (from
``/healthz``). ``--train TASK`` trains a training-lab run
meanwhile (one after another, each watched to its end, as the lab page does). ``--heavy N`` adds N
clients that ask for the heaviest lesson answers one after another (a whole-context trace, the
largest positional table, the KV-cache race), and a probe times ``/healthz`` every 100 ms
throughout: its latency is what a Kubernetes probe would see. ``--max-p95-ms``, ``--max-health-ms``
and ``--max-rss-growth`` turn targets into the exit status. Traffic goes only to ``--url``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from server import loadtest_class
from server.loadtest_class import http_client, percentiles

PROMPTS = (
    "ROMEO:\n",
    "First Citizen:\n",
    "JULIET:\nO ",
    "KING RICHARD II:\n",
    "To be, or not",
    "MENENIUS:\n",
)


@dataclass
class Tally:
    ttft_ms: list[float] = field(default_factory=list)
    gaps_ms: list[float] = field(default_factory=list)
    tokens: int = 0
    generations: int = 0
    errors: list[str] = field(default_factory=list)
    busy: int = 0  # 503 answers
    since: float = 0.0  # perf_counter time from which figures count (the end of the warm-up)
    retry_after: set[str] = field(default_factory=set)  # Retry-After values of the 503s
    health_ms: list[float] = field(default_factory=list)  # /healthz latency, every 100 ms
    rss: list[tuple[float, float]] = field(default_factory=list)  # (perf_counter, MiB) of each /healthz
    heavy: dict[int, int] = field(default_factory=dict)  # status of heavy requests → count
    train_steps: int = 0  # training-lab steps taken while the figures count
    train_runs: int = 0


HEAVY = (  # the largest answers a lesson page can ask for, within the documented caps
    ("POST", "/api/trace", {"text": "First Citizen:\nBefore we proceed any further, hear me speak." * 2}),
    ("GET", "/api/positional?positions=512&dims=512", None),
    ("POST", "/api/kv-cache", {"text": "ROMEO:\n", "n": 64}),
)


async def heavy_loop(url: str, index: int, args: argparse.Namespace, deadline: float, tally: Tally) -> None:
    async with http_client(60.0) as client:
        n = index
        while time.perf_counter() < deadline:
            method, path, body = HEAVY[n % len(HEAVY)]
            n += 1
            try:
                if method == "GET":
                    r = await client.get(f"{url}{path}")
                else:
                    r = await client.post(f"{url}{path}", json={"model": args.model, **(body or {})})
            except Exception as e:  # counted like a failed stream
                tally.errors.append(f"heavy {path}: {type(e).__name__}: {e}")
                continue
            if time.perf_counter() >= tally.since:
                tally.heavy[r.status_code] = tally.heavy.get(r.status_code, 0) + 1
            if r.status_code == 503:
                await asyncio.sleep(float(r.headers.get("retry-after", "1")))
            elif r.status_code != 200:
                tally.errors.append(f"heavy {path}: HTTP {r.status_code}: {r.text[:200]}")


async def train_loop(url: str, args: argparse.Namespace, deadline: float, tally: Tally) -> None:
    """Training-lab runs of task ``--train``, one after another, each watched to its end as the page
    watches it (a run nobody watches would stop by itself)."""
    async with http_client(60.0) as client:
        while time.perf_counter() < deadline:
            r = await client.post(f"{url}/api/train", json={"task": args.train, "steps": 5000})
            if r.status_code == 503:
                await asyncio.sleep(float(r.headers.get("retry-after", "1")))
                continue
            if r.status_code != 200:
                tally.errors.append(f"train: HTTP {r.status_code}: {r.text[:200]}")
                return
            run = r.json()
            async with client.stream("GET", f"{url}{run['events']}") as events:
                async for line in events.aiter_lines():
                    if line.startswith("event: step") and time.perf_counter() >= tally.since:
                        tally.train_steps += 1
                    if line.startswith("event: done") or time.perf_counter() >= deadline:
                        break
            tally.train_runs += 1
            await client.post(f"{url}/api/train/{run['id']}/control", json={"action": "stop"})


async def health_probe(url: str, deadline: float, tally: Tally) -> None:
    async with http_client(30.0) as client:
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            r = await client.get(f"{url}/healthz")
            if start >= tally.since:
                tally.health_ms.append((time.perf_counter() - start) * 1000)
                if (rss := r.json().get("rss_mib")) is not None:
                    tally.rss.append((start, rss))
            await asyncio.sleep(max(0.0, 0.1 - (time.perf_counter() - start)))


async def one_generation(client: Any, url: str, body: dict[str, Any], tally: Tally) -> None:
    start = time.perf_counter()
    last = None
    async with client.stream("POST", f"{url}/api/generate", json=body) as r:
        if r.status_code == 503:
            if time.perf_counter() >= tally.since:
                tally.busy += 1
                tally.retry_after.add(r.headers.get("retry-after", "missing"))
            await asyncio.sleep(float(r.headers.get("retry-after", "1")))
            return
        if r.status_code != 200:
            tally.errors.append(f"HTTP {r.status_code}: {(await r.aread())[:200]!r}")
            return
        event = None
        async for line in r.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "token":
                now = time.perf_counter()
                if now < tally.since:
                    last = now
                    continue
                if last is None:
                    tally.ttft_ms.append((now - start) * 1000)
                else:
                    tally.gaps_ms.append((now - last) * 1000)
                last = now
                tally.tokens += 1
            elif line.startswith("data:") and event == "error":
                tally.errors.append(line[5:].strip())
    tally.generations += 1


async def client_loop(url: str, index: int, args: argparse.Namespace, deadline: float, tally: Tally) -> None:
    body = {
        "model": args.model,
        "max_new_tokens": args.max_new_tokens,
        "temperature": 0.8,
        "include_attention": args.attention,
        "backend": args.backend,
    }
    async with http_client(60.0) as client:
        n = 0
        while time.perf_counter() < deadline:
            prompts = args.prompt or PROMPTS
            request = {**body, "prompt": prompts[(index + n) % len(prompts)], "seed": index * 1000 + n}
            try:
                await one_generation(client, url, request, tally)
            except Exception as e:  # a failed stream is counted, the client goes on
                tally.errors.append(f"{type(e).__name__}: {e}")
            n += 1


async def run(args: argparse.Namespace) -> dict[str, Any]:
    url = args.url.rstrip("/")
    begin = time.perf_counter()
    tally = Tally(since=begin + args.warmup)
    deadline = tally.since + args.duration
    marks: dict[str, Any] = {}

    async def health_at(name: str, at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        async with http_client(30) as c:
            marks[name] = (await c.get(f"{url}/healthz")).json()

    async def clients() -> None:
        await asyncio.gather(
            *(client_loop(url, i, args, deadline, tally) for i in range(args.streams)),
            *(heavy_loop(url, i, args, deadline, tally) for i in range(args.heavy)),
            *([train_loop(url, args, deadline, tally)] if args.train else []),
            health_probe(url, deadline, tally),
        )
        marks["end"] = time.perf_counter()

    await asyncio.gather(health_at("before", tally.since), clients(), health_at("after", deadline))
    before, after = marks["before"], marks["after"]
    elapsed = min(marks["end"], deadline) - tally.since
    return {
        "url": url,
        "model": args.model,
        "backend": args.backend,
        "attention": args.attention,
        "streams": args.streams,
        "warmup_s": args.warmup,
        "duration_s": round(elapsed, 1),
        "generations": tally.generations,
        "tokens": tally.tokens,
        "tokens_per_s": tally.tokens / elapsed,
        "errors": len(tally.errors),
        "error_samples": tally.errors[:5],
        "busy_503": tally.busy,
        "retry_after": sorted(tally.retry_after),
        "ttft_ms": percentiles(tally.ttft_ms),
        "inter_token_ms": percentiles(tally.gaps_ms),
        "heavy_clients": args.heavy,
        "heavy_status": {str(k): v for k, v in sorted(tally.heavy.items())},
        "healthz_ms": percentiles(tally.health_ms),
        "train": args.train,
        "train_steps_per_s": tally.train_steps / elapsed if args.train else None,
        "server_rss_mib": {"before": before.get("rss_mib"), "after": after.get("rss_mib")},
        "server_rss_median_mib": rss_medians(tally.rss, tally.since, deadline),
        "mean_batch": after.get("mean_batch"),
        "server_cpu_ms_per_token": cpu_ms_per_token(before, after),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else [],
    }


def rss_medians(samples: list[tuple[float, float]], since: float, until: float) -> dict[str, float | None]:
    """The server's median resident memory in the first and in the last quarter of the window,
    from the probe's /healthz answers (ten a second). Under load memory moves as a batch's cache
    buffers are made and freed, so two single readings, or a quarter's peak, are single moments;
    the median is what it held most of the quarter, and a leak raises it."""
    quarter = (until - since) / 4

    def median(lo: float, hi: float) -> float | None:
        values = [m for t, m in samples if lo <= t < hi]
        return float(np.median(values)) if values else None

    return {"first": median(since, since + quarter), "last": median(until - quarter, until)}


def cpu_ms_per_token(before: dict[str, Any], after: dict[str, Any]) -> float | None:
    """The server's CPU time per token generated between two /healthz answers: what a token costs
    the server whatever else shares the machine (wall-clock gaps grow with the machine's load)."""
    cpu = (after.get("cpu_s") or 0) - (before.get("cpu_s") or 0)
    tokens = after.get("tokens", 0) - before.get("tokens", 0)
    return round(1000 * cpu / tokens, 3) if before.get("cpu_s") is not None and tokens > 0 else None


def report(r: dict[str, Any]) -> str:
    def ms(d: dict[str, float | None]) -> str:
        return " / ".join("-" if v is None else f"{v:.1f}" for v in (d["p50"], d["p95"], d["max"]))

    rss, medians, cpu = r["server_rss_mib"], r["server_rss_median_mib"], r.get("server_cpu_ms_per_token")
    rows = [
        ("streams", str(r["streams"])),
        ("duration", f"{r['duration_s']} s"),
        ("generations", str(r["generations"])),
        ("errors", str(r["errors"])),
        ("503 (busy), Retry-After", f"{r['busy_503']}, {', '.join(r['retry_after']) or '-'}"),
        ("time to first token p50 / p95 / max", f"{ms(r['ttft_ms'])} ms"),
        ("inter-token p50 / p95 / max", f"{ms(r['inter_token_ms'])} ms"),
        ("aggregate tokens/s", f"{r['tokens_per_s']:.0f}"),
        (
            f"heavy clients, answers by status ({r['heavy_clients']})",
            ", ".join(f"{k}: {v}" for k, v in r["heavy_status"].items()) or "-",
        ),
        ("/healthz every 100 ms, p50 / p95 / max", f"{ms(r['healthz_ms'])} ms"),
        (
            "training-lab steps/s meanwhile",
            f"{r['train_steps_per_s']:.1f} ({r['train']})" if r["train"] else "- (no --train)",
        ),
        ("server RSS before → after", f"{rss['before']} → {rss['after']} MiB"),
        ("server RSS median, first → last quarter", f"{medians['first']} → {medians['last']} MiB"),
        ("mean streams per forward (since start-up)", str(r["mean_batch"])),
        ("server CPU per token", "-" if cpu is None else f"{cpu:.2f} ms"),
        ("load average at the end (1, 5, 15 min)", " ".join(f"{x:.2f}" for x in r["load_average"])),
    ]
    width = max(len(k) for k, _ in rows)
    head = (
        f"{r['model']} on {r['backend']}{' with attention' if r['attention'] else ''} at {r['url']}, "
        f"after {r['warmup_s']:g} s of warm-up\n"
    )
    return head + "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows) + "\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url", default="http://127.0.0.1:8000", help="a running server (default %(default)s)"
    )
    parser.add_argument("--streams", type=int, default=50, help="concurrent clients (default 50)")
    parser.add_argument("--duration", type=float, default=60, help="seconds to keep streaming (default 60)")
    parser.add_argument(
        "--warmup", type=float, default=0, help="seconds of load before the figures count (default 0)"
    )
    parser.add_argument("--model", default="shakespeare-char")
    parser.add_argument("--backend", choices=("numpy", "torch"), default="numpy")
    parser.add_argument("--max-new-tokens", type=int, default=100)
    parser.add_argument(
        "--prompt", action="append", help="a prompt to use (repeat for several; default: Shakespeare)"
    )
    parser.add_argument("--attention", action="store_true", help="ask for attention rows with every token")
    parser.add_argument(
        "--heavy", type=int, default=0, help="clients asking for the heaviest lesson answers (default 0)"
    )
    parser.add_argument(
        "--train",
        choices=("copy", "reverse", "sort", "induction", "numbers", "shakespeare"),
        help="also train a training-lab run of this task throughout (its steps/s are reported)",
    )
    parser.add_argument("--max-health-ms", type=float, help="fail when the slowest /healthz took longer")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--max-p95-ms", type=float, help="fail (exit 1) when inter-token p95 is above this")
    parser.add_argument(
        "--max-rss-growth", type=float, help="fail when server memory grows by more than this fraction"
    )
    parser.add_argument("--expect-busy", action="store_true", help="fail unless some requests got 503")
    loadtest_class.add_arguments(parser)


def rss_growth(r: dict[str, Any]) -> float | None:
    """How much the server's memory grew over the window: its median in the last quarter over its
    median in the first (the two readings at the start and the end when the probe has none)."""
    medians = r.get("server_rss_median_mib") or {}
    first, last = medians.get("first"), medians.get("last")
    if not (first and last):
        first, last = r["server_rss_mib"]["before"], r["server_rss_mib"]["after"]
    return last / first - 1 if first and last else None


def failures(r: dict[str, Any], args: argparse.Namespace) -> list[str]:
    """The targets ``r`` misses."""
    out = []
    if r["errors"]:
        out.append(f"{r['errors']} errors, e.g. {r['error_samples'][:2]}")
    p95 = r["inter_token_ms"]["p95"]
    if args.max_p95_ms is not None and (p95 is None or p95 > args.max_p95_ms):
        out.append(f"inter-token p95 {p95} ms > {args.max_p95_ms} ms")
    growth = rss_growth(r)
    if args.max_rss_growth is not None and growth is not None and growth > args.max_rss_growth:
        out.append(f"server memory grew {100 * growth:.1f}% > {100 * args.max_rss_growth:.0f}%")
    worst = r["healthz_ms"]["max"]
    if args.max_health_ms is not None and (worst is None or worst > args.max_health_ms):
        out.append(f"slowest /healthz {worst} ms > {args.max_health_ms} ms")
    if args.expect_busy and not r["busy_503"]:
        out.append("no request was turned away with 503")
    if r["busy_503"] and "missing" in r["retry_after"]:
        out.append("a 503 came without Retry-After")
    return out


def main(args: argparse.Namespace) -> int:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would bury the report
    if args.live_class:
        result = loadtest_class.measure(args)
        sys.stdout.write(loadtest_class.report(result))
    else:
        if args.streams < 0 or args.heavy < 0 or args.streams + args.heavy < 1:
            raise ValueError("--streams and --heavy must not be negative, and one of them ≥ 1")
        if args.duration <= 0 or args.warmup < 0:
            raise ValueError("--duration must be > 0 and --warmup ≥ 0")
        result = asyncio.run(run(args))
        result["failures"] = failures(result, args)
        sys.stdout.write(report(result))
    for f in result["failures"]:
        sys.stdout.write(f"MISSED: {f}\n")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 1 if result["failures"] else 0
