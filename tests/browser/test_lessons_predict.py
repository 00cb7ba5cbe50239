"""Predict, then reveal, on every lesson step: nothing gives the answer away before a choice is picked.

One page load per step. Before answering: the question panel comes before the figures, every element marked
``data-answer`` is out of sight and out of the accessibility tree with a readable cue in its place, and the
correct choice's text is nowhere in the figures' visible text or accessibility tree. After a choice, they
show.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest

from server.lessons import LESSONS

from helpers import shoot, wait_ready

TEXT = "ROMEO: But soft, what light"


# A state of the page: each [data-answer] with whether it is rendered, each visible cue, the question.
STATE = """() => {
  const answers = [...document.querySelectorAll("article.lesson [data-answer]")];
  const closed = (el) => el.closest("details:not([open]), .hidden");
  return {
    answered: document.querySelector("article.lesson").dataset.answered,
    question: document.getElementById("question").dataset.question || "",
    shown: answers.filter((el) => !closed(el)).map((el) => el.checkVisibility()),
    cues: [...document.querySelectorAll(".answer-cue")].filter((el) => el.checkVisibility()).length,
    text: document.getElementById("figures").innerText + "\\n" + document.getElementById("formula").innerText,
    questionTop: document.getElementById("question").getBoundingClientRect().top,
    figureTop: document.querySelector("#figures > *")?.getBoundingClientRect().top ?? Infinity,
  };
}"""


def giveaway(label: str) -> re.Pattern | None:
    """The correct choice's text as a whole word or number ("65" not in "165" or "0.65"); a bare
    one-digit number ("0") is in every caption ("layer 0"), so it is no test of anything."""
    if re.fullmatch(r"\d", label.strip()):
        return None
    return re.compile(rf"(?<![\w.]){re.escape(label.strip())}(?![\w]|[.,]\d)")


@pytest.mark.parametrize("slug", [lesson.slug for lesson in LESSONS])
def test_the_answer_waits_for_a_prediction(page, base_url, slug):
    response = page.goto(f"{base_url}/learn/{slug}?text={quote(TEXT)}")
    if response.status == 404:
        pytest.skip(f"no served model runs {slug}")
    wait_ready(page)
    assert page.is_hidden("#lesson-error"), page.text_content("#lesson-error")
    before = page.evaluate(STATE)
    if not before["question"]:  # a step without a question hides nothing
        assert before["answered"] == "true" and before["cues"] == 0 and all(before["shown"])
        return
    q = json.loads(before["question"])
    assert before["answered"] == "false"
    assert before["questionTop"] < before["figureTop"], "the question comes after the figures"
    assert not any(before["shown"]), f"{before['shown'].count(True)} [data-answer] elements are visible"
    if before["shown"]:
        assert before["cues"] >= 1, "answers are hidden without a cue"
        cue = page.locator(".answer-cue").first
        assert cue.is_visible() and cue.inner_text().strip()
    right = q["choices"][q["answer"]]
    pattern = giveaway(right)
    if pattern:
        seen = pattern.search(before["text"])
        near = before["text"][max(0, seen.start() - 60) : seen.end() + 20] if seen else ""
        assert not seen, f"“{right}” is visible before answering: …{near}…"
        tree = page.locator("#figures").aria_snapshot()
        assert not pattern.search(tree), f"“{right}” is in the accessibility tree before answering"
    for i, label in enumerate(q["choices"]):
        if i != q["answer"] and label == right:
            pytest.fail(f"two choices read “{label}”")
    shoot(page, f"predict-{slug}-before")

    page.click("#question [data-choice='0']")
    after = page.evaluate(STATE)
    assert after["answered"] == "true"
    assert all(after["shown"]), f"{after['shown'].count(False)} [data-answer] elements still hidden"
    assert after["cues"] == 0
    assert page.is_visible("#question .reveal")
    assert_words_in_order(page)


# Words in order: every glossary term the step's captions, prose and question use before the step that teaches
# it is an inline definition (lib/glossary.js), shown on focus and on hover.
UNDEFINED = """async () => {
  const { GLOSSARY, early } = await import("/static/js/lib/glossary.js");
  const data = JSON.parse(document.getElementById("page-data").textContent);
  const step = { slug: data.step.slug, order: data.lessons.map((x) => x.slug) };
  const keys = Object.keys(GLOSSARY).filter((k) => early(k, step));
  const found = [];
  for (const root of document.querySelectorAll("#figures figcaption, #prose, #question")) {
    const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      if (n.parentElement.closest(".term")) continue;
      for (const k of keys) if (GLOSSARY[k].match.test(n.textContent)) found.push(`${k}: ${n.textContent}`);
    }
  }
  const terms = [...document.querySelectorAll("#figures figcaption .term, #prose .term, #question .term")];
  const described = terms.every((t) => {
    const tip = document.getElementById(t.querySelector("button").getAttribute("aria-describedby"));
    return tip?.getAttribute("role") === "tooltip" && tip.textContent.length > 10;
  });
  return { keys, found, terms: terms.length, described };
}"""


def assert_words_in_order(page):
    words = page.evaluate(UNDEFINED)
    assert not words["found"], f"terms used before their step, without a definition: {words['found']}"
    assert words["described"]
    if words["terms"]:
        term = page.locator(".term .term-word").first
        tip = page.locator(".term .term-tip").first
        assert tip.is_hidden()
        term.focus()
        assert tip.is_visible(), "a definition shows on keyboard focus"
        page.evaluate("document.activeElement.blur()")
        term.hover()
        assert tip.is_visible(), "a definition shows on hover"


def test_a_teacher_sees_every_answer_at_once(page, base_url):
    page.goto(f"{base_url}/learn/sampling?text={quote(TEXT)}&reveal=all")
    wait_ready(page)
    state = page.evaluate(STATE)
    assert state["question"] and state["answered"] == "true"
    assert state["shown"] and all(state["shown"]) and state["cues"] == 0
