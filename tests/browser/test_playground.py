"""The playground: streaming tokens, Stop, the sampler panel, attention grid, URL state, presets, phone."""

import contextlib
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from helpers import assert_fits_the_screen, at_path, checked_numbers, shoot, sse_events, wait_ready

MODEL = "shakespeare-char"
CELLS = "els => els.map(e => e.dataset.layer + '.' + e.dataset.head)"


def streams_become(api, n: int, timeout_s: float = 10) -> bool:
    """Poll /healthz until the server streams exactly n generations (no event to wait on exists)."""
    deadline = time.monotonic() + timeout_s
    while api.get("/healthz").json()["streams"] != n:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def open_playground(page, base_url, query=""):
    page.goto(f"{base_url}/playground?model={MODEL}{query}")
    wait_ready(page)
    page.wait_for_selector("#sampler-box [data-stage]")


def set_slider(page, key, value):
    page.eval_on_selector(
        f"#s-{key}",
        "(el, v) => { el.value = v; el.dispatchEvent(new Event('input', {bubbles: true})); }",
        str(value),
    )


def drawn(page) -> dict:
    return json.loads(page.get_attribute("#sampler-box figure", "data-drawn"))


def generate(page):
    page.click("#generate")
    page.wait_for_selector("#output-box figure[data-done]")


def test_a_prompt_streams_exactly_the_asked_number_of_tokens(page, base_url):
    open_playground(page, base_url, "&max_tokens=20&text=ROMEO%3A")
    assert page.input_value("#s-max_tokens") == "20"
    generate(page)
    assert page.eval_on_selector_all("#output .tok.gen", "els => els.length") == 20
    assert page.eval_on_selector_all("#output .tok.prompt", "els => els.length") == len("ROMEO:")
    done = [n for n in checked_numbers(page) if n["path"] == "done.n_tokens"]
    assert [int(n["value"]) for n in done] == [20]
    assert "ms/token" in page.text_content("#speed") and "tokens/s" in page.text_content("#speed")
    # hovering a generated token shows its candidates and the attention row that predicted it
    page.hover("#output .tok.gen[data-index='5']")
    assert page.eval_on_selector_all("#token-detail .bars .p", "els => els.length") >= 1
    assert page.eval_on_selector_all("#token-detail .tokens .tok", "els => els.length") == len("ROMEO:") + 5
    shoot(page, "playground")


def test_the_text_for_a_seed_equals_the_api_stream(page, base_url, api):
    query = "&max_tokens=30&seed=7&temperature=1.1&top_k=20&top_p=0.9&text=JULIET%3A"
    open_playground(page, base_url, query)
    page.press("#prompt", "Control+Enter")  # the keyboard shortcut generates
    page.wait_for_selector("#output-box figure[data-done]")
    shown = page.eval_on_selector_all(
        "#output .tok.gen", "es => es.map(e => e.textContent.replace(/↵/g, ''))"
    )
    body = {
        "model": MODEL,
        "prompt": "JULIET:",
        "backend": "numpy",
        "max_new_tokens": 30,
        "temperature": 1.1,
        "top_k": 20,
        "top_p": 0.9,
        "repetition_penalty": 1,
        "seed": 7,
    }
    events = sse_events(api.post("/api/generate", json=body))
    tokens = [e["token"] for e in events if e["event"] == "token"]
    assert shown == tokens and len(tokens) == 30


OTHERS = 24


@contextlib.contextmanager
def other_students(base_url: str, n: int):
    """``n`` clients streaming generations of the same model meanwhile, each starting a new one as soon as
    the last ends (at the 128-token context), until the block exits: every step then serves them too, so
    a generation lasts seconds instead of the fraction of a second one stream alone takes."""
    body = {"model": MODEL, "prompt": "ROMEO:", "max_new_tokens": 500}
    done = threading.Event()

    def stream():
        with httpx.Client(base_url=base_url, timeout=60) as c:
            while not done.is_set():
                with c.stream("POST", "/api/generate", json=body) as r:
                    for _ in r.iter_lines():
                        if done.is_set():
                            break

    with ThreadPoolExecutor(n) as pool:
        for _ in range(n):
            pool.submit(stream)
        try:
            yield
        finally:
            done.set()


def streams_stay_at_most(api, n: int, polls: int = 10, timeout_s: float = 5) -> bool:
    """/healthz reports at most n streams on ``polls`` polls in a row (the others restart now and then,
    so the count dips for a moment; it never rises above n once ours has closed)."""
    deadline, run = time.monotonic() + timeout_s, 0
    while run < polls:
        run = run + 1 if api.get("/healthz").json()["streams"] <= n else 0
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_stop_ends_the_stream_and_the_server_stops_generating(page, base_url, api):
    open_playground(page, base_url, "&max_tokens=512")
    with other_students(base_url, OTHERS):
        assert streams_become(api, OTHERS)
        page.click("#generate")
        page.wait_for_selector("#output .tok.gen[data-index='3']")
        assert streams_become(api, OTHERS + 1, timeout_s=5)  # ours among them
        page.click("#stop")
        assert page.is_enabled("#generate") and page.is_disabled("#stop")
        # ours closes at once, while the others go on streaming
        assert streams_stay_at_most(api, OTHERS, timeout_s=3)
        assert api.get("/healthz").json()["streams"] >= OTHERS - 2
    n = page.eval_on_selector_all("#output .tok.gen", "els => els.length")
    assert 4 <= n < 128
    assert page.get_attribute("#output-box figure", "data-done") is None


