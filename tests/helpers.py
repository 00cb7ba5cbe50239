"""Shared test helpers: random model directories, a field-by-field twin comparison, Server-Sent Events,
servers and browser pages."""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from models.config import GPTConfig
from models.tokenizer import CharTokenizer
from models.weights import init_gpt_params, save_gpt_dir

TOL = {"float64": 1e-10, "float32": 1e-5}
TOK = CharTokenizer.train("abcdefgh ,.\n")  # the characters of the hand-made test zoos: 12 tokens


def jittered(params: dict[str, np.ndarray], seed: int, jitter: float) -> dict[str, np.ndarray]:
    """Noise on every parameter (float32), so biases, LayerNorm gains and attention are not trivial."""
    rng = np.random.default_rng(seed)
    return {k: (v + rng.normal(0, jitter, v.shape)).astype(np.float32) for k, v in params.items()}


def random_params(config: GPTConfig, seed: int = 0, jitter: float = 0.1) -> dict[str, np.ndarray]:
    """GPT-2 init plus noise on every parameter."""
    return jittered(init_gpt_params(config, seed), seed + 1000, jitter)


def char_gpt(path: Path, card: dict | None = None, *, seed: int = 0, jitter: float = 0.1, **config) -> Path:
    """A random GPT over ``TOK``'s characters, saved at ``path`` with its tokenizer and ``card``: one layer,
    two heads, 8 channels and a context of 32 unless ``config`` says otherwise."""
    cfg = GPTConfig(
        **{"block_size": 32, "n_layer": 1, "n_head": 2, "n_embd": 8, **config, "vocab_size": TOK.vocab_size}
    )
    return save_gpt_dir(path, cfg, random_params(cfg, seed, jitter), TOK.to_json(), card)


def model_dir(tmp_path: Path, config: GPTConfig, seed: int = 0, jitter: float = 0.02) -> Path:
    return save_gpt_dir(tmp_path / f"model-{seed}", config, random_params(config, seed, jitter))


def prepared_verse(root: Path, lines: int, words: int) -> Path:
    """A made-up verse (``lines`` lines of ``words`` words from a small vocabulary, always the same), turned
    into a character data set by ``playground prepare``: the data set's folder, under ``root``."""
    from server.cli import main

    rng = np.random.default_rng(0)
    vocabulary = (
        "the king queen lord my thy and of to be not what is this good night love death sweet".split()
    )
    text = "\n".join(" ".join(rng.choice(vocabulary, size=words)) + "," for _ in range(lines)) + "\n"
    path = root / "verse.txt"
    path.write_text(text, encoding="utf-8")
    out = root / "verse-char"
    assert main(["prepare", "--text", str(path), "--out", str(out)]) == 0
    return out


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


def public_names(obj) -> set[str]:
    """The public names a module (or class) defines itself: what it imports is left out."""
    return {
        n
        for n, v in vars(obj).items()
        if not n.startswith("_") and getattr(v, "__module__", None) == obj.__name__
    }


def own_public(cls: type) -> set[str]:
    return {n for n in vars(cls) if not n.startswith("_")}


def assert_twins_mirror(numpy_twin, torch_twin, model: str, extras: Iterable[str] = ()) -> None:
    """The twin rule: both modules define the same public names; each function takes the same parameters
    in both; each class of the PyTorch twin has its NumPy twin's methods, and the ``model`` class adds only
    what training and loading need (``load_params``, ``state_arrays``, and ``extras``)."""
    assert public_names(numpy_twin) == public_names(torch_twin)
    for name in public_names(numpy_twin):
        a, b = getattr(numpy_twin, name), getattr(torch_twin, name)
        if inspect.isclass(a):
            assert own_public(a) <= own_public(b), (
                f"{name}: the PyTorch twin lacks {own_public(a) - own_public(b)}"
            )
        else:
            assert list(inspect.signature(a).parameters) == list(inspect.signature(b).parameters), name
    added = own_public(getattr(torch_twin, model)) - own_public(getattr(numpy_twin, model))
    assert added <= {"load_params", "state_arrays", *extras}, f"{model}: the PyTorch twin adds {added}"


# --- Server-Sent Events --------------------------------------------------------------------------


def iter_sse(lines: Iterable[str]) -> Iterator[dict]:
    """The events in the lines of an SSE stream, each as soon as the blank line that ends it arrives:
    ``{"event": name, **data}`` with the JSON data's fields ("message" where no ``event:`` field came).
    As the SSE standard says, an event the stream cut off before its blank line is dropped."""
    name, data = "message", []
    for line in lines:
        if line.startswith("event:"):
            name = line[len("event:") :].strip()
        elif line.startswith("data:"):
            data.append(line[len("data:") :].removeprefix(" "))
        elif not line:
            if data:
                fields = json.loads("\n".join(data))
                assert isinstance(fields, dict) and "event" not in fields, fields
                yield {"event": name, **fields}
            name, data = "message", []


def sse_events(source) -> list[dict]:
    """Every event of a whole SSE body, given as text or as a response (checked to be an event stream):
    an httpx response, or a TestClient's (starlette's client is built on a copy of httpx)."""
    if not isinstance(source, str):
        kind = source.headers.get("content-type", "")
        assert kind.startswith("text/event-stream"), (source.status_code, kind, source.text[:300])
        source = source.text
    return list(iter_sse(source.splitlines()))


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


# Elements that stick out past the viewport's right edge, unless a box around them scrolls or clips sideways
# (a wide table or heatmap scrolls inside its figure; the page itself must not).
_STICKING_OUT = """() => {
  const name = (el) => {
    const classes = typeof el.className === "string" ? el.className.trim().split(/\\s+/) : [];
    return el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + classes.map((c) => c && "." + c).join("");
  };
  const out = [];
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height || r.right <= innerWidth + 1) continue;
    let box = el.parentElement;
    while (box && box !== document.body && getComputedStyle(box).overflowX === "visible") {
      box = box.parentElement;
    }
    if (!box || box === document.body) out.push(`${name(el)} to ${Math.round(r.right)} px`);
  }
  return out.slice(0, 5);
}"""


# What every lesson step shows: its prev/next links, its input controls and its first figure.
LESSON_CONTROLS = ("nav[aria-label='lesson steps'] a", "#lesson-controls", "#figures figure")


def assert_fits_the_screen(page, name: str, *controls: str) -> Path:
    """The screenshot ``name`` (see ``shoot``), then the layout it shows: no sideways scroll (the document
    is no wider than the viewport and nothing sticks out past its right edge; wide figures scroll inside
    their own box), and each of ``controls`` (CSS selectors: the page's key controls and figures) visible
    and within the viewport's width."""
    path = shoot(page, name)  # first: the picture of a layout that fails is the one to look at
    width = page.evaluate("() => innerWidth")
    scroll = page.evaluate("() => document.scrollingElement.scrollWidth")
    sticking_out = page.evaluate(_STICKING_OUT)
    assert scroll <= width and not sticking_out, (
        f"{name}: {scroll} px wide in a {width} px viewport; past its right edge: {sticking_out} ({path})"
    )
    for selector in controls:
        control = page.locator(selector).first
        assert control.is_visible(), f"{name}: {selector} is not visible"
        box = control.bounding_box()
        assert box["x"] >= -1 and box["x"] + box["width"] <= width + 1, f"{name}: {selector} at {box}"
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


def run_coroutine(coro):
    """``asyncio.run(coro)`` in a thread of its own: after the browser tests, Playwright's event loop
    runs in the main thread, where asyncio.run refuses to start another."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
