"""Lesson steps 13 (architectures) and 14 (LSTM) on a second server whose zoo holds shakespeare-char and
tiny random encoder, encoder-decoder, LSTM and numbers-GPT models: checked numbers equal the API's."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from arch_zoo import build_zoo

from helpers import (
    LESSON_CONTROLS,
    assert_fits_the_screen,
    at_path,
    checked_numbers,
    served,
    shoot,
    wait_ready,
)

ROOT = Path(__file__).resolve().parents[2]
TEXT = "ROMEO: But soft, what light"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    """A server of its own, on a zoo of shakespeare-char and tiny random models of every architecture."""
    zoo = build_zoo(tmp_path_factory.mktemp("arch-zoo"))
    (zoo / "shakespeare-char").symlink_to(ROOT / "models" / "zoo" / "shakespeare-char")
    with served(zoo, ROOT / "artifacts" / "browser-server-arch.log") as url:
        yield url


def query(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


def assert_checked(page, responses: dict) -> dict[str, int]:
    """Every [data-check] number equals the response named by its path's first part; counts per part."""
    counts: dict[str, int] = {}
    for n in checked_numbers(page):
        head, rest = n["path"].split(".", 1)
        want = at_path(responses[head], rest)
        if isinstance(want, bool):
            assert n["value"] == str(want).lower(), n["path"]
        else:
            assert float(n["value"]) == pytest.approx(float(want), abs=1e-9), n["path"]
        counts[head] = counts.get(head, 0) + 1
    return counts


def test_architectures_step_shows_the_apis_numbers(page, base_url, api):
    page.goto(
        f"{base_url}/learn/architectures?text=ROMEO%3A+But+soft%2C+what+light&masked=8,13&number=4012&beams=3"
    )
    wait_ready(page)
    assert page.is_hidden("#lesson-error")
    fill = api.post("/api/fill-mask", json={"model": "tiny-mlm", "text": TEXT, "positions": [8, 13]}).json()
    causal = api.post(
        "/api/trace", json={"model": "shakespeare-char", "text": TEXT, "layer": 0, "head": 0}
    ).json()
    tr = api.post(
        "/api/translate",
        json={"model": "tiny-numbers", "source": "4012", "num_beams": 3, "length_penalty": 1},
    ).json()
    counts = assert_checked(page, {"fill": fill, "causal": causal, "tr": tr})
    assert counts["fill"] >= 2 * 5 and counts["tr"] >= len(tr["greedy"]["ids"]) * 4
    assert page.eval_on_selector_all("[data-masked]", "els => els.map(e => +e.dataset.masked)") == [8, 13]
    assert page.text_content("[data-greedy]") == (tr["greedy"]["text"] or "(nothing)")
    assert page.text_content("[data-filled]") == fill["filled"]
    rows = page.eval_on_selector_all(
        "[data-panel=compare] tr[data-model]", "els => els.map(e => e.dataset.model)"
    )
    assert rows == ["tiny-numbers", "numbers-gpt"]
    cards = {m["name"]: m for m in api.get("/api/models").json()["models"]}
    assert (
        page.text_content("tr[data-model=tiny-numbers] td.num") == f"{cards['tiny-numbers']['parameters']:,}"
    )
    assert (
        page.text_content("tr[data-model=tiny-numbers] td:nth-child(4)") == "50.0%"
    )  # the card's exact match
    shoot(page, "lesson-architectures")


def test_architectures_controls_update_the_url(page, base_url, api):
    page.goto(f"{base_url}/learn/architectures?model=tiny-numbers&reveal=all")  # cross-attention shown
    wait_ready(page)
    auto = page.eval_on_selector_all(
        "button[data-pos][aria-pressed=true]", "els => els.map(e => +e.dataset.pos)"
    )
    assert len(auto) == 2  # two letters hidden when the URL names none
    page.click("button[data-pos='0']")
    page.wait_for_function("() => new URLSearchParams(location.search).get('masked')?.startsWith('0,')")
    page.wait_for_selector("[data-masked='0']")
    page.select_option("#lesson-beams", "2")
    page.wait_for_function("() => location.search.includes('beams=2')")
    page.wait_for_selector("figure[data-panel=beams] h3:has-text('2 beams')")
    widest = page.eval_on_selector_all(
        "figure[data-panel=beams] tr", "rows => Math.max(...rows.map(r => r.querySelectorAll('td').length))"
    )
    assert widest <= 2
    page.fill("#lesson-number", "77")
    page.press("#lesson-number", "Enter")
    page.wait_for_function("() => location.search.includes('number=77')")
    page.wait_for_selector("figure[data-panel=cross] h3:has-text('77 → words')")
    assert query(page)["model"] == "tiny-numbers"
    page.select_option("#lesson-layer", "1")
    page.wait_for_function("() => location.search.includes('layer=1')")


