"""XSS payloads in the URL (a model name, a lesson's text) stay text in Chromium: no dialog, no element,
no script run, no blocked inline handler."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from helpers import shoot, wait_ready

IMG = "<img src=x onerror=alert(document.domain)>"
SCRIPT = "<script>alert(1)</script>"


def watch(page) -> dict[str, list[str]]:
    """Dialogs the page opens, and console lines about the Content-Security-Policy (an injected handler)."""
    seen: dict[str, list[str]] = {"dialogs": [], "csp": []}

    def on_dialog(d):
        seen["dialogs"].append(d.message)
        d.dismiss()

    page.on("dialog", on_dialog)
    page.on(
        "console",
        lambda m: "Content Security Policy" in m.text and seen["csp"].append(m.text),
    )
    return seen


def assert_inert(page, seen, payload: str) -> None:
    assert not seen["dialogs"], seen["dialogs"]
    assert not seen["csp"], seen["csp"]
    assert page.evaluate("() => window.__xss === undefined")
    # nothing the payload names became an element
    assert page.locator("img[src='x']").count() == 0
    assert page.evaluate("() => [...document.scripts].every(s => s.src || s.type === 'application/json')")
    body_html = page.evaluate("() => document.body.innerHTML")
    assert payload not in body_html  # never markup (as text it is serialised as &lt;…&gt;)


def test_a_payload_as_the_model_name_stays_text(page, base_url, api):
    seen = watch(page)
    payload = IMG.replace("document.domain", "window.__xss=1")
    page.goto(f"{base_url}/playground?model={quote(payload)}")
    wait_ready(page)
    assert_inert(page, seen, payload)
    # an unknown name is never used: the page opens on a served model
    served = [m["name"] for m in api.get("/api/models").json()["models"]]
    chosen = page.eval_on_selector_all("select", "els => els.map(e => e.value)")
    assert served[0] in chosen
    shoot(page, "security-model-payload")


@pytest.mark.console_errors_expected  # characters outside a char model's vocabulary: the 422 is logged
def test_a_script_in_a_lesson_text_is_refused_as_text_by_a_char_model(page, base_url):
    seen = watch(page)
    page.goto(f"{base_url}/learn/tokenization?text={quote(SCRIPT)}")
    wait_ready(page)
    assert_inert(page, seen, SCRIPT)
    assert page.locator("textarea, input[type=text]").first.input_value() == SCRIPT
    assert "characters not in this model's vocabulary: '(', ')', '/', '1', '<', '>'" in page.inner_text(
        "main"
    )
    assert [e for e in page.problems.errors if "422" in e]  # the refusal, and nothing else
    assert all("422" in e for e in page.problems.errors), page.problems.errors
    shoot(page, "security-lesson-payload-char")


def test_a_script_in_a_lesson_text_shows_as_tokens(page, base_url, api):
    seen = watch(page)
    page.goto(f"{base_url}/learn/embeddings?model=shakespeare-bpe&text={quote(SCRIPT)}")
    wait_ready(page)
    assert_inert(page, seen, SCRIPT)
    assert page.locator("textarea, input[type=text]").first.input_value() == SCRIPT
    tokens = api.post("/api/tokenize", json={"model": "shakespeare-bpe", "text": SCRIPT}).json()["tokens"]
    text = page.inner_text("main")
    assert all(t.strip() in text for t in tokens), (tokens, text[:800])
    shoot(page, "security-lesson-payload-bpe")


@pytest.mark.console_errors_expected  # the page's own 404 status is logged
def test_a_payload_in_a_lesson_name_is_an_escaped_404(page, base_url):
    seen = watch(page)
    payload = IMG.replace("document.domain", "window.__xss=1")
    response = page.goto(f"{base_url}/learn/{quote(payload)}")
    assert response.status == 404
    assert_inert(page, seen, payload)
    assert payload in page.locator("main").inner_text()
    assert all("404" in e for e in page.problems.errors), page.problems.errors
    shoot(page, "security-404-payload")
