"""Lesson steps `twins` (PyTorch vs NumPy) and `training`: numbers equal the API's; state survives reloads."""

from urllib.parse import quote

import pytest

from helpers import LESSON_CONTROLS, assert_fits_the_screen, at_path, checked_numbers, shoot, wait_ready

TEXT = "To be, or not to be"


def gpt_name(api) -> str:
    names = [m["name"] for m in api.get("/api/models").json()["models"] if m["architecture"] == "gpt"]
    return "shakespeare-char" if "shakespeare-char" in names else names[0]


def test_twins_values_equal_both_backends_and_the_diff_table_equals_compare_backends(page, base_url, api):
    model = gpt_name(api)
    page.goto(f"{base_url}/learn/twins?model={model}&text={quote(TEXT)}&layer=1&head=2")
    wait_ready(page)
    assert page.is_hidden("#lesson-error"), page.text_content("#lesson-error")
    body = {"model": model, "text": TEXT, "layer": 1, "head": 2}
    traces = {b: api.post("/api/trace", json={**body, "backend": b}).json() for b in ("numpy", "torch")}
    compare = api.post("/api/compare-backends", json={"model": model, "text": TEXT}).json()

    shown = checked_numbers(page)
    side = [n for n in shown if n["path"].split(".")[0] in traces]
    assert {n["path"].split(".")[0] for n in side} == {"numpy", "torch"}
    assert any(".attention.1.2." in n["path"] for n in side)
    for n in side:
        path = n["path"].split(".", 1)[1]
        for trace in traces.values():  # each side-by-side value matches both backends
            assert float(n["value"]) == pytest.approx(at_path(trace, path), abs=1e-4), n

    tensors = page.eval_on_selector_all("[data-tensor]", "rows => rows.map(r => r.dataset.tensor)")
    assert tensors == list(compare["max_abs_diff"])
    diffs = {
        n["path"].rsplit(".", 1)[1]: float(n["value"]) for n in shown if n["path"].startswith("compare.")
    }
    assert set(diffs) == set(compare["max_abs_diff"])
    for key, value in diffs.items():
        assert value == pytest.approx(compare["max_abs_diff"][key], abs=1e-6)
        assert value < 1e-4  # float32 rounding, not a bug
    assert "def __call__" in page.text_content("[data-twin='NumPy'] pre")
    assert "def forward" in page.text_content("[data-twin='PyTorch'] pre")
    assert "def compare_traces" in page.text_content("#code")

    same = traces["numpy"]["next_token"][0]["id"] == traces["torch"]["next_token"][0]["id"]
    page.click("#question [data-choice='0']")
    assert page.text_content("#question .verdict") == (
        "Right." if same else "Not quite: it is “no, they differ”."
    )
    shoot(page, "lesson-twins")


def test_twins_function_choice_round_trips_through_the_url(page, base_url):
    page.goto(base_url + "/learn/twins")
    wait_ready(page)
    page.select_option("#twin-fn", "softmax")
    page.wait_for_function("() => location.search.includes('fn=softmax')")
    page.wait_for_function(
        "() => document.querySelector(\"[data-twin='PyTorch'] pre\")?.textContent.includes('def softmax')"
    )
    page.reload()
    wait_ready(page)
    assert page.input_value("#twin-fn") == "softmax"
    assert "def softmax" in page.text_content("[data-twin='NumPy'] pre")
    assert page.is_hidden("#lesson-error")


def test_twins_on_a_phone(phone, base_url):
    phone.goto(base_url + "/learn/twins")
    wait_ready(phone)
    assert phone.is_hidden("#lesson-error")
    controls = ("#twin-fn", "[data-twin='NumPy']", "[data-twin='PyTorch']", *LESSON_CONTROLS)
    assert_fits_the_screen(phone, "lesson-twins-phone", *controls)


def test_training_table_equals_the_cards(page, base_url, api):
    page.goto(base_url + "/learn/training")
    wait_ready(page)
    assert page.is_hidden("#lesson-error"), page.text_content("#lesson-error")
    models = api.get("/api/models").json()["models"]
    shown = [n for n in checked_numbers(page) if n["path"].startswith("models.")]
    for i, m in enumerate(models):
        final = [n for n in shown if n["path"] == f"models.{i}.card.val_loss"]
        if "val_loss" in m["card"]:
            assert len(final) == 1 and float(final[0]["value"]) == m["card"]["val_loss"]
    for n in shown:
        assert float(n["value"]) == pytest.approx(at_path({"models": models}, n["path"]), rel=1e-12)
    rows = page.eval_on_selector_all("tr[data-model]", "rows => rows.map(r => r.dataset.model)")
    assert rows == [m["name"] for m in models]
    # one solid (validation) and one dashed (training) curve per model with a metrics log
    language_models = [
        m for m in models if m["card"].get("task", "lm") == "lm" and m["architecture"] != "encoder"
    ]
    logs = [
        m["name"] for m in language_models if api.get(f"/api/models/{m['name']}/metrics").status_code == 200
    ]
    curves = page.eval_on_selector("figure >> nth=0", "f => f.querySelectorAll('path').length")
    assert curves == 2 * len(logs)
    assert "warm-up" in page.text_content("figure >> nth=1")
    assert "def cross_entropy" in page.text_content("#code")
    shoot(page, "lesson-training")


def test_training_axis_toggles_round_trip_through_the_url(page, base_url):
    page.goto(base_url + "/learn/training")
    wait_ready(page)
    assert "optimiser step" in page.text_content("figure h3 >> nth=0")
    page.click("button[data-key='x'][data-value='tokens']")
    page.wait_for_function("() => location.search.includes('x=tokens')")
    page.click("button[data-key='y'][data-value='bpc']")
    page.wait_for_function("() => location.search.includes('y=bpc')")
    page.reload()
    wait_ready(page)
    assert page.get_attribute("button[data-key='x'][data-value='tokens']", "aria-pressed") == "true"
    title = page.text_content("figure h3 >> nth=0")
    assert "bits per character" in title and "tokens" in title


def test_training_on_a_phone(phone, base_url):
    phone.goto(base_url + "/learn/training?reveal=all")  # the layout with every figure shown
    wait_ready(phone)
    assert phone.is_hidden("#lesson-error")
    axes = ("button[data-key='x'][data-value='tokens']", "button[data-key='y'][data-value='bpc']")
    assert_fits_the_screen(phone, "lesson-training-phone", *axes, "#code", *LESSON_CONTROLS)
