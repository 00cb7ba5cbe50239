"""Accessibility in use, beyond what axe sees: where the keyboard focus goes, what screen readers hear,
whether text on a coloured cell can be read, and how many Tab presses a page costs."""

import itertools
import json
import re
from urllib.parse import quote

import pytest

from helpers import wait_ready

MODEL = "shakespeare-char"
TEXT = "ROMEO:\nBut soft, what light"
ACTIVE = (
    "() => { const a = document.activeElement; return a === document.body ? 'body' : a.id || a.tagName; }"
)


def open_attention(page, base_url, query="", text=TEXT):
    page.goto(f"{base_url}/attention?model={MODEL}&text={quote(text)}{query}")
    wait_ready(page)
    page.wait_for_selector("#grid-box .thumb")
    page.wait_for_selector("#pertoken-box figure[data-done]")


def open_playground(page, base_url, query=""):
    page.goto(f"{base_url}/playground?model={MODEL}{query}")
    wait_ready(page)
    page.wait_for_selector("#attention-box svg.attngrid")


# -- focus never drops to the page body -------------------------------------------------------------


def test_generate_and_stop_hand_the_focus_to_each_other(page, base_url):
    open_playground(page, base_url, "&max_tokens=30")
    page.focus("#generate")
    page.keyboard.press("Enter")
    assert page.evaluate(ACTIVE) == "stop"  # Generate disabled itself: focus is on Stop, not the body
    page.wait_for_selector("#output-box figure[data-done]")
    page.wait_for_selector("#stop[disabled]")
    assert page.evaluate(ACTIVE) == "generate"  # the run ended, Stop disabled itself: back to Generate
    # the same when Stop is pressed from the keyboard
    page.evaluate("() => { document.querySelector('#s-max_tokens').value = 512; }")
    page.dispatch_event("#s-max_tokens", "input")
    page.keyboard.press("Enter")
    page.wait_for_selector("#output .tok.gen[data-index='2']")
    assert page.evaluate(ACTIVE) == "stop"
    page.keyboard.press("Enter")
    page.wait_for_selector("#stop[disabled]")
    assert page.evaluate(ACTIVE) == "generate"


@pytest.mark.parametrize("where", ["/attention", "/playground"])
def test_a_thumbnail_opens_with_enter_and_escape_brings_the_focus_back(where, page, base_url):
    if where == "/attention":
        open_attention(page, base_url)
    else:
        open_playground(page, base_url)
    grid, zoom = ("#grid-box", "#zoom-box") if where == "/attention" else ("#attention-box", "#attention-box")
    page.focus(f"{grid} .thumb[data-layer='0'][data-head='0']")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"{zoom} svg.heatmap")
    # focus moved into the enlarged view, where the arrow keys read its cells
    assert page.evaluate("() => document.activeElement.matches('svg.heatmap')")
    assert "Layer 1, head 1" in page.evaluate("() => document.activeElement.closest('figure').textContent")
    page.keyboard.press("ArrowUp")
    assert page.evaluate(
        "() => document.activeElement.closest('figure').querySelector('.readout').textContent"
    )
    page.keyboard.press("Escape")
    page.wait_for_function("() => !document.querySelector('svg.heatmap')?.checkVisibility()")
    assert "zoom=" not in page.url
    # and back on the thumbnail it came from
    assert page.evaluate(
        "() => document.activeElement.dataset.layer + '.' + document.activeElement.dataset.head"
    ) == ("1.1")


def test_the_backend_toggle_focus_ring_is_not_clipped(page, base_url):
    open_playground(page, base_url)
    page.focus("#seed")
    page.keyboard.press("Shift+Tab")  # the keyboard, so :focus-visible draws the ring
    for backend in ("numpy", "torch"):
        assert page.evaluate("() => document.activeElement.dataset.backend") == backend
        clipped = page.evaluate(
            """() => {
              const el = document.activeElement;
              const st = getComputedStyle(el);
              if (st.outlineStyle === "none" || !parseFloat(st.outlineWidth)) return "no focus ring";
              const grow = parseFloat(st.outlineWidth) + parseFloat(st.outlineOffset);
              const r = el.getBoundingClientRect();
              const ring = {l: r.left - grow, t: r.top - grow, r: r.right + grow, b: r.bottom + grow};
              for (let a = el.parentElement; a; a = a.parentElement) {
                const s = getComputedStyle(a);
                if (s.overflowX === "visible" && s.overflowY === "visible") continue;
                const b = a.getBoundingClientRect();
                if (ring.l < b.left || ring.t < b.top || ring.r > b.right || ring.b > b.bottom)
                  return `clipped by ${a.tagName}.${a.className} (overflow ${s.overflow})`;
              }
              return null;
            }"""
        )
        assert clipped is None, clipped
        page.keyboard.press("Shift+Tab")


# -- text on colour -----------------------------------------------------------------------------------