def test_the_top_k_slider_redraws_the_sampler_with_the_api_kept_count(page, base_url, api):
    open_playground(page, base_url, "&top_k=0&top_p=1")
    before = int(page.text_content("[data-stage='top_k'] .kept"))
    set_slider(page, "top_k", 5)
    page.wait_for_function(
        "() => JSON.parse(document.querySelector('#sampler-box figure').dataset.drawn).top_k == 5"
    )
    after = int(page.text_content("[data-stage='top_k'] .kept"))
    assert after == 5 < before
    request = drawn(page)
    res = api.post("/api/sampler", json=request).json()
    shown = {n["path"]: n["value"] for n in checked_numbers(page) if n["path"].startswith("sampler.")}
    assert shown and all(float(v) == pytest.approx(at_path({"sampler": res}, p)) for p, v in shown.items())
    assert page.eval_on_selector_all("[data-stage='top_k'] .bar.removed", "els => els.length") == 16 - 5
    assert page.text_content("[data-stage='top_k'] .bars .p:last-child") == "cut"


def test_the_attention_grid_has_a_cell_per_layer_and_head(page, base_url, api):
    cfg = next(m for m in api.get("/api/models").json()["models"] if m["name"] == MODEL)["config"]
    open_playground(page, base_url, "&text=To%20be")
    page.wait_for_selector("#attention-box .attngrid .thumb")
    cells = page.eval_on_selector_all("#attention-box .thumb", CELLS)
    assert len(cells) == cfg["n_layer"] * cfg["n_head"] == len(set(cells))
    page.click("#attention-box .thumb[data-layer='1'][data-head='2']")
    page.wait_for_function("() => location.search.includes('zoom=1.2')")
    assert page.eval_on_selector_all("#attention-box svg.heatmap rect.cell", "els => els.length") == 5 * 5
    shoot(page, "playground-attention")


def test_slider_values_survive_a_reload(page, base_url):
    open_playground(page, base_url)
    set_slider(page, "temperature", 1.25)
    set_slider(page, "top_p", 0.7)
    set_slider(page, "top_k", 12)
    page.click("[data-backend='torch']")
    page.fill("#seed", "123")
    page.press("#seed", "Tab")
    page.wait_for_function("() => location.search.includes('seed=123')")
    page.reload()
    wait_ready(page)
    assert page.input_value("#s-temperature") == "1.25"
    assert page.input_value("#s-top_p") == "0.7"
    assert page.input_value("#s-top_k") == "12"
    assert page.input_value("#seed") == "123"
    assert page.get_attribute("[data-backend='torch']", "aria-pressed") == "true"
    assert page.text_content("#o-temperature") == "1.25"


def test_share_copies_a_link_that_opens_the_same_view(page, base_url):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    open_playground(page, base_url, "&text=JULIET%3A")
    set_slider(page, "temperature", 0.55)
    page.fill("#seed", "77")
    page.press("#seed", "Tab")
    page.wait_for_function("() => location.search.includes('seed=77')")
    page.click("#share")
    page.wait_for_function("() => document.body.innerText.includes('Link copied')")
    link = page.evaluate("() => navigator.clipboard.readText()")
    assert link == page.url and "temperature=0.55" in link
    other = page.context.new_page()
    other.goto(link)
    wait_ready(other)
    assert other.input_value("#prompt") == "JULIET:"
    assert other.input_value("#s-temperature") == "0.55"
    assert other.input_value("#seed") == "77"
    other.close()


def test_teacher_presets_lock_and_hide(page, base_url):
    open_playground(page, base_url, "&lock=temperature,top_k&hide=attention")
    assert page.is_disabled("#s-temperature") and page.is_disabled("#s-top_k")
    assert page.is_enabled("#s-top_p")
    assert page.is_hidden("#attention-box")


@pytest.mark.console_errors_expected  # Chromium logs each 422 response; nothing else may be logged
def test_bad_prompts_show_the_server_message_and_stay_text(page, base_url):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    open_playground(page, base_url, "&max_tokens=3")
    page.fill("#prompt", "<img src=x onerror=alert(1)>")
    page.wait_for_selector("#prompt-error:not([hidden])")
    assert "not in this model's vocabulary" in page.text_content("#prompt-error")
    assert page.is_disabled("#generate")  # with the reason, until the prompt reads
    # a payload the character model can encode is shown as the characters typed
    payload = "&lt;b&gt;bold&amp;"
    page.fill("#prompt", payload)
    page.wait_for_selector("#prompt-error", state="hidden")
    generate(page)
    shown = page.eval_on_selector_all("#output .tok.prompt", "els => els.map(e => e.textContent).join('')")
    assert shown == payload
    assert page.query_selector("#output b, #output img") is None
    page.fill("#prompt", "x" * 200)
    page.wait_for_selector("#prompt-error:not([hidden])")
    assert "exceed the model's context of 128" in page.text_content("#prompt-error")
    assert dialogs == []
    errors = page.problems.errors
    assert errors and all("status of 422" in e for e in errors), errors


def test_side_by_side_gives_equal_texts(page, base_url):
    open_playground(page, base_url, "&sbs=1&max_tokens=15&text=KING%3A")
    page.click("#generate")
    page.wait_for_selector("#same-text")
    assert page.text_content("#same-text") == "The two generated texts are identical."
    texts = page.eval_on_selector_all("#compare-box .text-stream", "els => els.map(e => e.textContent)")
    assert len(texts) == 2 and texts[0] == texts[1]
    shoot(page, "playground-side-by-side")


def test_phone_layout_does_not_overflow(phone, base_url):
    open_playground(phone, base_url, "&max_tokens=40")
    generate(phone)
    phone.wait_for_selector("#attention-box .thumb")
    controls = ("#prompt", "#generate", "#s-temperature", "#output-box figure", "#attention-box figure")
    assert_fits_the_screen(phone, "playground-phone", *controls)
