"""Lesson steps 8–12 (multi-head, feed-forward, sampling, KV cache, logit lens) against the API's numbers."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from helpers import (
    LESSON_CONTROLS,
    assert_fits_the_screen,
    at_path,
    checked_numbers,
    shoot,
    sse_events,
    wait_ready,
)

TEXT = "ROMEO: But soft, what light"
MODEL = "shakespeare-char"


def open_step(page, base_url, slug, query=""):
    page.goto(f"{base_url}/learn/{slug}?text={quote(TEXT)}{query}")
    wait_ready(page)
    assert page.is_hidden("#lesson-error"), page.text_content("#lesson-error")


def shown_value(text: str) -> tuple[float, float]:
    """A number as the page prints it → (value, half its last printed digit)."""
    t = text.strip().replace(",", "").replace("−", "-")
    scale = 0.01 if t.endswith("%") else 1.0
    t = t.rstrip("%")
    decimals = len(t.split(".")[1]) if "." in t else 0
    return float(t) * scale, 0.5 * 10**-decimals * scale + 1e-9


def check_numbers(page, responses: dict, prefixes: tuple[str, ...]) -> list[dict]:
    """Every checked number under ``prefixes`` equals the API's, and its printed text rounds to it."""
    shown = [n for n in checked_numbers(page) if n["path"].startswith(prefixes)]
    assert shown, "the step marks no numbers"
    for n in shown:
        want = at_path(responses, n["path"])
        if isinstance(want, bool):
            assert n["value"] == str(want).lower(), n
            continue
        assert float(n["value"]) == pytest.approx(want, abs=1e-9), n
        value, tol = shown_value(n["text"])
        assert abs(value - want) <= tol, n
    return shown


def reveal(page):
    page.click("#question [data-choice='0']")
    page.wait_for_selector("#question .reveal", state="visible")
    assert page.text_content("#question .verdict")


def wait_url(page, fragment: str):
    page.wait_for_function("f => location.search.includes(f)", arg=fragment)


def redrawn(page, selector: str, before: str):
    page.wait_for_function(
        "([s, b]) => document.querySelector(s) && document.querySelector(s).textContent !== b",
        arg=[selector, before],
    )


# -- 8 multi-head ------------------------------------------------------------------------------------


def test_multi_head_shows_every_head_and_the_api_weights(page, base_url, api):
    open_step(page, base_url, "multi-head")
    trace = api.post("/api/trace", json={"model": MODEL, "text": TEXT}).json()
    nh = len(trace["attention"][0])
    assert page.eval_on_selector_all("[data-heads] > [data-head]", "els => els.length") == nh
    assert (
        page.eval_on_selector_all("[data-pattern]", "els => els.filter(e => e.dataset.pattern).length") == nh
    )
    shown = check_numbers(page, {"trace": trace}, ("trace.",))
    assert len(shown) == nh
    assert page.query_selector("svg[aria-label='head view'] line") is not None
    assert "reshape(B, T, C)" in page.text_content("#code")
    reveal(page)
    shoot(page, "lesson-multi-head")

    before = page.text_content("figure h3")
    page.select_option("#lesson-layer", "3")
    wait_url(page, "layer=3")
    redrawn(page, "figure h3", before)
    assert page.text_content("figure h3").startswith("Layer 3")
    assert {n["path"].split(".")[2] for n in checked_numbers(page)} == {"3"}
    check_numbers(page, {"trace": trace}, ("trace.",))
    page.select_option("#lesson-head", "1")
    wait_url(page, "head=1")
    page.wait_for_function(
        "() => [...document.querySelectorAll('figure h3')].some(e => e.textContent.endsWith('head 1'))"
    )
    heads = page.eval_on_selector_all(
        "svg[aria-label='head view'] line", "els => [...new Set(els.map(e => e.dataset.head))]"
    )
    assert heads == ["1"]


# -- 9 feed-forward, residual stream, LayerNorm --------------------------------------------------------


