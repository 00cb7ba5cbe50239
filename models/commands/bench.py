"""``playground bench``: generation speed of Hugging Face ``generate`` and of the two twins, same weights.

For every model config, random GPT-2-initialised weights are written once to a temporary
directory (a valid Hugging Face GPT-2 directory), and every implementation then loads them in
its own child process, so that its peak RSS is its own:

- ``hf-generate``: ``transformers.GPT2LMHeadModel.generate``, greedy, ``use_cache=True``;
- ``torch`` and ``numpy``: the project's streaming ``models.generate.generate`` (KV cache, greedy);
- ``numpy-nocache``: the NumPy twin running the whole sequence again for every new token.

Timings exclude loading and follow one short warm-up generation; every figure is the median of the timed
runs. Beside each row, the matmul floor (``bench_floor``): the time of that decode step's matrix
products alone, at the row's batch and mean cache length, in the row's own backend and device (torch for
``hf-generate`` and the torch twin, NumPy for the NumPy twin), measured in the row's process after each
of its timed runs (the median: a machine's speed drifts, and one short measurement moved the floor by
half), and the row's time over it. ``--device`` puts ``hf-generate`` and the torch twin on a device (on
CUDA the twin's ``generate`` replays its decode step as a graph: ``models/graph_step.py``);
NumPy stays on the CPU. Time to first token is the prompt's forward plus the first token (for
``hf-generate``, a separate ``generate`` of one token). One more child times the NumPy twin at a 256-token
context: one cached step after 255 tokens against a full 256-token forward. The targets at the end are
ratios from this one run.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import importlib.util
import logging
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from models.commands.bench_floor import floor_seconds
from models.commands.bench_report import (
    CacheTiming,
    Row,
    Target,
    describe,
    machine_info,
    model_report,
    targets_report,
    write_json,
)
from models.config import GPTConfig, preset
from models.devices import DEVICES, resolve_device
from models.weights import init_gpt_params, save_gpt_dir

log = logging.getLogger(__name__)

IMPLS = ("hf-generate", "torch", "numpy", "numpy-nocache")

# Presets get a character-level vocabulary and a 256-token context; gpt2-small is GPT-2's own size.
BENCH_MODELS: dict[str, GPTConfig] = {
    "tiny": preset("tiny", vocab_size=65, block_size=256),
    "small": preset("small", vocab_size=65, block_size=256),
    "medium": preset("medium", vocab_size=65, block_size=256),
    "large": preset("large", vocab_size=65, block_size=256),
    "gpt2-small": GPTConfig(vocab_size=50257, block_size=1024, n_layer=12, n_head=12, n_embd=768),
}
DEFAULT_MODELS = ("small", "medium", "large")
QUICK_MODELS = ("small",)

PROMPT_TOKENS = 16
NEW_TOKENS = 200
QUICK_NEW_TOKENS = 32
RUNS = 3
BUDGET_S = 60.0  # a row stops repeating once its timed runs took this long (after at least one)
WARMUP_TOKENS = 8
CACHE_CONTEXT = 256  # tokens in context for the cached step vs recompute comparison
CACHE_REPEATS = 3
SEED = 0
# Read once at start-up by OpenMP (torch) and the BLAS libraries NumPy may use: set for every child.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

# (JSON key, label, numerator impl, denominator impl, minimum) for tokens/s ratios from one run.
SPEED_TARGETS = (
    ("torch_vs_hf", "torch / hf-generate tokens/s", "torch", "hf-generate", 1.5),
    ("numpy_vs_torch", "numpy / torch tokens/s", "numpy", "torch", 1.0),
)
# The twins' ms/token over their own matmul floor: at most this, at these models.
FLOOR_TARGETS = (("torch_vs_floor", "torch", 2.0), ("numpy_vs_floor", "numpy", 2.0))
FLOOR_TARGET_MODELS = ("medium", "large")
# The backend whose matmuls make each row's floor (numpy-nocache recomputes everything: no floor).
FLOOR_BACKEND = {"hf-generate": "torch", "torch": "torch", "numpy": "numpy"}
CACHE_TARGET = ("cache_vs_recompute", f"recompute / cached step at {CACHE_CONTEXT} tokens", 5.0)

T = TypeVar("T")


@dataclass(frozen=True)
class Job:
    """One measurement, run in a child process: everything it needs, picklable."""

    impl: str
    directory: str
    prompt: tuple[int, ...]
    new_tokens: int
    runs: int
    budget_s: float
    device: str = "cpu"  # hf-generate and the torch twin; NumPy always runs on the CPU


# -- the child-process side: load once, warm up, time ----------------------------------------

# A runner generates n tokens from the prompt and returns (seconds, seconds to the first token
# or None when it cannot tell, the generated ids).
Runner = Callable[[int], tuple[float, float | None, list[int]]]


def _twin_runner(model: Any, prompt: Sequence[int]) -> Runner:
    """The project's streaming ``generate`` (KV cache, greedy), every event consumed."""
    from models.generate import DoneEvent, TokenEvent, generate
    from models.sampling import SamplingParams

    greedy = SamplingParams(temperature=0.0)

    def run(n: int) -> tuple[float, float | None, list[int]]:
        start = time.perf_counter()
        ttft, tokens = None, []
        for event in generate(model, prompt, n, greedy, seed=SEED):
            if isinstance(event, TokenEvent) and ttft is None:
                ttft = time.perf_counter() - start
            elif isinstance(event, DoneEvent):
                tokens = event.tokens
        return time.perf_counter() - start, ttft, tokens

    return run