def luminance(rgb: str) -> float:
    r, g, b = (int(x) / 255 for x in re.findall(r"\d+(?:\.\d+)?", rgb)[:3])
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_readable_text_colour_picks_black_or_white_by_contrast_ratio(page, base_url):
    page.goto(base_url + "/learn")
    got = page.evaluate(
        """async () => {
          const m = await import("/static/js/vis/scales.js");
          const hv = await import("/static/js/vis/headview.js");
          const steps = Array.from({length: 51}, (_, i) => i / 50);
          const backgrounds = [
            ...steps.map(m.viridis), ...steps.map(m.cividis), ...steps.map((t) => m.diverging(2 * t - 1, 1)),
            ...hv.HEAD_COLOURS, "#ffffff", "#000000", "rgb(33, 145, 140)",
          ];
          return {
            pairs: backgrounds.map((bg) => [bg, m.readableTextColour(bg)].map((c) => d3.color(c) + "")),
            midGreen: m.readableTextColour(m.viridis(0.6)),
            ratio: m.contrastRatio("#000", "#fff"),
          };
        }"""
    )
    assert got["midGreen"] == "#000"  # white on viridis' mid-green is 2.6:1; black is over 7:1
    assert abs(got["ratio"] - 21) < 1e-9
    low = [(bg, ink, round(contrast(bg, ink), 2)) for bg, ink in got["pairs"] if contrast(bg, ink) < 4.5]
    assert not low, low


def test_text_on_coloured_cells_and_chips_reads_at_4_5_to_1(page, base_url):
    # big cells print their values
    open_attention(page, base_url, "&zoom=0.0&max_tokens=12", text="To be or not")
    page.wait_for_selector("#zoom-box svg.heatmap text")
    pairs = page.evaluate(
        """() => [
          ...[...document.querySelectorAll("#zoom-box svg.heatmap text")]
            .filter((t) => t.previousSibling?.matches?.("rect.cell"))
            .map((t) => [getComputedStyle(t).fill, getComputedStyle(t.previousSibling).fill, t.textContent]),
          ...[...document.querySelectorAll("#generated .tok.gen")]
            .map((c) => [getComputedStyle(c).color, getComputedStyle(c).backgroundColor, c.textContent]),
        ]"""
    )
    assert len(pairs) > 20
    low = [(ink, bg, text, round(contrast(ink, bg), 2)) for ink, bg, text in pairs if contrast(ink, bg) < 4.5]
    assert not low, low


# -- what screen readers hear ---------------------------------------------------------------------------

RECORD = """() => {
  window.heard = [];
  const el = document.getElementById("stream-status");
  new MutationObserver(() => heard.push([performance.now(), el.textContent]))
    .observe(el, {childList: true, characterData: true, subtree: true});
}"""


def test_streamed_tokens_are_announced_politely_about_once_a_second(page, base_url):
    open_playground(page, base_url, "&max_tokens=100")
    live = page.evaluate(
        """() => { const el = document.getElementById("stream-status");
          return el && [el.getAttribute("role"), el.closest("[aria-live], [role=status]") === el]; }"""
    )
    assert live == ["status", True]  # a polite live region of its own
    assert (
        page.evaluate("() => document.getElementById('speed').closest('[aria-live], [role=status]')") is None
    )
    page.evaluate(RECORD)
    t0 = page.evaluate("performance.now()")
    page.click("#generate")
    page.wait_for_selector("#output-box figure[data-done]")
    page.wait_for_function("() => heard.length && heard.at(-1)[1].startsWith('Done')", timeout=5000)
    heard = page.evaluate("heard")
    seconds = (heard[-1][0] - t0) / 1000
    texts = [text for _, text in heard]
    assert texts[0].startswith("Generating") and texts[-1].startswith("Done: 100 tokens"), texts
    tokens = texts[1:-1]
    assert tokens and all(t.strip() for t in tokens), texts
    # about once a second, never once per token
    assert len(tokens) <= seconds + 2, (len(tokens), seconds, texts)
    gaps = [b - a for (a, _), (b, _) in itertools.pairwise(heard[1:-1])]
    assert all(g >= 900 for g in gaps[:-1]), gaps  # the last may be the final flush at the end
    # what was heard last is the end of the generated text
    shown = page.evaluate(
        "() => [...document.querySelectorAll('#output .tok.gen')].map(e => e.textContent).join('')"
    )
    if tokens[-1] != "(white space)":
        assert " ".join(shown.replace("↵", "").split()).endswith(tokens[-1]), (shown[-60:], tokens[-1])


# -- one tab stop per strip and per grid ---------------------------------------------------------------

TAB_STOPS = """() => [...document.querySelectorAll(
    "a[href], button, input, select, textarea, summary, [tabindex]")]
  .filter((el) => el.tabIndex >= 0 && !el.disabled && el.checkVisibility({visibilityProperty: true}))
  .length"""