def feed_forward_responses(api, layer: int) -> dict:
    served = api.get("/api/models").json()["models"]
    kind = next(m["tokenizer"] for m in served if m["name"] == MODEL)
    models = [  # the step compares language models on the chosen model's vocabulary only
        m
        for m in served
        if m["architecture"] == "gpt" and m["card"].get("task", "lm") == "lm" and m["tokenizer"] == kind
    ]
    logs = []
    for m in models:
        r = api.get(f"/api/models/{m['name']}/metrics")
        logs.append(r.json() if r.status_code == 200 else None)
    return {
        "trace": api.post("/api/trace", json={"model": MODEL, "text": TEXT}).json(),
        "layernorm": api.post("/api/layernorm", json={"model": MODEL, "text": TEXT, "layer": layer}).json(),
        "metrics": logs,
    }


def test_feed_forward_residual_mlp_layernorm_and_loss_curves(page, base_url, api):
    open_step(page, base_url, "feed-forward")
    responses = feed_forward_responses(api, 0)
    shown = check_numbers(page, responses, ("trace.", "layernorm.", "metrics."))
    paths = {n["path"] for n in shown}
    assert {"layernorm.mean", "layernorm.var", "layernorm.std"} <= paths
    assert any(p.startswith("metrics.") for p in paths)  # the served model's own curve
    assert page.query_selector_all("figure svg path") != []
    reveal(page)
    shoot(page, "lesson-feed-forward")

    page.select_option("#lesson-mlp", "mean")
    wait_url(page, "mlp=mean")
    page.wait_for_function(
        "() => [...document.querySelectorAll('h3')].some(e => e.textContent.includes('mean activation'))"
    )
    mean = responses["trace"]["mlp_mean"]
    cells = page.eval_on_selector_all(
        "svg[aria-label='mlp_mean'] rect.cell",
        "els => els.map(e => [+e.dataset.i, +e.dataset.j, +e.dataset.value])",
    )
    assert len(cells) == len(mean) * len(mean[0])
    assert all(v == pytest.approx(mean[i][j], abs=1e-9) for i, j, v in cells)

    page.select_option("#lesson-layer", "4")
    wait_url(page, "layer=4")
    page.wait_for_function(
        "() => [...document.querySelectorAll('figure h3')].some(e => e.textContent.includes('block 4'))"
    )
    check_numbers(page, feed_forward_responses(api, 4), ("layernorm.",))


# -- 10 sampling ------------------------------------------------------------------------------------


def sampler(api, **params) -> dict:
    body = {
        "model": MODEL,
        "prompt": TEXT,
        "n": 12,
        "temperature": 0.8,
        "top_k": 0,
        "top_p": 1.0,
        "repetition_penalty": 1.0,
    }
    return api.post("/api/sampler", json={**body, **params}).json()


def generated(api, backend: str, **params) -> dict:
    body = {
        "model": MODEL,
        "prompt": TEXT,
        "backend": backend,
        "max_new_tokens": 1,
        "seed": 42,
        "temperature": 0.8,
        "top_k": 0,
        "top_p": 1.0,
        "repetition_penalty": 1.0,
        **params,
    }
    return next(e for e in sse_events(api.post("/api/generate", json=body)) if e["event"] == "token")


def test_sampling_stages_follow_the_sliders(page, base_url, api):
    open_step(page, base_url, "sampling")
    check_numbers(page, {"sampler": sampler(api)}, ("sampler.",))
    assert page.eval_on_selector_all("[data-stage]", "els => els.length") == 5
    reveal(page)

    page.focus("#lesson-top_k")
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    wait_url(page, "top_k=5")
    want = sampler(api, top_k=5)
    kept = want["stages"][3]["kept"]
    assert kept == 5
    page.wait_for_function(
        "k => document.querySelector(\"[data-check='sampler.stages.3.kept']\")?.textContent === String(k)",
        arg=kept,
    )
    check_numbers(page, {"sampler": want}, ("sampler.",))
    shoot(page, "lesson-sampling")