def test_lstm_step_shows_the_apis_numbers(page, base_url, api):
    page.goto(f"{base_url}/learn/lstm?text=ROMEO%3A+But+soft%2C+what+light&layer=1")
    wait_ready(page)
    assert page.is_hidden("#lesson-error")
    trace = api.post("/api/trace", json={"model": "tiny-lstm", "text": TEXT, "layer": 1}).json()
    ppl = [
        api.post("/api/perplexity", json={"model": m, "text": TEXT}).json()
        for m in ("tiny-lstm", "shakespeare-char")
    ]
    counts = assert_checked(page, {"trace": trace, "ppl": ppl})
    assert counts["trace"] == 6 * 24 * len(TEXT) + 20 and counts["ppl"] == 6
    assert page.eval_on_selector_all("[data-gate]", "els => els.length") == 6
    rows = page.eval_on_selector_all(
        "[data-panel=compare] th[data-model]", "els => els.map(e => e.dataset.model)"
    )
    assert rows == ["tiny-lstm", "shakespeare-char"]
    shoot(page, "lesson-lstm")
    page.select_option("#lesson-layer", "0")
    page.wait_for_function("() => new URLSearchParams(location.search).get('layer') === null")
    page.wait_for_selector("figure[data-panel=gates] h3:has-text('layer 0')")
    page.select_option("#lesson-units", "24")  # 30 units: the second page holds units 24-29
    page.wait_for_function("() => location.search.includes('units=24')")
    page.wait_for_selector("figure[data-panel=gates] h3:has-text('units 24–29')")
    trace = api.post("/api/trace", json={"model": "tiny-lstm", "text": TEXT, "layer": 0}).json()
    counts = assert_checked(page, {"trace": trace, "ppl": ppl})
    assert counts["trace"] == 6 * 6 * len(TEXT) + 20


def test_both_steps_fit_a_phone(phone, base_url):
    for slug in ("architectures", "lstm"):
        phone.goto(f"{base_url}/learn/{slug}")
        wait_ready(phone)
        assert phone.is_hidden("#lesson-error")
        assert_fits_the_screen(phone, f"lesson-{slug}-phone", *LESSON_CONTROLS)


def test_masks_page_adds_the_cross_attention_mask(page, base_url, api):
    page.goto(f"{base_url}/masks")
    wait_ready(page)
    page.wait_for_selector("[data-panel=cross-mask] rect.cell")
    want = api.post(
        "/api/cross-mask", json={"model": "tiny-numbers", "sources": ["7", "42", "1234", "908172"]}
    ).json()
    counts = assert_checked(
        page,
        {
            "cross": want,
            "masks": api.post(
                "/api/masks",
                json={
                    "model": "shakespeare-char",
                    "texts": ["ROMEO:", "To be, or not to be", "O Romeo, Romeo!", "What light"],
                },
            ).json(),
        },
    )
    assert counts["cross"] == sum(len(m) * len(m[0]) for m in want["cross"])
    hatched = page.eval_on_selector_all(
        "[data-panel=cross-mask] [data-row='0'] rect.cell[fill^=url]", "els => els.length"
    )
    assert hatched == sum(not v for row in want["cross"][0] for v in row) > 0
    shoot(page, "masks-cross")


@pytest.mark.parametrize(
    "path", ["/", "/playground", "/attention", "/compare", "/positions", "/learn", "/learn/twins"]
)
def test_other_pages_live_beside_every_architecture(page, base_url, path):
    page.goto(base_url + path)
    wait_ready(page)
    assert page.locator(".error:visible").count() == 0, page.locator(".error:visible").all_text_contents()


def test_the_new_pages_stay_within_the_weight_budget(page, base_url):
    from test_shell import BUDGET, page_weight

    for path in ("/learn/architectures", "/learn/lstm", "/masks"):
        page.goto(base_url + path)
        wait_ready(page)
        page.wait_for_load_state("networkidle")
        files = page_weight(page)
        assert 300_000 < sum(files.values()) <= BUDGET, (path, sum(files.values()), files)
