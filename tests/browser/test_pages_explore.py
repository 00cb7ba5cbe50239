"""The explorer pages /masks, /positions and /compare: numbers equal the API's, state survives a reload."""

from urllib.parse import quote

import pytest

from helpers import assert_fits_the_screen, at_path, checked_numbers, shoot, wait_ready

PROMPTS = ["ROMEO:", "To be, or not", "O Romeo, Romeo!", "Hi"]


def served(api) -> list[dict]:
    return api.get("/api/models").json()["models"]


def gpt_name(api) -> str:
    names = [m["name"] for m in served(api) if m["architecture"] == "gpt"]
    return "shakespeare-char" if "shakespeare-char" in names else names[0]


def same(shown: str, expected) -> bool:
    if isinstance(expected, bool):
        return shown == str(expected).lower()
    if isinstance(expected, float):
        return float(shown) == pytest.approx(expected, abs=1e-9)
    return shown == str(expected)


def test_masks_cells_equal_the_api(page, base_url, api):
    model = gpt_name(api)
    page.goto(f"{base_url}/masks?model={model}&row=3&prompts={quote(chr(10).join(PROMPTS))}")
    wait_ready(page)
    assert page.is_hidden("#masks-error")
    masks = api.post("/api/masks", json={"model": model, "texts": PROMPTS}).json()
    shown = [n for n in checked_numbers(page) if n["path"].startswith("masks.")]
    T = len(masks["causal"])
    kinds = {n["path"].split(".")[1] for n in shown}
    assert kinds == {"padding", "positions", "causal", "combined"}
    combined = [n for n in shown if n["path"].startswith("masks.combined.")]
    assert len(combined) == T * T and all(n["path"].startswith("masks.combined.3.") for n in combined)
    for n in shown:
        assert same(n["value"], at_path({"masks": masks}, n["path"])), n
    # the short prompt is padded on the left: hatched cells first, then its tokens numbered from 0
    assert masks["padding"][3][0] == 0 and page.is_visible("td.hatch[data-b='3'][data-t='0']")
    assert page.text_content(f"td[data-b='3'][data-t='{T - 2}'] .pos") == "0"
    assert model in page.text_content("figcaption")
    shoot(page, "masks")


def test_editing_the_batch_changes_the_grid_and_the_url_round_trips(page, base_url):
    page.goto(base_url + "/masks")
    wait_ready(page)
    before = page.eval_on_selector_all(".masks-grid tbody tr", "rows => rows.length")
    cols_before = page.eval_on_selector_all(".masks-grid thead th", "c => c.length")
    page.fill("#masks-prompts", "To be, or not to be, that is the question\nWhy\nNo")
    page.wait_for_function("() => document.querySelectorAll('.masks-grid tbody tr').length === 3")
    cols_after = page.eval_on_selector_all(".masks-grid thead th", "c => c.length")
    assert before != 3 and cols_after != cols_before
    page.select_option("#masks-row", "2")
    page.wait_for_function("() => location.search.includes('row=2')")
    assert page.get_attribute("figure[data-row]", "data-row") == "2"
    page.reload()
    wait_ready(page)
    assert page.input_value("#masks-prompts").startswith("To be, or not to be")
    assert page.get_attribute("figure[data-row]", "data-row") == "2"
    assert page.input_value("#masks-row") == "2"
    page.fill("#masks-prompts", "only one")
    page.wait_for_selector("#masks-error:not([hidden])")
    assert "2 to 8" in page.text_content("#masks-error")


def test_masks_on_a_phone(phone, base_url):
    phone.goto(base_url + "/masks")
    wait_ready(phone)
    assert phone.is_hidden("#masks-error")
    assert_fits_the_screen(phone, "masks-phone", "#masks-prompts", "#masks-row", "#masks-figures figure")


def test_positions_similarity_equals_the_api(page, base_url, api):
    model = gpt_name(api)
    page.goto(f"{base_url}/positions?model={model}&positions=40&dims=0,3,30")
    wait_ready(page)
    assert page.is_hidden("#positions-error")
    card = next(m for m in served(api) if m["name"] == model)
    data = {
        "sinusoidal": api.get(
            "/api/positional", params={"kind": "sinusoidal", "model": model, "positions": 40}
        ).json()
    }
    gpts = [m for m in served(api) if m["architecture"] == "gpt"]  # the page offers GPTs' tables only
    learned = [m["name"] for m in gpts if m["config"]["pos"] == "learned"]
    if learned:
        own = model if card["config"]["pos"] == "learned" else learned[0]
        data["learned"] = api.get(
            "/api/positional", params={"kind": "learned", "model": own, "positions": 40}
        ).json()
    shown = checked_numbers(page)
    assert {n["path"].split(".")[0] for n in shown} == set(data)
    assert len(shown) >= 5 * len(data)
    for n in shown:
        expected = at_path(data, n["path"])
        assert float(n["value"]) == pytest.approx(expected, abs=1e-12)
        assert float(n["text"]) == pytest.approx(expected, abs=6e-5)
    # 40 positions × width cells in the first heatmap; three waves
    assert (
        page.eval_on_selector_all("figure >> nth=0 >> rect.cell", "c => c.length")
        == 40 * card["config"]["n_embd"]
    )
    assert "dim 30" in page.text_content("figure >> nth=2")
    shoot(page, "positions")


