"""The attention explorer: model view grid, an enlarged cell equal to /api/trace, per generated token
equal to the SSE stream, long inputs, URL state, phone layout."""

import json
from urllib.parse import quote

import pytest

from helpers import assert_fits_the_screen, at_path, checked_numbers, shoot, sse_events, wait_ready

MODEL = "shakespeare-char"
CELLS = "els => els.map(e => e.dataset.layer + '.' + e.dataset.head)"
TEXT = "ROMEO:\nBut soft, what light"


def open_explorer(page, base_url, query=""):
    page.goto(f"{base_url}/attention?model={MODEL}&text={quote(TEXT)}{query}")
    wait_ready(page)
    page.wait_for_selector("#grid-box .thumb")


def test_the_grid_has_a_cell_per_layer_and_head_and_a_cell_enlarges_to_the_trace(page, base_url, api):
    cfg = next(m for m in api.get("/api/models").json()["models"] if m["name"] == MODEL)["config"]
    open_explorer(page, base_url)
    cells = page.eval_on_selector_all("#grid-box .thumb", CELLS)
    assert len(cells) == cfg["n_layer"] * cfg["n_head"] == len(set(cells))
    assert page.is_hidden("#zoom-box figure")
    page.click("#grid-box .thumb[data-layer='3'][data-head='2']")
    page.wait_for_selector("#zoom-box svg.heatmap")
    assert "zoom=3.2" in page.url
    trace = api.post("/api/trace", json={"model": MODEL, "text": TEXT, "backend": "numpy"}).json()
    T = len(trace["tokens"])
    shown = [n for n in checked_numbers(page) if n["path"].startswith("trace.attention.3.2.")]
    assert len(shown) == T * (T + 1) // 2  # every unmasked cell of the causal T × T matrix
    for n in shown:
        assert float(n["value"]) == at_path({"trace": trace}, n["path"])
    # masked cells are drawn masked, not as zero weights
    masked = page.eval_on_selector_all("#zoom-box rect.cell[data-value='masked']", "els => els.length")
    assert masked == T * (T - 1) // 2
    page.hover("#zoom-box rect.cell[data-i='5'][data-j='2']")
    expected = trace["attention"][3][2][5][2]
    assert f"{expected:.4f}" in page.text_content("#zoom-box .readout")
    shoot(page, "attention")


def test_per_token_mode_shows_the_rows_the_stream_sent(page, base_url, api):
    open_explorer(page, base_url, "&max_tokens=8&seed=3")
    page.wait_for_selector("#pertoken-box figure[data-done='8']")
    page.eval_on_selector(
        "#step", "el => { el.value = 5; el.dispatchEvent(new Event('input', {bubbles: 1})); }"
    )
    page.wait_for_function("() => location.search.includes('step=5')")
    body = json.loads(page.get_attribute("#pertoken-box figure", "data-request"))
    assert body["max_new_tokens"] == 8 and body["seed"] == 3 and body["include_attention"]
    stream = [e for e in sse_events(api.post("/api/generate", json=body)) if e["event"] == "token"]
    assert len(stream) == 8
    shown = [n for n in checked_numbers(page) if n["path"].startswith("stream.")]
    att = stream[5]["attention"]
    layers, heads, keys = len(att), len(att[0]), len(att[0][0])
    assert len(shown) == layers * heads * keys and keys == len(TEXT) + 5
    assert all(n["path"].startswith("stream.5.") for n in shown)
    for n in shown:
        assert float(n["value"]) == at_path({"stream": stream}, n["path"])
    generated = page.eval_on_selector_all("#generated .tok.gen", "els => els.map(e => e.textContent)")
    assert len(generated) == 8
    assert page.text_content("#generated .tok.selected") == generated[5]


def test_state_survives_a_reload(page, base_url):
    open_explorer(page, base_url, "&max_tokens=4")
    page.select_option("#sel-layer", "2")
    page.select_option("#sel-head", "1")
    page.click("#grid-box .thumb[data-layer='1'][data-head='0']")
    page.wait_for_function("() => location.search.includes('zoom=1.0')")
    page.reload()
    wait_ready(page)
    assert page.input_value("#text") == TEXT
    assert page.input_value("#sel-layer") == "2" and page.input_value("#sel-head") == "1"
    page.wait_for_selector("#zoom-box svg.heatmap")
    assert "Layer 1, head 0" in page.text_content("#zoom-box h3")
    # the head view draws only head 1's lines
    heads = page.eval_on_selector_all("#headview-box line", "es => [...new Set(es.map(e => e.dataset.head))]")
    assert heads == ["1"]


