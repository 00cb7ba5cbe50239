"""The attention-output step, the wrap-up and a printed lesson, on a real served model.

The attention-output step works one head's output Σ_j w_ij v_j by hand, then c_proj and the residual add:
every number it marks as the model's equals the API's, and every by-hand number equals the model's number
it stands beside to the precision shown. The wrap-up states the served model's own numbers and links every
step. Printed, a lesson drops the site menu and prev/next and keeps its code boxes light.
"""

from urllib.parse import quote

import pytest

from helpers import at_path, checked_numbers, shoot, wait_ready

TEXT = "To be, or not to be"


def open_step(page, base_url, slug, **query):
    q = "&".join(f"{k}={quote(str(v))}" for k, v in {"text": TEXT, **query}.items())
    page.goto(f"{base_url}/learn/{slug}?{q}")
    wait_ready(page)
    assert page.is_hidden("#lesson-error"), page.text_content("#lesson-error")
    return page.input_value("#lesson-model")


def assert_model_numbers(page, data: dict, prefixes: set[str]) -> None:
    """Every [data-check] number is the API's at its path, and its text is that value rounded."""
    shown = checked_numbers(page)
    assert {n["path"].split(".")[0] for n in shown} == prefixes, shown
    for n in shown:
        want = at_path(data, n["path"])
        assert float(n["value"]) == pytest.approx(want, abs=1e-12), n
        text = n["text"].strip().replace(",", "").rstrip("%")
        decimals = len(text.split(".")[1]) if "." in text else 0
        scale = 100 if n["text"].strip().endswith("%") else 1
        assert abs(float(text) - scale * want) <= 0.5 * 10**-decimals + 1e-9, n


def test_attention_output_by_hand_equals_the_model(page, base_url, api):
    model = open_step(page, base_url, "attention-output", layer=1, head=2)
    body = {"model": model, "text": TEXT, "layer": 1, "head": 2}
    tr = api.post("/api/trace", json=body).json()
    out = api.post("/api/lessons/attention-output", json={"model": model, "text": TEXT, "layer": 1}).json()
    T = len(tr["tokens"])
    # predict first: the key whose w·v is longest is the answer, then the figures are all there
    page.click("#question button[data-choice]")
    page.wait_for_selector("#question .reveal", state="visible")
    assert page.text_content("#question .verdict").strip()

    assert_model_numbers(page, {"trace": tr, "out": out}, {"trace", "out"})
    hand = page.eval_on_selector_all(
        "[data-by-hand]", "els => els.map(e => ({path: e.dataset.byHand, text: e.textContent}))"
    )
    paths = {x["path"].rsplit(".", 1)[0] for x in hand}
    assert {f"out.heads.2.{T - 1}", f"out.proj.{T - 1}", f"out.resid_mid.{T - 1}"} <= paths
    for x in hand:  # the page's Σ by hand equals the model's number to the shown precision
        text = x["text"].strip()
        decimals = len(text.split(".")[1])
        assert abs(float(text) - at_path({"out": out}, x["path"])) <= 10**-decimals + 1e-9, x
    # the table says what its Σ covers: all visible keys, with the keys not shown in one row
    table = page.text_content("figure.fig:nth-of-type(1) table")
    assert f"Σ over all {T} keys" in table and ("the other" in table) == (T > 8)
    assert "probs @ v" in page.text_content("#code") and page.query_selector(".katex")
    assert page.query_selector_all("[data-answer]"), "the answer-bearing cells are marked"
    shoot(page, "lesson-attention-output")

    before = page.get_attribute("body", "data-ready")
    page.select_option("#lesson-query", "3")
    page.wait_for_function("b => document.body.dataset.ready !== b", arg=before)
    assert "query=3" in page.url
    assert "Σ over all 4 keys" in page.text_content("figure.fig:nth-of-type(1) table")
    assert_model_numbers(page, {"trace": tr, "out": out}, {"trace", "out"})


def test_wrap_up_states_the_served_models_numbers_and_links_every_step(page, base_url, api):
    model = open_step(page, base_url, "wrap-up")
    tr = api.post("/api/trace", json={"model": model, "text": TEXT, "layer": 0, "head": 0}).json()
    card = next(m for m in api.get("/api/models").json()["models"] if m["name"] == model)
    assert_model_numbers(page, {"trace": tr, "model": card}, {"trace", "model"})
    steps = page.eval_on_selector_all(
        "#figures a[href^='/learn/']", "els => els.map(e => e.getAttribute('href').split('?')[0])"
    )
    listed = page.eval_on_selector_all(
        "script#page-data", "els => JSON.parse(els[0].textContent).lessons.map(l => l.slug)"
    )
    assert (
        {f"/learn/{s}" for s in listed} - {"/learn/wrap-up"}
        >= set(steps)
        >= {
            "/learn/tokenization",
            "/learn/attention-output",
            "/learn/sampling",
        }
    )
    text = page.text_content("#figures")
    for name in ("Attention Is All You Need", "The Annotated Transformer", "nanoGPT"):
        assert name in text
    assert page.query_selector("#figures a[href^='/playground']") and page.query_selector("a[href='/train']")
    assert page.is_hidden("#question")


def test_printed_lesson_is_a_handout(page, base_url):
    open_step(page, base_url, "attention-output")
    page.emulate_media(media="print")
    for gone in ("header.site", "nav[aria-label='lesson steps']", "#lesson-layer", "figure.fig .export"):
        assert page.is_hidden(gone), gone
    assert page.is_visible("#lesson-text") and page.is_visible("#lesson-model")
    code = page.eval_on_selector(
        "#code",
        """el => [getComputedStyle(el).backgroundColor, getComputedStyle(el).color].map(
             (c) => c.match(/\\d+/g).slice(0, 3).reduce((s, x) => s + Number(x), 0) / 765)""",
    )
    assert code[0] > 0.9 and code[1] < 0.3, code  # light box, dark text
    after = page.eval_on_selector(
        ".lesson-head a[href='/learn']",
        "el => getComputedStyle(el, '::after').content",
    )
    assert "/learn" in after
    assert page.pdf(format="A4")[:4] == b"%PDF"
    page.emulate_media(media="screen")
    assert page.is_visible("header.site") and page.is_visible("nav[aria-label='lesson steps']")
