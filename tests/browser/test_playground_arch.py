"""The playground for every served model: text that reads as text, links that open a model, prompts a
vocabulary cannot read explained before Generate, the LSTM, the encoder-decoder and the masked LM."""

from urllib.parse import quote

import pytest

from helpers import sse_events, wait_ready


def open_at(page, base_url, query):
    page.goto(f"{base_url}/playground?{query}")
    wait_ready(page)


def tops(page, selector):
    return page.eval_on_selector_all(selector, "els => els.map(e => e.getBoundingClientRect().top)")


TEXTS = "es => es.map(e => e.textContent.replace(/↵/g, ''))"  # a chip's token: the ↵ mark dropped
PAGE_SAMPLER = {"temperature": 0.8, "top_k": 40, "top_p": 0.95, "repetition_penalty": 1}  # the page's


def a_seed_with_a_newline(api, model, prompt, n):
    """A seed whose generation of ``n`` tokens writes a newline before its last token, per the API."""
    for seed in range(40):
        body = {"model": model, "prompt": prompt, "max_new_tokens": n, "seed": seed, **PAGE_SAMPLER}
        events = sse_events(api.post("/api/generate", json=body))
        tokens = [e["token"] for e in events if e["event"] == "token"]
        if "\n" in tokens[:-1]:
            return seed, tokens
    pytest.skip("no seed of 40 writes a newline")


def test_line_breaks_break_lines_and_tokens_keep_their_details(page, base_url, api):
    prompt = "ROMEO:\nBut"
    seed, tokens = a_seed_with_a_newline(api, "shakespeare-char", prompt, 60)
    open_at(page, base_url, f"model=shakespeare-char&max_tokens=60&seed={seed}&text={quote(prompt)}")
    page.click("#generate")
    page.wait_for_selector("#output-box figure[data-done]")
    # the prompt's newline: "B" sits on a line below "R"
    prompt_tops = tops(page, "#output .tok.prompt")
    assert prompt_tops[7] > prompt_tops[0] + 5
    # the generated newline breaks the line too
    k = tokens.index("\n")
    shown = page.eval_on_selector_all("#output .tok.gen", TEXTS)
    assert shown == tokens
    gen_tops = tops(page, "#output .tok.gen")
    assert gen_tops[k + 1] > gen_tops[k] + 5
    assert "\n" in page.inner_text("#output")
    # the probability tint and the hover detail still work per token
    assert page.eval_on_selector(f"#output .tok.gen[data-index='{k}']", "e => e.style.background") != ""
    page.hover(f"#output .tok.gen[data-index='{k + 1}']")
    assert f"Token {k + 1}" in page.text_content("#token-detail h4")
    assert page.eval_on_selector_all("#token-detail .bars .p", "els => els.length") >= 1


def test_every_served_model_is_offered_and_a_link_opens_the_lstm(page, base_url, api):
    served = {m["name"] for m in api.get("/api/models").json()["models"]}
    open_at(page, base_url, "model=shakespeare-lstm&max_tokens=12&text=ROMEO%3A")
    offered = set(page.eval_on_selector_all("#model option", "os => os.map(o => o.value)"))
    assert offered == served
    assert page.input_value("#model") == "shakespeare-lstm"
    assert page.is_hidden("#attention-box")
    page.click("#generate")
    page.wait_for_selector("#output-box figure[data-done]")
    assert page.eval_on_selector_all("#output .tok.gen", "els => els.length") == 12
    page.hover("#output .tok.gen[data-index='3']")
    assert "no attention" in page.text_content("#token-detail")
    # after the stream, the forget gate of layer 0 over the text, as /api/trace gives it
    page.wait_for_selector("#lstm-gates .tok")
    text = "ROMEO:" + "".join(
        page.eval_on_selector_all("#output .tok.gen", "es => es.map(e => e.textContent.replace(/↵/g, ''))")
    )
    res = api.post("/api/trace", json={"model": "shakespeare-lstm", "text": text, "layer": 0}).json()
    gates = res["lstm"]["gates"]["forget_gate"]
    chips = page.eval_on_selector_all("#lstm-gates .tok", "els => els.length")
    assert chips == len(res["tokens"]) == len(text)
    title = page.get_attribute("#lstm-gates .tok[data-index='2']", "title")
    assert float(title.rsplit(" ", 1)[1]) == pytest.approx(sum(gates[2]) / len(gates[2]))


@pytest.mark.console_errors_expected  # Chromium logs the 422 of /api/tokenize
def test_an_unreadable_prompt_is_explained_before_generate(page, base_url):
    open_at(page, base_url, "model=shakespeare-char&text=ROMEO%3A")
    assert page.is_enabled("#generate")
    page.fill("#prompt", "café")
    page.wait_for_selector("#prompt-error:not([hidden])")
    message = page.text_content("#prompt-error")
    assert "é" in message and "cannot read" in message
    assert page.is_disabled("#generate")
    assert "é" in page.get_attribute("#generate", "title")
    page.fill("#prompt", "cafe")
    page.wait_for_selector("#prompt-error", state="hidden")
    assert page.is_enabled("#generate")
    errors = page.problems.errors
    assert all("status of 422" in e for e in errors), errors