@pytest.mark.parametrize("viewport", ["page", "phone"])
def test_a_full_context_input_stays_usable(viewport, request, base_url):
    page = request.getfixturevalue(viewport)
    text = "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n" * 2
    text = (text + text)[:124]
    page.goto(f"{base_url}/attention?model={MODEL}&max_tokens=6&step=3&zoom=0.0&text={quote(text)}")
    wait_ready(page, 120_000)  # a full-context trace is a few MB of numbers; slow on a busy machine
    page.wait_for_selector("#zoom-box svg.heatmap")
    page.wait_for_selector("#pertoken-box figure[data-done='6']", timeout=120_000)
    assert page.is_hidden("#text-error")
    # 124 characters leave room for 5 new tokens; the 6th is drawn after the window slid, and the page says so
    assert "outgrew the model's context of 128 tokens" in page.text_content("#context-note")
    assert page.eval_on_selector_all("#zoom-box rect.cell", "els => els.length") == 124 * 124
    rows = page.eval_on_selector_all("#step-heatmap rect.cell", "els => els.length")
    assert rows == 6 * 4 * (124 + 3)
    assert_fits_the_screen(page, f"attention-long-{viewport}", "#zoom-box figure", "#pertoken-box figure")
    if viewport == "phone":
        return
    # the head view of a long input draws only the lines of weight >= 0.1 (4 heads × 124 queries of faint
    # lines would hide the strong ones); the Lines picker brings the faint ones back
    att = request.getfixturevalue("api").post("/api/trace", json={"model": MODEL, "text": text}).json()
    layer0 = [w for head in att["attention"][0] for q, row in enumerate(head) for w in row[: q + 1]]
    figure = "#headview-box figure"
    assert int(page.get_attribute(figure, "data-drawn")) == sum(w >= 0.1 for w in layer0)
    assert "weight ≥ 0.1 (auto: a long input)" in page.text_content(f"{figure} figcaption")
    page.select_option("#sel-cut", "0.01")
    page.wait_for_function("() => location.search.includes('cut=0.01')")
    assert int(page.get_attribute(figure, "data-drawn")) == sum(w >= 0.01 for w in layer0)
    assert sum(w >= 0.01 for w in layer0) > 2 * sum(w >= 0.1 for w in layer0)


@pytest.mark.console_errors_expected  # Chromium logs the 422 response; nothing else may be logged
def test_text_the_model_cannot_read_shows_the_server_message(page, base_url):
    page.goto(f"{base_url}/attention?model={MODEL}&text={quote('x' * 200)}")
    wait_ready(page)
    assert "exceed the model's context of 128" in page.text_content("#text-error")
    errors = page.problems.errors
    assert errors and all("status of 422" in e for e in errors), errors


def test_phone_layout(phone, base_url):
    open_explorer(phone, base_url)
    phone.click("#grid-box .thumb[data-layer='0'][data-head='1']")
    phone.wait_for_selector("#zoom-box svg.heatmap")
    phone.wait_for_selector("#pertoken-box figure[data-done]")
    controls = ("#sel-layer", "#sel-head", "#grid-box figure", "#zoom-box figure", "#pertoken-box figure")
    assert_fits_the_screen(phone, "attention-phone", *controls)


def test_the_masked_lm_reads_both_ways_and_does_not_generate(page, base_url, api):
    mlm = "shakespeare-mlm"
    page.goto(f"{base_url}/attention?model={mlm}&text={quote(TEXT)}&zoom=1.1")
    wait_ready(page)
    page.wait_for_selector("#zoom-box svg.heatmap")
    trace = api.post("/api/trace", json={"model": mlm, "text": TEXT, "layer": 1, "head": 1}).json()
    assert trace["architecture"] == "encoder"
    T = len(trace["tokens"])
    shown = [n for n in checked_numbers(page) if n["path"].startswith("trace.attention.1.1.")]
    assert len(shown) == T * T  # nothing masked: later keys are read too
    for n in shown:
        assert float(n["value"]) == at_path({"trace": trace}, n["path"])
    assert page.eval_on_selector_all("#zoom-box rect.cell[data-value='masked']", "els => els.length") == 0
    upper = sum(trace["attention"][1][1][i][j] for i in range(T) for j in range(i + 1, T))
    assert upper > 0.5  # the encoder puts real weight on keys to the right
    assert "both sides" in page.text_content("#grid-box figcaption")
    page.wait_for_selector("#pertoken-box figure[data-done='0']")
    assert "no generation to step through" in page.text_content("#context-note")
    assert page.eval_on_selector_all("#generated .tok", "els => els.length") == 0
    assert page.is_hidden("#n") and page.is_hidden("#step")
    shoot(page, "attention-mlm")
    # back to a GPT: causal again, and it generates
    page.select_option("#model", MODEL)
    page.wait_for_selector("#pertoken-box figure[data-done='20']", timeout=60_000)
    assert page.text_content("#context-note") == "" and page.is_visible("#n")
