"""The page shell: home, lesson index, one lesson end to end, 404 page, static weight budget."""

import json
from pathlib import Path

import pytest

from helpers import SCREENSHOTS as SCREENSHOTS_DIR
from helpers import at_path, checked_numbers, shoot, wait_ready


def test_home_lists_the_served_models(page, base_url, api):
    page.goto(base_url + "/")
    wait_ready(page)
    served = [m["name"] for m in api.get("/api/models").json()["models"]]
    cards = page.eval_on_selector_all("[data-model]", "els => els.map(e => e.dataset.model)")
    assert cards == served
    assert page.get_attribute("#start-lessons", "href") == "/learn/model"  # the lessons start at the map
    shoot(page, "home")


def test_home_guesses_the_next_token_of_the_typed_text(page, base_url, api):
    page.goto(base_url + "/?text=To%20be%2C%20or%20not%20to%20b")
    wait_ready(page)
    want = api.post(
        "/api/sampler",
        json={"model": "shakespeare-char", "prompt": "To be, or not to b", "temperature": 1, "n": 8},
    ).json()
    shown = page.eval_on_selector_all("#try-next .p", "els => els.map(e => Number(e.dataset.prob))")
    assert shown == want["stages"][0]["probs"]
    page.fill("#try-text", "ROMEO")
    page.wait_for_function("() => location.search.includes('text=ROMEO')")
    assert "text=ROMEO" in page.get_attribute("#try-learn", "href")


def test_lesson_index_links_every_step(page, base_url):
    page.goto(base_url + "/learn")
    links = page.eval_on_selector_all(".lesson-list a", "els => els.map(e => e.getAttribute('href'))")
    assert links[0] == "/learn/model" and links[1] == "/learn/tokenization" and len(links) >= 10
    shoot(page, "learn")


def test_tokenization_step_shows_the_api_numbers(page, base_url, api):
    page.goto(base_url + "/learn/tokenization?text=To%20be%2C%20or%20not")
    wait_ready(page)
    assert page.is_hidden("#lesson-error")
    ids = api.post("/api/tokenize", json={"model": "shakespeare-char", "text": "To be, or not"}).json()["ids"]
    shown = checked_numbers(page)
    mine = [n for n in shown if n["path"].startswith("tokenize.0.ids.")]
    assert [int(n["value"]) for n in mine] == ids
    assert all(int(n["text"]) == at_path({"tokenize": [{"ids": ids}]}, n["path"]) for n in mine)
    assert "def encode" in page.text_content("#code")
    assert page.query_selector(".katex") is not None
    shoot(page, "lesson-tokenization")


@pytest.mark.console_errors_expected  # Chromium logs the char tokenizer's 422 it shows
def test_a_character_the_char_tokenizer_lacks_leaves_the_bpe_tokens_shown(page, base_url, api):
    text = "Tokyo → 東京"  # outside Shakespeare's 65 characters; byte-level BPE reads anything
    page.goto(base_url + "/learn/tokenization?model=shakespeare-char&text=" + text)
    wait_ready(page)
    assert page.is_hidden("#lesson-error")
    figures = page.text_content("#figures")
    assert (
        "cannot read this text (shakespeare-char)" in figures and "not in this model's vocabulary" in figures
    )
    bpe = api.post("/api/tokenize", json={"model": "shakespeare-bpe", "text": text}).json()
    shown = page.eval_on_selector_all("[data-tokens='shakespeare-bpe'] .tok", "els => els.length")
    assert shown == len(bpe["ids"])


def test_typing_updates_the_url_and_a_reload_restores_it(page, base_url):
    page.goto(base_url + "/learn/tokenization")
    wait_ready(page)
    page.fill("#lesson-text", "Hello")
    page.wait_for_function("() => location.search.includes('text=Hello')")
    page.reload()
    wait_ready(page)
    assert page.input_value("#lesson-text") == "Hello"
    assert page.is_hidden("#lesson-error"), page.text_content("#lesson-error")
    assert page.eval_on_selector_all("[data-tokens] .tok", "els => els.length") >= 5


@pytest.mark.console_errors_expected  # Chromium logs the 404 of the document itself
def test_an_unknown_page_is_a_page_not_a_json_error(page, base_url):
    response = page.goto(base_url + "/learn/no-such-step")
    assert response.status == 404
    assert "Not found" in page.text_content("h1")


PAGES = ["/", "/playground", "/learn", "/attention", "/masks", "/positions", "/compare"]
BUDGET = 500_000  # bytes of JS + CSS one page loads, uncompressed


