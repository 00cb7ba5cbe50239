"""Lesson steps 2–7 (embeddings, positions, Q/K/V, scores, masks, softmax) on a real served model.

Each step is loaded with the reader's text in the URL; every number it marks as checked must equal
the API's own answer to the same request, the question must reveal, and a changed control must
change the figure and the URL.
"""

from urllib.parse import quote

import pytest

from helpers import LESSON_CONTROLS, assert_fits_the_screen, at_path, checked_numbers, shoot, wait_ready

TEXT = "To be, or not to be"


def open_step(page, base_url, slug, **query):
    q = "&".join(f"{k}={quote(str(v))}" for k, v in {"text": TEXT, **query}.items())
    page.goto(f"{base_url}/learn/{slug}?{q}")
    wait_ready(page)
    assert page.is_hidden("#lesson-error"), page.text_content("#lesson-error")
    return page.input_value("#lesson-model")


def assert_checked(page, data: dict, prefixes: set[str]) -> list[dict]:
    """Every [data-check] number equals the API's value at its path, and its text is that value rounded."""
    shown = checked_numbers(page)
    assert shown, "the step marks no numbers"
    assert {n["path"].split(".")[0] for n in shown} == prefixes
    for n in shown:
        want = at_path(data, n["path"])
        assert float(n["value"]) == pytest.approx(want, abs=1e-12), n
        text = n["text"].strip()
        decimals = len(text.split(".")[1]) if "." in text else 0
        assert abs(float(text) - want) <= 0.5 * 10**-decimals + 1e-9, n
    return shown


def assert_question_reveals(page):
    assert page.is_visible("#question")
    assert page.is_hidden("#question .reveal")
    page.click("#question button[data-choice]")
    page.wait_for_selector("#question .reveal", state="visible")
    assert page.text_content("#question .verdict").strip()


def wait_redraw(page, before: str):
    """Wait until the page has drawn again (data-ready counts refreshes)."""
    page.wait_for_function("b => document.body.dataset.ready !== b", arg=before)
    assert page.is_hidden("#lesson-error"), page.text_content("#lesson-error")


def ready(page) -> str:
    return page.get_attribute("body", "data-ready")


def trace(api, model, text=TEXT, layer=0, head=0):
    r = api.post("/api/trace", json={"model": model, "text": text, "layer": layer, "head": head})
    assert r.status_code == 200, r.text
    return r.json()


def test_embeddings(page, base_url, api):
    model = open_step(page, base_url, "embeddings")
    assert_checked(page, {"trace": trace(api, model)}, {"trace"})
    # "o" repeats: the same id gives the same row, and the page says so from the numbers
    assert page.get_attribute("[data-same]", "data-same") == "true"
    assert "def embed" in page.text_content("#code")
    assert page.query_selector(".katex") is not None
    assert_question_reveals(page)
    shoot(page, "lesson-embeddings")

    title = page.text_content("figure.fig:nth-of-type(2) h3")
    before = ready(page)
    page.select_option("#lesson-token", "0")
    wait_redraw(page, before)
    assert "token=0" in page.url
    assert page.text_content("figure.fig:nth-of-type(2) h3") != title
    assert_checked(page, {"trace": trace(api, model)}, {"trace"})

    cells = page.eval_on_selector_all("figure.fig:first-of-type rect.cell", "els => els.length")
    before = ready(page)
    page.fill("#lesson-text", "Hello there")
    page.wait_for_function("() => location.search.includes('text=Hello')")
    wait_redraw(page, before)
    assert page.eval_on_selector_all("figure.fig:first-of-type rect.cell", "els => els.length") != cells
    assert_checked(page, {"trace": trace(api, model, "Hello there")}, {"trace"})