def test_the_attention_explorer_is_a_few_tab_stops_with_arrow_keys_inside(page, base_url):
    open_attention(page, base_url)
    stops = page.evaluate(TAB_STOPS)
    assert stops <= 40, stops  # one per token and per grid cell made it 186
    # the model view: a grid, the arrow keys move between cells, Home and End along a row
    page.focus("#grid-box .thumb[tabindex='0']")
    cell = "() => document.activeElement.dataset.layer + '.' + document.activeElement.dataset.head"
    assert page.evaluate(cell) == "0.0"
    for key, want in [
        ("ArrowRight", "0.1"),
        ("ArrowDown", "1.1"),
        ("End", "1.3"),
        ("Home", "1.0"),
        ("Control+End", "5.3"),
        ("ArrowRight", "5.3"),
        ("Control+Home", "0.0"),
    ]:
        page.keyboard.press(key)
        assert page.evaluate(cell) == want, key
    assert page.eval_on_selector_all("#grid-box .thumb[tabindex='0']", "els => els.length") == 1
    # the head view's queries: a listbox, one tab stop
    page.focus("#headview-box [role=option][tabindex='0']")
    query = "() => document.activeElement.dataset.q"
    page.keyboard.press("ArrowDown")
    assert page.evaluate(query) == "1"
    assert "query 1" in page.text_content("#headview-box .readout")
    page.keyboard.press("End")
    assert page.evaluate(query) == str(len(TEXT) - 1)
    page.keyboard.press("Home")
    assert page.evaluate(query) == "0"
    # the generated tokens: a listbox; the arrow keys step through the generation
    page.focus("#generated .tok[tabindex='0']")
    before = page.evaluate("() => Number(document.activeElement.dataset.index)")
    page.keyboard.press("ArrowRight")
    after = page.evaluate("() => Number(document.activeElement.dataset.index)")
    assert after == before + 1
    assert page.get_attribute(f"#generated .tok[data-index='{after}']", "aria-selected") == "true"
    page.wait_for_function("() => location.search.includes('step=1')")


def test_the_head_view_has_a_legend_of_head_colours(page, base_url, api):
    open_attention(page, base_url)
    n_head = next(m for m in api.get("/api/models").json()["models"] if m["name"] == MODEL)["config"][
        "n_head"
    ]
    legend = page.eval_on_selector_all(
        "#headview-box .head-legend .item",
        "els => els.map(e => [e.dataset.head, e.querySelector('rect').getAttribute('fill'), e.textContent])",
    )
    assert [head for head, _, _ in legend] == [str(k) for k in range(n_head)]
    for head, colour, text in legend:
        assert text == f"head {head}"
        strokes = page.eval_on_selector_all(
            f"#headview-box line[data-head='{head}']",
            "els => [...new Set(els.map(e => e.getAttribute('stroke')))]",
        )
        assert strokes == [colour]
    page.select_option("#sel-head", "2")
    page.wait_for_function("() => document.querySelectorAll('#headview-box .head-legend .item').length === 1")
    assert page.get_attribute("#headview-box .head-legend .item", "data-head") == "2"


# -- figures as tables, formulas as words -------------------------------------------------------------


def test_the_enlarged_heatmap_table_holds_the_traced_weights(page, base_url, api):
    open_attention(page, base_url, "&zoom=2.1")
    page.wait_for_selector("#zoom-box svg.heatmap")
    page.click("#zoom-box details.fig-table summary")
    page.wait_for_selector("#zoom-box details.fig-table tbody tr")  # built on the toggle event, a task later
    rows = page.eval_on_selector_all(
        "#zoom-box details.fig-table tbody tr", "trs => trs.map(tr => [...tr.cells].map(c => c.textContent))"
    )
    trace = api.post("/api/trace", json={"model": MODEL, "text": TEXT, "layer": 2, "head": 1}).json()
    T = len(trace["tokens"])
    assert len(rows) == T and all(len(r) == T + 1 for r in rows)
    weights = trace["attention"][2][1]
    for i, row in enumerate(rows):
        for j, cell in enumerate(row[1:]):
            assert cell == ("masked" if j > i else f"{weights[i][j]:.4f}"), (i, j)


def test_a_formula_is_read_in_words_not_latex(page, base_url):
    page.goto(base_url + "/learn/scores")
    wait_ready(page)
    assert page.get_attribute("#formula", "aria-label") is None  # a plain div has no name
    words = page.get_attribute("#formula math", "aria-label")
    assert "\\" not in words and "square root of" in words and "over" in words, words
    assert page.get_attribute("#formula", "data-tex").startswith("\\begin{aligned}")
    assert json.dumps(words)  # plain text


def test_a_class_starts_from_the_keyboard_and_the_focus_lands_on_it(page, base_url, api):
    page.goto(base_url + "/class")
    wait_ready(page)
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate(ACTIVE) == "class-start":
            break
    else:
        pytest.fail("Tab never reached “Start a class”")
    page.keyboard.press("Enter")
    page.wait_for_selector("#class-live-view:not([hidden])")
    page.wait_for_function("() => document.activeElement.id === 'class-heading'")
    entry = page.evaluate("() => JSON.parse(localStorage.getItem('tp-class-teacher'))")
    assert (
        api.delete(
            f"/api/classes/{entry['code']}", headers={"X-Teacher-Key": entry["teacher_key"]}
        ).status_code
        == 204
    )