def test_positions_url_round_trip(page, base_url):
    page.goto(base_url + "/positions")
    wait_ready(page)
    page.fill("#pos-dims", "2,5")
    page.wait_for_function("() => location.search.includes('dims=2,5')")
    page.eval_on_selector("#pos-n", "el => { el.value = 20; el.dispatchEvent(new Event('change')); }")
    page.wait_for_function("() => location.search.includes('positions=20')")
    page.reload()
    wait_ready(page)
    assert page.input_value("#pos-dims") == "2,5"
    assert page.input_value("#pos-n") == "20"
    page.wait_for_function("() => document.querySelector('[data-nums]')?.textContent.includes('q=16')")
    assert "q=32" not in page.text_content("[data-nums]")


@pytest.mark.console_errors_expected  # the browser logs the 503 it was given
def test_a_busy_server_is_asked_again_after_retry_after(page, base_url):
    """A 503 with Retry-After (a class asking at once) is waited out and asked again, not shown."""
    answers = []

    def busy_once(route):
        answers.append(503 if not answers else 200)
        if answers[-1] == 503:
            route.fulfill(status=503, headers={"Retry-After": "1"}, json={"detail": "busy"})
        else:
            route.continue_()

    page.route("**/api/positional?*", busy_once)
    page.goto(base_url + "/positions")
    wait_ready(page)
    page.wait_for_selector("#positions-figures figure")
    assert answers[:2] == [503, 200]
    assert page.is_hidden("#positions-error")


def test_positions_on_a_phone(phone, base_url):
    phone.goto(base_url + "/positions")
    wait_ready(phone)
    assert phone.is_hidden("#positions-error")
    assert_fits_the_screen(phone, "positions-phone", "#pos-dims", "#pos-n", "#positions-figures figure")


def test_compare_table_and_live_backends_equal_the_api(page, base_url, api):
    text = "To be, or not to be"
    page.goto(f"{base_url}/compare?text={quote(text)}")
    wait_ready(page)
    assert page.is_hidden("#compare-error")
    models = served(api)
    heads = page.eval_on_selector_all(
        "table.compare thead th[data-model]", "els => els.map(e => e.dataset.model)"
    )
    assert heads == [m["name"] for m in models]
    shown = [n for n in checked_numbers(page) if n["path"].startswith("models.")]
    assert any(n["path"].endswith("card.validation.loss") for n in shown)
    for n in shown:
        assert float(n["value"]) == pytest.approx(at_path({"models": models}, n["path"]), rel=1e-12)
    name = models[0]["name"]
    page.click(f"[data-backends='{name}'] button")
    page.wait_for_selector(f"[data-backends='{name}'][data-measured]")
    live = api.post("/api/compare-backends", json={"model": name, "text": text}).json()
    mine = [n for n in checked_numbers(page) if n["path"].startswith(f"backends.{name}.")]
    assert len(mine) == 2
    for n in mine:
        key = n["path"].rsplit(".", 1)[1]
        assert float(n["value"]) == pytest.approx(live["max_abs_diff"][key], abs=1e-6)
        assert float(n["value"]) < 1e-4
    assert page.eval_on_selector_all("figure path[stroke-dasharray]", "p => p.length") >= 1  # train curves
    shoot(page, "compare")


def test_compare_url_round_trip(page, base_url):
    page.goto(base_url + "/compare")
    wait_ready(page)
    page.click("button[data-key='x'][data-value='steps']")
    page.click("button[data-key='y'][data-value='loss']")
    page.wait_for_function("() => location.search.includes('x=steps') && location.search.includes('y=loss')")
    assert "optimiser step" in page.text_content("figure h3 >> nth=-1")
    page.reload()
    wait_ready(page)
    assert page.get_attribute("button[data-key='x'][data-value='steps']", "aria-pressed") == "true"
    assert page.get_attribute("button[data-key='y'][data-value='loss']", "aria-pressed") == "true"
    assert "loss (nats/token)" in page.text_content("figure h3 >> nth=-1")


def test_compare_on_a_phone(phone, base_url):
    phone.goto(base_url + "/compare")
    wait_ready(phone)
    assert phone.is_hidden("#compare-error")
    controls = (
        "button[data-key='x'][data-value='steps']",
        "figure:has(table.compare)",
        "#compare-figures figure",
    )
    assert_fits_the_screen(phone, "compare-phone", *controls)