def _nocache_runner(model: Any, prompt: Sequence[int]) -> Runner:
    """Greedy decoding without a cache: every step runs the whole sequence so far."""

    def run(n: int) -> tuple[float, float | None, list[int]]:
        seq = list(prompt)
        start = time.perf_counter()
        ttft = None
        for _ in range(n):
            logits = model.forward(np.asarray([seq]))  # (1, T, V)
            seq.append(int(np.argmax(logits[0, -1])))
            ttft = ttft or time.perf_counter() - start
        return time.perf_counter() - start, ttft, seq[len(prompt) :]

    return run


def _hf_runner(model: Any, prompt: Sequence[int]) -> Runner:
    """``transformers`` ``generate``: greedy, with its KV cache, exactly n new tokens."""
    import torch

    ids = torch.tensor([list(prompt)], device=model.device)
    mask = torch.ones_like(ids)  # explicit: otherwise a prompt token equal to pad_token_id is masked

    def run(n: int) -> tuple[float, float | None, list[int]]:
        start = time.perf_counter()
        out = model.generate(
            ids,
            attention_mask=mask,
            max_new_tokens=n,
            min_new_tokens=n,
            do_sample=False,
            use_cache=True,
            pad_token_id=0,
        )
        return time.perf_counter() - start, None, out[0, len(prompt) :].tolist()

    return run


def _load(job: Job) -> tuple[Runner, int]:
    """Load the model for ``job.impl`` → (its runner, its parameter count)."""
    if job.impl == "hf-generate":
        from transformers import GPT2LMHeadModel
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        hf = GPT2LMHeadModel.from_pretrained(job.directory).eval().to(job.device)
        hf.generation_config.eos_token_id = None  # the twins know no end token: all generate n tokens
        return _hf_runner(hf, job.prompt), hf.num_parameters()

    from models.loading import load_model

    model = load_model(job.directory, backend="torch" if job.impl == "torch" else "numpy")
    if job.impl == "torch":
        model.to(job.device)  # the twin makes its tensors on its parameters' device
    runner = _nocache_runner if job.impl == "numpy-nocache" else _twin_runner
    return runner(model, job.prompt), model.num_parameters()