def test_positions(page, base_url, api):
    model = open_step(page, base_url, "positions", positions=24)
    card = next(m for m in api.get("/api/models").json()["models"] if m["name"] == model)
    kind = "learned" if card["config"]["pos"] == "learned" else "sinusoidal"
    positional = api.get("/api/positional", params={"kind": kind, "model": model, "positions": 24}).json()
    assert_checked(page, {"positional": positional}, {"positional"})
    assert len(positional["vectors"]) == 24
    assert page.eval_on_selector_all("figure.fig svg polyline, figure.fig svg path", "els => els.length") >= 4
    assert_question_reveals(page)
    shoot(page, "lesson-positions")

    sim_cells = page.eval_on_selector_all("figure.fig:nth-of-type(3) rect.cell", "els => els.length")
    assert sim_cells == 24 * 24
    before = ready(page)
    page.fill("#lesson-n", "40")  # a range input: fill sets its value and fires input
    wait_redraw(page, before)
    assert "positions=40" in page.url
    assert page.eval_on_selector_all("figure.fig:nth-of-type(3) rect.cell", "els => els.length") == 40 * 40
    positional = api.get("/api/positional", params={"kind": kind, "model": model, "positions": 40}).json()
    assert_checked(page, {"positional": positional}, {"positional"})

    if kind == "learned":  # the sinusoids for comparison
        before = ready(page)
        page.select_option("#lesson-table", "sinusoidal")
        wait_redraw(page, before)
        assert "table=sinusoidal" in page.url
        sin = api.get(
            "/api/positional", params={"kind": "sinusoidal", "model": model, "positions": 40}
        ).json()
        assert_checked(page, {"positional": sin}, {"positional"})
        shoot(page, "lesson-positions-sinusoidal")


def test_qkv(page, base_url, api):
    model = open_step(page, base_url, "qkv", layer=2, head=1)
    body = {"model": model, "text": TEXT, "layer": 2, "head": 1}
    qkv = api.post("/api/lessons/qkv", json=body).json()
    tr = trace(api, model, layer=2, head=1)
    assert_checked(page, {"trace": tr, "qkv": qkv}, {"trace"})
    hs = len(tr["q"][0])  # one heatmap, Q | K | V side by side, as c_attn's output is split
    assert (
        page.eval_on_selector_all("[data-matrix] rect.cell", "els => els.length")
        == len(tr["tokens"]) * 3 * hs
    )
    cell = page.get_attribute(f'[data-matrix] rect.cell[data-i="3"][data-j="{hs + 5}"]', "data-value")
    assert float(cell) == tr["k"][3][5]
    assert page.input_value("#lesson-layer") == "2" and page.input_value("#lesson-head") == "1"
    # the "by hand" column agrees with the model's number to the rounding of the inputs
    rows = page.eval_on_selector_all(
        "table.worked tr", "trs => trs.slice(1).map(tr => [...tr.children].map(c => c.textContent))"
    )
    for row in rows:
        assert abs(float(row[3]) - float(row[4])) < 5e-3, row
    assert_question_reveals(page)
    shoot(page, "lesson-qkv")

    first = page.get_attribute("[data-matrix] rect.cell", "data-value")
    before = ready(page)
    page.select_option("#lesson-head", "3")
    wait_redraw(page, before)
    assert "head=3" in page.url
    assert page.get_attribute("[data-matrix] rect.cell", "data-value") != first
    assert_checked(page, {"trace": trace(api, model, layer=2, head=3)}, {"trace"})


def test_scores(page, base_url, api):
    model = open_step(page, base_url, "scores", layer=1, head=2, query=9, key=3)
    tr = trace(api, model, layer=1, head=2)
    shown = assert_checked(page, {"trace": tr}, {"trace"})
    assert [n["path"] for n in shown] == ["trace.scores.9.3"]
    masked = page.eval_on_selector_all(
        "figure.fig:first-of-type rect.cell[data-value=masked]", "els => els.length"
    )
    T = len(tr["tokens"])
    assert masked == T * (T - 1) // 2  # the causal mask: the upper triangle is hatched
    assert "scores" in page.text_content("#code mark")
    assert_question_reveals(page)
    shoot(page, "lesson-scores")

    before = ready(page)
    page.click('figure.fig:first-of-type rect.cell[data-i="12"][data-j="4"]')
    wait_redraw(page, before)
    assert "query=12" in page.url and "key=4" in page.url
    shown = assert_checked(page, {"trace": tr}, {"trace"})
    assert [n["path"] for n in shown] == ["trace.scores.12.4"]

    first = page.get_attribute('figure.fig:first-of-type rect.cell[data-i="5"][data-j="2"]', "data-value")
    before = ready(page)
    page.select_option("#lesson-layer", "4")
    wait_redraw(page, before)
    assert "layer=4" in page.url
    assert (
        page.get_attribute('figure.fig:first-of-type rect.cell[data-i="5"][data-j="2"]', "data-value")
        != first
    )
    assert_checked(page, {"trace": trace(api, model, layer=4, head=2)}, {"trace"})


