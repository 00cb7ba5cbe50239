"""/compare's measured table (GET /api/compare-table, written by `playground compare --json`) on a server
of its own: tiny random models of every architecture, their cards carrying each task's quality; and
"Measure all backends" over every served model (a Hugging Face GPT-2 folder, card-less, among them)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from arch_zoo import build_zoo

from server.cli import main

from helpers import assert_fits_the_screen, at_path, checked_numbers, served, shoot, wait_ready

ROOT = Path(__file__).resolve().parents[2]
SHOWN = {"val_loss", "val_ppl", "val_bpc", "masked_accuracy", "masked_top5", "masked_loss", "exact_match"}
QUALITY = {
    "tiny-lstm": {"task": "lm", "validation": {"loss": 2.5, "perplexity": 12.18, "bits_per_char": 3.6067}},
    "tiny-mlm": {
        "task": "mlm",
        "validation": {"loss": 2.1, "perplexity": 8.17, "accuracy": 0.4123, "top5_accuracy": 0.7654},
    },
}


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    zoo = build_zoo(tmp_path_factory.mktemp("compare-zoo"))
    for name, fields in QUALITY.items():
        card = json.loads((zoo / name / "card.json").read_text())
        (zoo / name / "card.json").write_text(json.dumps({**card, **fields}))
    models = [str(p) for p in sorted(zoo.iterdir()) if p.is_dir()]
    out = zoo / "compare.json"
    assert main(["compare", "--in-process", "--new-tokens", "4", "--json", str(out), *models]) == 0
    try:  # your own checkpoint, dropped in after the table was measured
        from hf_gpt2 import build_hf_gpt2

        build_hf_gpt2(zoo / "tiny-gpt2")
    except ImportError:  # no transformers: the zoo's own models only
        pass
    return zoo


@pytest.fixture(scope="module")
def base_url(zoo):
    with served(zoo, ROOT / "artifacts" / "browser-server-compare.log") as url:
        yield url


def test_the_measured_tables_numbers_equal_the_json(page, base_url, api):
    page.goto(base_url + "/compare")
    wait_ready(page)
    table = api.get("/api/compare-table").json()
    assert page.is_hidden("#compare-error")
    titles = page.eval_on_selector_all("figure h3", "els => els.map(e => e.textContent)")
    assert titles[0] == "Measured: 4 served models, torch and numpy"  # above the live table
    rows = page.eval_on_selector_all("table.measured tbody tr", "els => els.map(e => e.dataset.row)")
    assert rows == [r["name"] for r in table["rows"]]
    shown = [n for n in checked_numbers(page) if n["path"].startswith("table.")]
    per_row = [2 + len(SHOWN & set(r["quality"])) + 2 * len(r["speeds"]) for r in table["rows"]]
    assert len(shown) == sum(per_row) and len({n["path"] for n in shown}) == len(shown)
    for n in shown:
        assert float(n["value"]) == pytest.approx(at_path({"table": table}, n["path"]), rel=1e-12), n["path"]
    i = rows.index("tiny-mlm")
    text = {n["path"]: n["text"] for n in shown}
    assert text[f"table.rows.{i}.quality.masked_accuracy"] == "41.23%"
    assert text[f"table.rows.{i}.quality.masked_top5"] == "76.5%"
    assert text[f"table.rows.{rows.index('tiny-lstm')}.quality.val_bpc"] == "3.607 bits/char"
    assert text[f"table.rows.{rows.index('tiny-numbers')}.quality.exact_match"] == "50.00%"
    caption = page.text_content("figure[data-panel='measured'] figcaption")
    assert table["machine"]["cpu"] in caption and table["generated"][:10] in caption
    assert "words written" in caption and "tokens read" in caption


def test_a_row_reads_out_on_focus_and_hover(page, base_url, api):
    page.goto(base_url + "/compare")
    wait_ready(page)
    table = api.get("/api/compare-table").json()
    row = next(r for r in table["rows"] if r["name"] == "tiny-lstm")
    readout = "figure[data-panel='measured'] .readout"
    page.focus("tr[data-row='tiny-lstm']")
    assert f"numpy {row['speeds'][1]['tokens_per_s']:.1f} tokens/s" in page.text_content(readout)
    assert "LSTM state" in page.text_content(readout)
    page.keyboard.press("Tab")  # rows are in the tab order
    assert (
        page.evaluate("document.activeElement.dataset.row")
        == table["rows"][[r["name"] for r in table["rows"]].index("tiny-lstm") + 1]["name"]
    )
    page.hover("tr[data-row='tiny-numbers']")
    assert "tiny-numbers (numbers)" in page.text_content(readout)
    shoot(page, "compare-measured")


def test_the_measured_table_on_a_phone(phone, base_url):
    phone.goto(base_url + "/compare")
    wait_ready(phone)
    # the table scrolls inside its figure, the page does not widen
    assert_fits_the_screen(phone, "compare-measured-phone", "figure:has(table.measured)")
    # scrolled to its right end, the table still shows which model each row is
    box = "figure:has(table.measured) .body"
    phone.eval_on_selector(box, "el => { el.scrollLeft = el.scrollWidth; }")
    phone.wait_for_function(f"() => document.querySelector('{box}').scrollLeft > 0")
    first = "table.measured tbody tr:first-child > :first-child"
    left = phone.eval_on_selector(first, "el => el.getBoundingClientRect().left")
    body_left = phone.eval_on_selector(box, "el => el.getBoundingClientRect().left")
    assert abs(left - body_left) < 2 and phone.is_visible(first)
    shoot(phone, "compare-measured-phone-scrolled")


def test_without_a_table_the_page_says_how_to_make_one(page, base_url, zoo):
    table = zoo / "compare.json"
    table.rename(zoo / "compare.json.away")
    try:
        page.goto(base_url + "/compare")
        wait_ready(page)
        note = page.text_content("[data-panel='measured']")
        assert "playground compare --json models/zoo/compare.json" in note
        assert page.locator("table.measured").count() == 0 and page.is_hidden("#compare-error")
        assert page.locator("table.compare").count() == 1  # the live table still shows
    finally:
        (zoo / "compare.json.away").rename(table)


def test_measure_all_measures_every_served_model(page, base_url, api):
    """Each model gets an input its vocabulary reads: the text above for language models and the masked LM,
    "4012" for the encoder-decoder's source, "4012=" for the numbers GPT (no 422, no console error)."""
    page.goto(base_url + "/compare")
    wait_ready(page)
    served_models = [m["name"] for m in api.get("/api/models").json()["models"]]
    page.click("#measure-all")
    page.wait_for_function(
        "n => document.querySelectorAll('[data-backends][data-measured]').length === n",
        arg=len(served_models),
    )
    state = page.eval_on_selector_all(
        "[data-backends]", "els => Object.fromEntries(els.map(e => [e.dataset.backends, e.dataset.measured]))"
    )
    assert state == {name: "1" for name in served_models}, page.text_content("table.compare")
    for name, text in (("tiny-numbers", "4012"), ("numbers-gpt", "4012=")):
        note = page.text_content(f"[data-backends='{name}'] [data-input]")
        assert note == f"on “{text}”: a numbers model reads digits"
    assert page.locator("[data-backends='tiny-lstm'] [data-input]").count() == 0  # the text above
    worst = {  # each model's largest twin difference over its trace tensors (not every trace has logits)
        n["path"].split(".")[1]: float(n["value"])
        for n in checked_numbers(page)
        if n["path"].startswith("backends.") and n["value"] != "undefined"
    }
    assert set(worst) == set(served_models) and max(worst.values()) < 1e-3, worst
