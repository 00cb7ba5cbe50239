"""Nothing clipped without a cue: on every lesson step, with a long text, at desktop and phone width.

Any element of the figures, formula and code panes that is wider than its box must either be a scroll
container that says so (class ``scroll-cue`` and a visible "scroll" hint just above it) or sit inside one;
a box that clips (overflow hidden) or spills over its panel fails.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from server.lessons import LESSONS

from helpers import shoot, wait_ready

# long for a figure (94 tokens on a character model: past the head view's old 35 and the batch's 19 columns),
# short enough for every served model's context with the KV-cache step's new tokens
LONG = "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\nThe slings"

CLIPPED = """() => {
  const panes = [...document.querySelectorAll("#figures, [data-panel=formula], [data-panel=code]")];
  const name = (el) => {
    const classes = typeof el.className === "string" ? el.className.trim().split(/\\s+/) : [];
    return el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + classes.map((c) => "." + c).join("");
  };
  const cued = (el) => {
    const hint = el.previousElementSibling;
    return el.classList.contains("scroll-cue") && hint?.classList.contains("scroll-hint") &&
      hint.checkVisibility() && /scroll/.test(hint.textContent);
  };
  const bad = [];
  let scrolling = 0;
  for (const pane of panes) {
    const right = pane.getBoundingClientRect().right;
    for (const el of pane.querySelectorAll("*")) {
      if (el instanceof SVGElement && !(el instanceof SVGSVGElement)) continue;
      if (!el.checkVisibility() || !el.clientWidth) continue;
      // words for screen readers only (a clipped 1 px box, KaTeX's MathML copy) are not on screen
      if (el.closest(".visually-hidden, .katex-mathml")) continue;
      const style = getComputedStyle(el);
      const inside = el.parentElement.closest(".scroll-cue");
      const wide = el.scrollWidth > el.clientWidth + 1;
      if (wide && ["auto", "scroll"].includes(style.overflowX)) {
        scrolling++;
        if (!cued(el)) bad.push(`${name(el)} scrolls sideways without a cue`);
      } else if (wide && ["hidden", "clip"].includes(style.overflowX) && !inside) {
        bad.push(`${name(el)} clips its content`);
      } else if (!inside && el.getBoundingClientRect().right > right + 1) {
        bad.push(`${name(el)} spills over its panel`);
      }
    }
  }
  return { bad: [...new Set(bad)], scrolling };
}"""


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("slug", [lesson.slug for lesson in LESSONS])
def test_nothing_is_clipped_without_a_cue(browser, base_url, slug, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        response = page.goto(f"{base_url}/learn/{slug}?text={quote(LONG)}&reveal=all")
        if response.status == 404:
            pytest.skip(f"no served model runs {slug}")
        wait_ready(page)
        assert page.is_hidden("#lesson-error"), page.text_content("#lesson-error")
        page.wait_for_function("() => document.getElementById('code').textContent.trim() !== ''")
        page.wait_for_timeout(300)  # the resize observers that set the cues run after layout
        found = page.evaluate(CLIPPED)
        shoot(page, f"fit-{slug}-{width}")
        assert not found["bad"], found["bad"]
    finally:
        context.close()