def test_the_encoder_decoder_translates_with_beams_and_cross_attention(page, base_url, api):
    open_at(page, base_url, "model=numbers-to-words")
    assert page.input_value("#prompt") == "4012"
    # a task model's card line gives its held-out exact match, not a loss that rounds to 0.000
    assert "held-out exact match 100.00 %" in page.text_content("#model-card")
    page.click("#generate")
    page.wait_for_selector("#output-box figure[data-done]")
    body = {"model": "numbers-to-words", "source": "4012", "num_beams": 4}
    res = api.post("/api/translate", json=body).json()
    assert page.text_content("#translation") == res["greedy"]["text"]
    assert page.text_content("#best-beam") == res["best"]["text"]
    last = res["steps"][-1]["beams"]
    assert page.eval_on_selector_all("#beam-list li[data-logprob]", "els => els.length") == len(last)
    cells = page.eval_on_selector_all("#cross-attention svg.heatmap rect.cell", "els => els.length")
    T = len(res["cross_attention"][0][0])
    assert cells == T * len(res["source_tokens"])


def test_the_masked_lm_fills_the_clicked_positions(page, base_url, api):
    open_at(page, base_url, "model=shakespeare-mlm&text=To%20be%20or%20not")
    page.click("#mask-picker [data-pos='3']")
    page.click("#mask-picker [data-pos='4']")
    assert page.get_attribute("#mask-picker [data-pos='3']", "aria-pressed") == "true"
    page.click("#generate")
    page.wait_for_selector("#output-box figure[data-done]")
    body = {"model": "shakespeare-mlm", "text": "To be or not", "positions": [3, 4], "top_k": 5}
    res = api.post("/api/fill-mask", json=body).json()
    assert page.text_content("#filled") == res["filled"]
    shown = page.eval_on_selector_all("#fill-candidates .masked-pos", "els => els.map(e => +e.dataset.pos)")
    assert shown == [m["position"] for m in res["masked"]] == [3, 4]


def test_three_samples_stream_side_by_side_with_consecutive_seeds(page, base_url, api):
    open_at(page, base_url, "model=shakespeare-char&max_tokens=15&seed=5&samples=3&text=KING%3A")
    page.click("#generate")
    page.wait_for_selector("#output-box figure[data-done]")
    seeds = page.eval_on_selector_all("#samples .sample", "els => els.map(e => +e.dataset.seed)")
    assert seeds == [5, 6, 7]
    shown = page.eval_on_selector_all(
        "#samples .sample",
        "els => els.map(e => [...e.querySelectorAll('.tok.gen')].map(c => c.textContent.replace(/↵/g, '')))",
    )
    for seed, tokens in zip(seeds, shown, strict=True):
        body = {"model": "shakespeare-char", "prompt": "KING:", "max_new_tokens": 15, "seed": seed}
        events = sse_events(api.post("/api/generate", json={**body, **PAGE_SAMPLER}))
        assert tokens == [e["token"] for e in events if e["event"] == "token"]
    assert len({tuple(t) for t in shown}) > 1  # different seeds, different texts


def test_beam_search_draws_each_steps_beams(page, base_url, api):
    open_at(page, base_url, "model=shakespeare-char&max_tokens=8&text=ROMEO%3A")
    page.click("#beam")
    page.wait_for_selector("#output-box figure[data-done]")
    body = {"model": "shakespeare-char", "prompt": "ROMEO:", "num_beams": 4, "max_new_tokens": 8}
    res = api.post("/api/beam", json=body).json()
    assert page.text_content("#best-beam") == res["best"]["text"]
    steps = res["steps"]
    assert page.get_attribute("#beam-step", "max") == str(len(steps) - 1)
    page.eval_on_selector("#beam-step", "el => { el.value = 0; el.dispatchEvent(new Event('input')); }")
    beams = "#beam-list li[data-logprob] .beam-text"
    first = page.eval_on_selector_all(beams, "es => es.map(e => e.textContent)")
    assert first == [b["text"] for b in steps[0]["beams"]]


@pytest.mark.parametrize(
    ("query", "button", "width"),
    [
        ("model=numbers-to-words", "#generate", 1280),
        ("model=shakespeare-mlm&text=To%20be", "#generate", 390),
        ("model=shakespeare-lstm&max_tokens=10&samples=2", "#generate", 390),
        ("model=shakespeare-char&max_tokens=6", "#beam", 1280),
    ],
)
def test_the_other_views_have_no_serious_axe_violations(browser, base_url, query, button, width):
    from test_accessibility import BLOCKING, audit

    context = browser.new_context(viewport={"width": width, "height": 844}, bypass_csp=True)
    page = context.new_page()
    try:
        open_at(page, base_url, query)
        if "mlm" in query:
            page.click("#mask-picker [data-pos='1']")
        page.click(button)
        page.wait_for_selector("#output-box figure[data-done]")
        page.wait_for_load_state("networkidle")
        bad = [f"{v['id']}: {v['help']}" for v in audit(page) if v["impact"] in BLOCKING]
        assert not bad, bad
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    finally:
        context.close()
