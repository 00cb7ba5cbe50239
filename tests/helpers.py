"""Shared test helpers: random model directories and a field-by-field twin comparison."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from models.config import GPTConfig
from models.weights import init_gpt_params, save_gpt_dir

TOL = {"float64": 1e-10, "float32": 1e-5}


def random_params(config: GPTConfig, seed: int = 0, jitter: float = 0.1) -> dict[str, np.ndarray]:
    """GPT-2 init plus noise on every parameter, so biases and LayerNorm gains are not trivial."""
    rng = np.random.default_rng(seed + 1000)
    return {
        k: (v + rng.normal(0, jitter, v.shape)).astype(np.float32)
        for k, v in init_gpt_params(config, seed).items()
    }


def model_dir(tmp_path: Path, config: GPTConfig, seed: int = 0, jitter: float = 0.02) -> Path:
    return save_gpt_dir(tmp_path / f"model-{seed}", config, random_params(config, seed, jitter))


def max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Largest |a - b|, treating equal infinities (masked scores) as equal; mismatched ones are inf."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, f"shapes differ: {a.shape} vs {b.shape}"
    same_inf = np.isinf(a) & np.isinf(b) & (np.sign(a) == np.sign(b))
    with np.errstate(invalid="ignore"):
        diff = np.where(same_inf, 0.0, np.abs(a - b))
    return float(np.max(diff)) if diff.size else 0.0


def assert_close(name: str, a: np.ndarray, b: np.ndarray, atol: float) -> None:
    d = max_abs_diff(a, b)
    assert d <= atol, f"{name}: max abs difference {d:.3e} exceeds {atol:.0e}"


def assert_traces_close(ta: dict[str, np.ndarray], tb: dict[str, np.ndarray], atol: float) -> None:
    assert ta.keys() == tb.keys()
    for name in ta:
        if ta[name].dtype == bool or np.issubdtype(ta[name].dtype, np.integer):
            np.testing.assert_array_equal(ta[name], tb[name], err_msg=name)
        else:
            assert_close(f"trace.{name}", ta[name], tb[name], atol)


# --- browser tests -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def served(zoo: Path, log_path: Path, **settings: str) -> Iterator[str]:
    """``playground serve`` on ``zoo`` at a free port, its output in ``log_path``: yields the base URL.
    ``settings`` are more server settings, e.g. ``PLAYGROUND_MAX_STREAMS="2"``."""
    with server_process(zoo, log_path, **settings) as (_, url):
        yield url


@contextlib.contextmanager
def server_process(zoo: Path, log_path: Path, **settings: str) -> Iterator[tuple[subprocess.Popen, str]]:
    """As ``served``, yielding (the server process, its base URL)."""
    port = free_port()
    env = {**os.environ, **settings, "PLAYGROUND_MODELS_DIR": str(zoo), "PYTHONUNBUFFERED": "1"}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--port", str(port)],
            cwd=Path(__file__).resolve().parents[1],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start; see {log_path}")
                time.sleep(0.2)
            yield proc, url
        finally:
            proc.terminate()
            proc.wait(timeout=10)


SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"

# the per-page axe-core counts (tests/browser/test_accessibility.py), printed after the run
AXE_SUMMARY: pytest.StashKey[list[str]] = pytest.StashKey()


def shoot(page, name: str) -> Path:
    """A full-page screenshot under artifacts/screenshots (ignored by git): look at them."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_ready(page, timeout_ms: int = 60_000):
    """Pages set body[data-ready] once their first figure is drawn (or an error is shown)."""
    page.wait_for_selector("body[data-ready]", timeout=timeout_ms)


def checked_numbers(page) -> list[dict]:
    """Every number a page marked for checking: [{path, value, text}] (see static/js/lib/dom.js checked())."""
    return page.eval_on_selector_all(
        "[data-check]",
        "els => els.map(e => ({path: e.dataset.check, value: e.dataset.value, text: e.textContent}))",
    )


def at_path(obj, path: str):
    """obj["a"][0]["b"] for the path "a.0.b"."""
    for part in path.split("."):
        obj = obj[int(part)] if isinstance(obj, list) else obj[part]
    return obj