def page_weight(page) -> dict[str, int]:
    """Every JS and CSS file the page loaded, with its uncompressed size."""
    return page.evaluate(
        """() => Object.fromEntries(performance.getEntriesByType("resource")
            .filter(e => /\\.(js|css)(\\?|$)/.test(e.name))
            .map(e => [new URL(e.name).pathname, e.decodedBodySize]))"""
    )


def test_every_page_loads_at_most_500_kb_of_javascript_and_css(page, base_url, api):
    slugs = page_lessons(page, base_url)
    weights = {}
    for path in PAGES + [f"/learn/{s}" for s in slugs]:
        page.goto(base_url + path)
        wait_ready(page)
        page.wait_for_load_state("networkidle")
        files = page_weight(page)
        weights[path] = sum(files.values())
        assert weights[path] <= BUDGET, (path, weights[path], files)
    assert min(weights.values()) > 300_000  # the sizes are real: the vendored libraries alone are ~350 KB
    SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS_DIR / "page-weights.json").write_text(json.dumps(weights, indent=1))


def page_lessons(page, base_url) -> list[str]:
    page.goto(base_url + "/learn")
    hrefs = page.eval_on_selector_all(".lesson-list a", "els => els.map(e => e.getAttribute('href'))")
    return [h.split("/")[-1] for h in hrefs]


def test_arrow_keys_move_between_steps_keeping_the_text(page, base_url):
    page.goto(base_url + "/learn/tokenization?text=Hark")
    wait_ready(page)
    page.click("h1")  # focus outside the inputs: the arrow keys belong to the page
    page.keyboard.press("ArrowRight")
    page.wait_for_url("**/learn/embeddings?text=Hark")
    page.keyboard.press("ArrowLeft")
    page.wait_for_url("**/learn/tokenization?text=Hark")


def test_teacher_presets_lock_controls_and_hide_panels(page, base_url):
    page.goto(base_url + "/learn/tokenization?lock=text,model&hide=code,question")
    wait_ready(page)
    assert page.is_disabled("#lesson-text") and page.is_disabled("#lesson-model")
    assert page.is_hidden("[data-panel=code]") and page.is_hidden("[data-panel=question]")
    assert page.is_visible("[data-panel=formula]")


@pytest.mark.console_errors_expected  # Chromium logs the 422 of the refused text
def test_markup_typed_as_text_stays_text(page, base_url):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    payload = "<b>bold</b> & <i>x</i>"
    page.goto(base_url + "/learn/tokenization")
    wait_ready(page)
    page.fill("#lesson-text", payload)
    page.wait_for_function("() => location.search.includes('text=')")
    # the char model cannot encode "<": its figure shows the server's message, the BPE one the tokens, as text
    page.wait_for_function("() => document.querySelector('#figures').textContent.includes('cannot read')")
    assert "text:" in page.text_content("#figures")
    assert "<b>" in "".join(
        page.eval_on_selector_all("[data-tokens] .tok", "els => els.map(e => e.textContent)")
    )
    assert page.query_selector("#figures b, #lesson-error b, #figures i") is None
    assert not dialogs
    assert all("422" in e for e in page.problems.errors), page.problems.errors


def test_a_figure_exports_as_svg_png_and_json(page, base_url, api):
    page.goto(base_url + "/learn/scores?text=To%20be&reveal=all")  # the score table, shown at once
    wait_ready(page)
    fig = page.locator("figure.fig").first
    files = {}
    for kind in ("SVG", "PNG", "JSON"):
        with page.expect_download() as info:
            fig.locator(".export button").get_by_text(kind, exact=True).click()
        files[kind] = Path(info.value.path()).read_bytes()
    assert files["SVG"].startswith(b"<svg") and b"<rect" in files["SVG"]
    assert files["PNG"].startswith(b"\x89PNG\r\n\x1a\n") and len(files["PNG"]) > 1000
    data = json.loads(files["JSON"])
    trace = api.post(
        "/api/trace", json={"model": "shakespeare-char", "text": "To be", "layer": 0, "head": 0}
    ).json()
    assert data["tokens"] == trace["tokens"]  # the figure's data is the API's answer it was drawn from


def test_a_table_offers_json_only(page, base_url):
    page.goto(base_url + "/compare")
    wait_ready(page)
    table_fig = page.locator("figure.fig", has=page.locator("table")).first
    assert table_fig.locator(".export button").get_by_text("JSON", exact=True).is_visible()
    assert not table_fig.locator(".export button").get_by_text("PNG", exact=True).is_visible()
