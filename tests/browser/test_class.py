"""The live class in real browsers: one teacher page and three student pages (each its own browser context,
so its own localStorage) on one server. Students join (one with a name), the teacher's count reaches 3, a
pushed lesson step with its params and a lock reaches every student (the lock survives a reload), the class
answers the step's question and sees the reveal, a release unlocks, a guess-the-next-token round tallies,
and no student's page shows another student's name.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pytest

from helpers import served, wait_ready

ROOT = Path(__file__).resolve().parents[2]
STEP = "softmax"
TEXT = "To be or not to be"
NAME = "Ada Lovelace"


@pytest.fixture(scope="module")
def base_url():
    """This module's own server: three students and a teacher open many event streams from one address,
    more than the per-minute join limit a real classroom (one address per device) needs."""
    settings = {"PLAYGROUND_CLASS_JOIN_PER_MIN": "1000"}
    with served(ROOT / "models" / "zoo", ROOT / "artifacts" / "browser-class-server.log", **settings) as url:
        yield url


@pytest.fixture
def students(browser, base_url):
    contexts = [browser.new_context(viewport={"width": 390, "height": 844}) for _ in range(3)]
    pages = []
    errors: list[str] = []
    for c in contexts:
        p = c.new_page()
        p.set_default_timeout(30_000)
        p.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        pages.append(p)
    yield pages
    for c in contexts:
        c.close()
    assert not errors, errors


def text_of(page) -> str:
    return page.evaluate("() => document.body.innerText")


def test_a_teacher_leads_three_students(page, students, base_url):
    teacher = page
    # the teacher starts a class
    teacher.goto(base_url + "/class")
    wait_ready(teacher)
    teacher.click("#class-start")
    teacher.wait_for_selector("#class-live-view:not([hidden])")
    code = teacher.inner_text("#class-code").strip()
    assert re.fullmatch(r"[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{6}", code), code
    assert code in teacher.get_attribute("#class-qr", "alt")

    # three students join: by the link (one with a name), by the bare page with the code typed in lower case
    a, b, c = students
    a.goto(f"{base_url}/join/{code}")
    a.fill("#join-name", NAME)
    b.goto(f"{base_url}/join")
    b.fill("#join-code", code.lower())
    c.goto(f"{base_url}/join/{code.lower()}")
    for s in students:
        s.click("#join-button")
    for s in students:
        s.wait_for_selector("#join-waiting:not([hidden])")
    teacher.wait_for_selector("#class-students[data-count='3']")
    teacher.wait_for_selector(f"#class-names li:text('{NAME}')")

    # the teacher pushes a lesson step with its text, the text box locked
    teacher.goto(f"{base_url}/learn/{STEP}?text={quote(TEXT)}")
    wait_ready(teacher)
    teacher.wait_for_selector(".class-bar.teacher .class-count[data-count='3']")
    teacher.click(".class-locks summary")
    teacher.check("#class-lock-text")
    teacher.click("#class-push")
    teacher.wait_for_selector(".class-status:text('Pushed')")
    for s in students:
        s.wait_for_url(re.compile(rf"/learn/{STEP}\?text="))
        wait_ready(s)
        assert s.input_value("#lesson-text") == TEXT
        s.wait_for_selector("#lesson-text[disabled]")
        assert s.get_attribute("#lesson-text", "title") == "locked by your teacher"
        assert "following" in s.inner_text(".class-bar.student")
    c.reload()
    wait_ready(c)
    c.wait_for_selector("#lesson-text[disabled]")

    # a poll of the step's question: every student answers, the teacher's histogram counts 3, then reveals
    teacher.click("#class-ask")
    teacher.wait_for_selector("#question .class-poll .class-reveal")
    for s in students:
        s.wait_for_selector("#question .class-poll")
        s.click("#question .choices button[data-choice='0']")
        s.wait_for_selector("#question .verdict:text('Your answer is in')")
        assert s.is_hidden("#question .reveal")  # the page's own reveal waits for the class's
    teacher.wait_for_selector("#question .class-hist-title:has-text('3 of 3 connected answered')")
    teacher.click("#question .class-reveal")
    teacher.wait_for_selector('#question .class-poll .verdict:text("The model\'s answer")')
    assert teacher.is_visible("#question .reveal")
    for s in students:
        s.wait_for_selector("#question .reveal:not([hidden])")
        s.wait_for_selector("#question .class-hist li.mark")
        assert "3 answered" in s.inner_text("#question .class-hist-title")

    # release: the students' text box is theirs again
    teacher.click("#class-mode")
    for s in students:
        s.wait_for_selector("#lesson-text:not([disabled])")
        s.wait_for_selector(".class-bar.student:has-text('exploring on your own')")

    # guess the next token on the playground: the guesses tally, the reveal draws the model's distribution
    teacher.goto(base_url + "/playground?model=shakespeare-char")
    wait_ready(teacher)
    teacher.click("#class-guess-round")
    for s, guess in zip(students, ("e", "e", "a"), strict=True):
        s.fill("#class-guess", guess)
        s.click(".class-slot form button[type=submit]")
        s.wait_for_selector(".class-slot .verdict:text('Your answer is in')")
    teacher.wait_for_selector(".class-slot .class-hist-title:has-text('3 of 3 connected answered')")
    rows = teacher.locator(".class-slot .class-hist li")
    assert rows.count() == 2 and rows.first.inner_text().startswith("e")
    teacher.click(".class-slot .class-reveal")
    teacher.wait_for_selector(".class-slot .class-hist.model li")
    assert teacher.locator(".class-slot .class-hist.model li").count() == 10
    for s in students:
        s.wait_for_selector(".class-slot .class-hist.model li")

    # names stay on the teacher's screen
    for s in students:
        assert NAME not in text_of(s)

    # the teacher ends the class: every student is told, and their browser forgets it
    teacher.goto(base_url + "/class")
    teacher.once("dialog", lambda d: d.accept())
    teacher.click("#class-end")
    teacher.wait_for_selector("#class-start-view:not([hidden])")
    for s in students:
        s.wait_for_selector(".class-bar.student:has-text('The class has ended')")
        assert s.evaluate("() => localStorage.getItem('tp-class-student')") is None