def test_a_seeded_draw_gives_the_same_token_on_both_backends(page, base_url, api):
    open_step(page, base_url, "sampling", "&seed=7&temperature=1.5")
    page.click("#draw-one")
    page.wait_for_selector("[data-same]")
    want = {"generate": {b: generated(api, b, seed=7, temperature=1.5) for b in ("numpy", "torch")}}
    check_numbers(page, want, ("generate.",))
    assert page.get_attribute("[data-same]", "data-same") == "true"
    assert want["generate"]["numpy"]["id"] == want["generate"]["torch"]["id"]


# -- 11 KV cache ------------------------------------------------------------------------------------


def test_kv_cache_shapes_tokens_and_timing(page, base_url, api):
    open_step(page, base_url, "kv-cache")
    want = api.post("/api/kv-cache", json={"model": MODEL, "text": TEXT, "n": 32}).json()
    check_numbers(page, {"cache": want}, ("cache.",))
    chips = page.eval_on_selector_all("[data-tokens] .tok", "els => els.length")
    assert chips == 32
    assert page.eval_on_selector_all("figure svg path", "els => els.length") >= 2  # both timing curves
    shapes = page.eval_on_selector_all("[data-layer] td.mono", "els => els.map(e => e.textContent)")
    assert shapes[0] == "(" + ", ".join(map(str, want["layers"][0]["k_shape"])) + ")"
    reveal(page)
    shoot(page, "lesson-kv-cache")

    before = page.text_content("figure h3")
    page.fill("#lesson-n", "8")
    page.press("#lesson-n", "Enter")
    wait_url(page, "max_tokens=8")
    redrawn(page, "figure h3", before)
    want = api.post("/api/kv-cache", json={"model": MODEL, "text": TEXT, "n": 8}).json()
    check_numbers(page, {"cache": want}, ("cache.",))
    assert page.eval_on_selector_all("[data-tokens] .tok", "els => els.length") == 8


# -- 12 logit lens ----------------------------------------------------------------------------------


def test_logit_lens_last_block_is_the_model_prediction(page, base_url, api):
    open_step(page, base_url, "logit-lens", "&reveal=all")  # the figure the question hides until answered
    trace = api.post("/api/trace", json={"model": MODEL, "text": TEXT, "top_k": 5}).json()
    shown = check_numbers(page, {"trace": trace}, ("trace.",))
    assert len(shown) == 2 and shown[0]["value"] == shown[1]["value"]
    L, T = len(trace["logit_lens"]), len(trace["tokens"])
    cells = page.eval_on_selector_all(
        "g.lens", "els => els.map(e => [+e.dataset.l, +e.dataset.t, e.dataset.token, +e.dataset.value])"
    )
    assert len(cells) == L * T
    assert all(
        tok == trace["logit_lens"][l][t][0]["token"] and v == trace["logit_lens"][l][t][0]["prob"]
        for l, t, tok, v in cells
    )
    page.hover(f"g.lens[data-l='{L - 1}'][data-t='{T - 1}']")
    readout = page.text_content("figure .readout")
    assert readout.count("%") == 5 and "(the output)" in readout
    reveal(page)
    shoot(page, "lesson-logit-lens")

    page.select_option("#lesson-k", "10")
    wait_url(page, "k=10")
    page.wait_for_function("() => document.querySelector('figcaption')?.textContent.includes('top 10')")
    page.hover("g.lens[data-l='0'][data-t='0']")
    assert page.text_content("figure .readout").count("%") == 10


# -- phone ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("slug", ["sampling", "logit-lens"])
def test_steps_fit_a_phone(phone, base_url, slug):
    open_step(phone, base_url, slug, "&reveal=all")  # the layout with every figure shown
    assert_fits_the_screen(phone, f"lesson-{slug}-phone", *LESSON_CONTROLS)
