"""The whole model on one map (/model and the first lesson step) and the small map in every lesson."""

from __future__ import annotations

import math
from urllib.parse import quote

from helpers import assert_fits_the_screen, shoot, wait_ready

TEXT = "ROMEO: But soft, what light"
MODEL = "shakespeare-char"
PARTS = "#model-figures a.map-part"


def live(page, kind: str) -> str:
    """Focus the first part of ``kind`` (as the keyboard would) and read the live value it shows."""
    page.focus(f"a.map-part[data-kind='{kind}']")
    page.wait_for_function("k => document.querySelector('#map-detail .live')?.dataset.kind === k", arg=kind)
    return page.text_content("#map-detail .live")


def test_model_page_draws_every_part_with_its_real_shapes_and_live_values(page, base_url, api):
    page.goto(f"{base_url}/model?model={MODEL}&text={quote(TEXT)}")
    wait_ready(page)
    assert page.is_hidden("#model-error"), page.text_content("#model-error")
    want = api.post("/api/model-map", json={"model": MODEL, "text": TEXT}).json()
    parts = want["stacks"][0]["parts"]
    drawn = page.eval_on_selector_all(PARTS, "els => els.map(e => [e.dataset.part, e.textContent])")
    assert [d[0] for d in drawn] == [p["id"] for p in parts]  # every part, in flow order
    for (_, text), p in zip(drawn, parts, strict=True):
        # the box shows the shapes line by line (c_attn 128 → 384, 4 heads × 32, c_proj 128 → 128)
        for line in p["shape"].removeprefix("residual stream ").split(" · "):
            assert line in text, (p["id"], line, text)
    assert "65 × 128" in page.text_content("a.map-part[data-kind='wte']")
    assert "c_attn 128 → 384" in page.text_content("a.map-part[data-kind='attn']")
    assert page.locator("a.map-part[data-kind='attn']").count() == want["sizes"]["L"]

    # hover and focus show what the part computed; the numbers are the trace's
    trace = api.post("/api/trace", json={"model": MODEL, "text": TEXT, "layer": 0, "head": 0}).json()
    row = trace["tok_emb"][-1]
    wte = live(page, "wte")
    assert f"Row {trace['ids'][-1]} " in wte and f"‖row‖ = {math.sqrt(sum(x * x for x in row)):.3f}" in wte
    top = trace["next_token"][0]
    assert f"“{top['token']}” {100 * top['prob']:.1f}%" in live(page, "probs")
    page.hover("a.map-part[data-kind='mlp']")
    page.wait_for_function("() => document.querySelector('#map-detail .live').dataset.kind === 'mlp'")
    assert "% of the MLP's hidden units are active" in page.text_content("#map-detail .live")

    # the keyboard: one tab stop, arrows move from part to part, focus visible, Enter follows the link
    page.focus("a.map-part[data-kind='tokens']")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.dataset.kind") == "wte"
    assert (
        page.evaluate("getComputedStyle(document.activeElement.querySelector('rect')).strokeWidth") == "3px"
    )
    assert page.locator(f"{PARTS}[tabindex='0']").count() == 1
    shoot(page, "model-map")

    # new text, new live values
    page.fill("#model-text", "JULIET: O")
    page.wait_for_function("() => location.search.includes('JULIET')")
    page.wait_for_function(
        "() => document.querySelector('a.map-part[data-kind=tokens]')?.textContent.includes('T = 9')"
    )
    assert live(page, "wte") != wte
    page.keyboard.press("Enter")
    page.wait_for_url("**/learn/embeddings?*")
    assert "JULIET" in page.url and f"model={MODEL}" in page.url


def test_model_page_fits_a_phone(phone, base_url):
    phone.goto(f"{base_url}/model?model={MODEL}&text={quote(TEXT)}")
    wait_ready(phone)
    assert_fits_the_screen(phone, "model-map-phone", "#model-controls", "#model-figures figure", PARTS)


def test_encoder_decoder_map_has_cross_attention(page, base_url, api):
    page.goto(f"{base_url}/model?model=numbers-to-words&text=1234")
    wait_ready(page)
    assert page.is_hidden("#model-error"), page.text_content("#model-error")
    models = api.get("/api/models").json()["models"]
    config = next(m for m in models if m["name"] == "numbers-to-words")["config"]
    cross = page.locator("a.map-part[data-kind='cross']")
    assert cross.count() == config["n_dec_layer"] >= 1
    assert "K, V ← encoder" in cross.first.text_content()
    assert page.locator("a.map-part[data-part^='encoder.']").count() > 0
    assert "attends most to" in live(page, "cross")
    shoot(page, "model-map-encoder-decoder")


def test_lessons_show_their_place_on_the_small_map(page, base_url):
    page.goto(f"{base_url}/learn/qkv?text={quote(TEXT)}")
    wait_ready(page)
    page.wait_for_selector("#lesson-map rect.lit")
    lit = page.eval_on_selector_all("#lesson-map rect.lit", "els => els.map(e => e.dataset.part)")
    assert lit and all(p.endswith(".attn") for p in lit), lit
    assert "/model?" in page.get_attribute("#lesson-map a", "href")
    page.goto(f"{base_url}/learn/embeddings?text={quote(TEXT)}")
    wait_ready(page)
    page.wait_for_selector("#lesson-map rect.lit")
    assert page.eval_on_selector_all("#lesson-map rect.lit", "els => els.map(e => e.dataset.part)") == [
        "transformer.wte"
    ]
    # the first step is the whole map: every part lit in its small copy, each part a link to its step
    page.goto(f"{base_url}/learn/model?text={quote(TEXT)}")
    wait_ready(page)
    page.wait_for_selector("#lesson-map rect.lit")
    assert page.locator("#lesson-map rect:not(.lit)").count() == 0
    assert page.get_attribute("#figures a.map-part[data-kind='attn']", "href").startswith("/learn/qkv?")