def test_masks(page, base_url, api):
    model = open_step(page, base_url, "masks", layer=1, head=3)
    texts = [TEXT, "Good night.", "Ay."]
    masks = api.post("/api/masks", json={"model": model, "texts": texts}).json()
    padded = api.post(
        "/api/lessons/padded", json={"model": model, "texts": texts, "layer": 1, "head": 3}
    ).json()
    assert padded["pad_weight"] == 0.0
    assert_checked(page, {"masks": masks, "padded": padded}, {"masks", "padded"})
    assert page.eval_on_selector_all("[data-mask]", "els => els.map(e => e.dataset.mask)") == [
        "padding",
        "causal",
        "combined",
        "in the padded batch",
        "alone",
    ]
    assert "cross" not in page.text_content("#figures").lower()  # no fake cross-attention mask
    assert_question_reveals(page)
    shoot(page, "lesson-masks")

    rows = page.eval_on_selector_all("table.batch tr", "els => els.length")
    assert rows == 3
    before = ready(page)
    page.fill("#lesson-second", "O Romeo, Romeo! wherefore art thou Romeo?")
    page.wait_for_function("() => location.search.includes('second=O')")
    wait_redraw(page, before)
    texts[1] = "O Romeo, Romeo! wherefore art thou Romeo?"
    masks = api.post("/api/masks", json={"model": model, "texts": texts}).json()
    padded = api.post(
        "/api/lessons/padded", json={"model": model, "texts": texts, "layer": 1, "head": 3}
    ).json()
    assert page.eval_on_selector_all("table.batch tr:first-child td", "els => els.length") == len(
        masks["causal"]
    )
    assert_checked(page, {"masks": masks, "padded": padded}, {"masks", "padded"})


def test_softmax(page, base_url, api):
    model = open_step(page, base_url, "softmax", layer=3, head=0, query=10)
    tr = trace(api, model, layer=3, head=0)
    shown = assert_checked(page, {"trace": tr}, {"trace"})
    assert any(n["path"].startswith("trace.attention.3.0.10.") for n in shown)
    sums = page.text_content("[data-row-sums]").split(":")[1].split()
    assert len(sums) == len(tr["tokens"]) and all(abs(float(x) - 1) < 2e-3 for x in sums)
    cut = page.eval_on_selector_all("figure.fig:first-of-type .bar.removed", "els => els.length")
    assert cut == len(tr["tokens"]) - 11  # keys after query 10 are masked
    assert_question_reveals(page)
    shoot(page, "lesson-softmax")

    before = ready(page)
    page.select_option("#lesson-query", "4")
    wait_redraw(page, before)
    assert "query=4" in page.url
    assert (
        page.eval_on_selector_all("figure.fig:first-of-type .bar.removed", "els => els.length")
        == len(tr["tokens"]) - 5
    )
    shown = assert_checked(page, {"trace": tr}, {"trace"})
    assert all(not n["path"].startswith("trace.attention.3.0.10.") for n in shown)


@pytest.mark.parametrize("slug", ["embeddings", "positions", "qkv", "scores", "masks", "softmax"])
def test_steps_fit_a_phone(phone, base_url, slug):
    open_step(phone, base_url, slug, reveal="all")  # the layout with every figure shown
    assert_fits_the_screen(phone, f"lesson-{slug}-phone", *LESSON_CONTROLS)