def _peak_rss_mib() -> float:
    """This process's peak resident set size so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def measure_generation(job: Job, model_name: str) -> Row:
    """Load, warm up, then time up to ``job.runs`` generations (fewer if they exceed the budget)."""
    run, parameters = _load(job)
    run(min(WARMUP_TOKENS, job.new_tokens))
    backend = FLOOR_BACKEND.get(job.impl)
    keys = len(job.prompt) + job.new_tokens // 2  # the mean cache length over the row's steps

    def floor() -> float:  # ms, in this process, right after a run: under the same conditions
        device = job.device if backend == "torch" else "cpu"
        return floor_seconds(BENCH_MODELS[model_name], 1, keys, backend, device) * 1000

    seconds: list[float] = []
    ttfts: list[float] = []
    floors: list[float] = []
    tokens: list[int] = []
    while len(seconds) < job.runs and (not seconds or sum(seconds) < job.budget_s):
        total, ttft, tokens = run(job.new_tokens)
        if len(tokens) != job.new_tokens:
            raise RuntimeError(f"{job.impl} generated {len(tokens)} tokens, not {job.new_tokens}")
        seconds.append(total)
        if ttft is not None:
            ttfts.append(ttft)
        if backend is not None:
            floors.append(floor())
    if not ttfts:  # hf-generate: time to first token is a generation of one token
        ttfts = [run(1)[0] for _ in seconds]
    total = statistics.median(seconds)
    return Row(
        impl=job.impl,
        model=model_name,
        tokens_per_s=job.new_tokens / total,
        ms_per_token=total * 1000 / job.new_tokens,
        ttft_ms=statistics.median(ttfts) * 1000,
        peak_rss_mib=_peak_rss_mib(),
        parameters=parameters,
        runs=len(seconds),
        new_tokens=job.new_tokens,
        tokens=[int(t) for t in tokens],
        floor_ms=statistics.median(floors) if floors else None,
        device=job.device if job.impl in ("hf-generate", "torch") else "cpu",
    )


def measure_cache(directory: str, model_name: str) -> CacheTiming:
    """NumPy twin at ``CACHE_CONTEXT`` tokens: one step after a 255-token cache vs a full forward."""
    from models.loading import load_model

    model = load_model(directory, backend="numpy")
    context = min(CACHE_CONTEXT, model.config.block_size)
    ids = np.random.default_rng(SEED).integers(0, model.config.vocab_size, (1, context))  # (1, T)
    _, past, _ = model.forward_cached(ids[:, :-1])
    cached, full = [], []
    for _ in range(CACHE_REPEATS):
        start = time.perf_counter()
        model.forward_cached(ids[:, -1:], past)  # the cache is not changed: each repeat is the same step
        cached.append(time.perf_counter() - start)
        start = time.perf_counter()
        model.forward(ids)
        full.append(time.perf_counter() - start)
    return CacheTiming(
        model=model_name,
        context=context,
        cached_step_ms=statistics.median(cached) * 1000,
        full_forward_ms=statistics.median(full) * 1000,
        repeats=CACHE_REPEATS,
    )


@contextlib.contextmanager
def thread_limit(threads: int) -> Iterator[None]:
    """Set the variables that torch (OpenMP) and NumPy's BLAS read at start-up; restore them after."""
    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    os.environ.update({name: str(threads) for name in THREAD_VARIABLES})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def in_child(threads: int, fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn(*args)`` in a fresh interpreter ("spawn") using ``threads`` threads, so that its
    memory, imports and thread pools are its own."""
    with (
        thread_limit(threads),
        ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool,
    ):
        return pool.submit(fn, *args).result()


# -- the parent side: weights, rows, report -----------------------------------------------------


def bench_model(
    name: str,
    impls: Sequence[str],
    new_tokens: int,
    runs: int,
    budget_s: float,
    threads: int,
    device: str = "cpu",
) -> tuple[list[Row], CacheTiming]:
    """Write one set of random weights for ``name``, then measure every implementation on them."""
    config = BENCH_MODELS[name]
    prompt = tuple(int(i) for i in np.random.default_rng(SEED).integers(0, config.vocab_size, PROMPT_TOKENS))
    with tempfile.TemporaryDirectory(prefix=f"playground-bench-{name}-") as tmp:
        log.info("bench %s: writing random weights (%s)", name, describe(config))
        save_gpt_dir(Path(tmp), config, init_gpt_params(config, seed=SEED))
        rows = []
        for impl in impls:
            log.info("bench %s: %s", name, impl)
            job = Job(impl, tmp, prompt, new_tokens, runs, budget_s, device)
            rows.append(in_child(threads, measure_generation, job, name))
        log.info("bench %s: cached step vs recompute at %d tokens", name, CACHE_CONTEXT)
        cache = in_child(threads, measure_cache, tmp, name)
    return rows, cache


def targets_for(model: str, rows: Sequence[Row], cache: CacheTiming) -> list[Target]:
    """The target ratios for one model (a speed ratio is None when one of its rows was skipped)."""
    speed = {r.impl: r.tokens_per_s for r in rows}
    out = [
        Target(model, key, label, speed[a] / speed[b] if a in speed and b in speed else None, minimum)
        for key, label, a, b, minimum in SPEED_TARGETS
    ]
    key, label, minimum = CACHE_TARGET
    out.append(Target(model, key, label, cache.ratio, minimum))
    if model in FLOOR_TARGET_MODELS:
        floor = {r.impl: r.floor_ratio for r in rows}
        out += [
            Target(model, key, f"{impl} ms/token / its matmul floor", floor.get(impl), most, at_most=True)
            for key, impl, most in FLOOR_TARGETS
        ]
    return out


# -- the command ------------------------------------------------------------------------------


def default_threads() -> int:
    """The CPUs this process may run on: what torch and OpenBLAS would each use by default here."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a short run for tests and CI: {', '.join(QUICK_MODELS)} only, {QUICK_NEW_TOKENS} new tokens",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON")
    parser.add_argument(
        "--models",
        nargs="+",
        choices=list(BENCH_MODELS),
        metavar="MODEL",
        help=f"configs to measure, from {', '.join(BENCH_MODELS)} (default: {' '.join(DEFAULT_MODELS)})",
    )
    parser.add_argument("--runs", type=int, default=RUNS, help=f"timed runs per row (default {RUNS})")
    parser.add_argument("--new-tokens", type=int, help=f"tokens to generate per run (default {NEW_TOKENS})")
    parser.add_argument(
        "--threads",
        type=int,
        help="threads for torch and NumPy's BLAS in every row (default: the CPUs available)",
    )
    parser.add_argument(
        "--device",
        choices=DEVICES,
        default="auto",
        help="where hf-generate and the torch twin run (auto: CUDA, then MPS, then CPU); NumPy: the CPU",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=BUDGET_S,
        metavar="SECONDS",
        help=f"stop repeating a row once its timed runs took this long, after one run (default {BUDGET_S:g})",
    )


def main(args: argparse.Namespace) -> int:
    models = args.models or (QUICK_MODELS if args.quick else DEFAULT_MODELS)
    new_tokens = args.new_tokens
    if new_tokens is None:
        new_tokens = QUICK_NEW_TOKENS if args.quick else NEW_TOKENS
    if args.runs < 1:
        raise ValueError(f"--runs must be ≥ 1, got {args.runs}")
    if new_tokens < 1:
        raise ValueError(f"--new-tokens must be ≥ 1, got {new_tokens}")
    longest = PROMPT_TOKENS + new_tokens
    for name in models:
        if longest > BENCH_MODELS[name].block_size:
            raise ValueError(
                f"{PROMPT_TOKENS} prompt + {new_tokens} new tokens exceed {name}'s context "
                f"of {BENCH_MODELS[name].block_size}"
            )
    hf_note = None
    impls = IMPLS
    if importlib.util.find_spec("transformers") is None:
        hf_note = "skipped: transformers is not installed (pip install -e '.[test]')"
        impls = tuple(i for i in IMPLS if i != "hf-generate")
    threads = args.threads if args.threads is not None else default_threads()
    if threads < 1:
        raise ValueError(f"--threads must be ≥ 1, got {threads}")
    device = resolve_device(args.device)
    machine = machine_info(threads, device)
    sys.stdout.write(
        f"{machine['platform']}, {machine['cpus']} CPUs, threads per row (torch and BLAS): {threads}, "
        f"torch device {device}, load average {machine['load_average_at_start']:.2f} at start\n\n"
    )
    start = time.perf_counter()
    all_rows: list[Row] = []
    caches: list[CacheTiming] = []
    targets: list[Target] = []
    for name in models:
        rows, cache = bench_model(name, impls, new_tokens, args.runs, args.budget, threads, device)
        all_rows += rows
        caches.append(cache)
        targets += targets_for(name, rows, cache)
        sys.stdout.write(model_report(name, BENCH_MODELS[name], PROMPT_TOKENS, rows, cache, hf_note))
        sys.stdout.flush()
    sys.stdout.write(targets_report(targets))
    sys.stdout.write(f"load average {os.getloadavg()[0]:.2f} at the end\n")
    sys.stdout.write(f"\ntotal time {time.perf_counter() - start:.0f} s\n")
    if args.json:
        write_json(args.json, all_rows, caches, targets, machine)
    return 0
