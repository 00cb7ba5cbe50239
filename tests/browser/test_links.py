"""Links that hold: the link builder, one name per setting, unknown names reported, locks kept across the
site's menu, old names still read, the reveal hidden on its own, and the live class's extra presets
(lib/state.js). One page load serves several checks."""

from pathlib import Path

from helpers import wait_ready

MODEL = "shakespeare-char"
STATE = "/static/js/lib/state.js"
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = """async () => (await axe.run(document.querySelector("dialog.link-builder"))).violations
  .filter((v) => ["serious", "critical"].includes(v.impact)).map((v) => v.id + ": " + v.help)"""


def test_the_builder_makes_a_link_that_locks_hides_and_holds_across_the_menu(page, base_url):
    page.goto(f"{base_url}/playground?model={MODEL}&temperature=0.6")
    wait_ready(page)
    page.focus("#class-link")
    page.keyboard.press("Enter")
    dialog = page.locator("dialog.link-builder")
    dialog.wait_for()
    assert page.evaluate("() => document.activeElement.closest('dialog') !== null")  # focus moved in
    assert "menu" in dialog.text_content()  # it says the locks carry across the site's menu
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")  # (the page's CSP refuses a script tag)
    assert page.evaluate(SERIOUS) == []
    dialog.locator("input[data-kind=lock][value=temperature]").check()
    dialog.locator("input[data-kind=hide][value=attention]").check()
    link = page.input_value("#class-link-url")
    assert "lock=temperature&hide=attention" in link and "temperature=0.6" in link
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached")
    assert page.evaluate("() => document.activeElement.id") == "class-link"  # focus back on the button

    page.goto(link)
    wait_ready(page)
    assert page.is_disabled("#s-temperature") and page.input_value("#s-temperature") == "0.6"
    assert page.get_attribute("#s-temperature", "title") == "locked by this link"
    assert page.is_enabled("#s-top_k") and page.is_hidden("#attention-box")
    assert page.text_content("#preset-chip summary") == "Teacher's link: 1 setting locked, 1 panel hidden"
    assert "Locked: temperature (Temperature)" in page.text_content("#preset-chip")
    assert page.query_selector("#preset-notice") is None  # every name is known

    page.click("header.site nav a[href^='/learn?']")  # the menu keeps the locks
    page.wait_for_url("**/learn?*lock=temperature*")
    page.click(".lesson-list a[href^='/learn/sampling']")
    page.wait_for_url("**/learn/sampling?*lock=temperature*")
    wait_ready(page)
    assert page.is_disabled("#lesson-temperature") and page.is_enabled("#lesson-top_k")
    assert page.get_attribute("header.site nav a[href^='/docs']", "href") == "/docs"  # not the API docs


def test_a_typo_is_reported_and_an_old_name_still_reads(page, base_url):
    page.goto(f"{base_url}/playground?model={MODEL}&penalty=1.3&lock=tempreature,penalty")
    wait_ready(page)
    notice = page.locator("#preset-notice[role=status]")
    notice.wait_for()
    text = notice.text_content()
    assert "“tempreature”, which this page does not have" in text and "temperature, top_k" in text
    assert "penalty”" not in text  # an old name is not a typo
    assert page.input_value("#s-repetition_penalty") == "1.3" and page.is_disabled("#s-repetition_penalty")
    assert "repetition_penalty=1.3" in page.url and "&penalty=" not in page.url  # written as the new name
    assert "lock=tempreature,repetition_penalty" in page.url
    # the typo is not carried on: the site's links keep only the names some page has
    assert page.get_attribute("header.site nav a[href^='/attention']", "href") == (
        "/attention?lock=repetition_penalty"
    )
    notice.get_by_role("button", name="Dismiss").click()
    assert page.query_selector("#preset-notice") is None


def test_hiding_the_reveal_keeps_the_question(page, base_url):
    page.goto(f"{base_url}/learn/softmax?hide=reveal")
    wait_ready(page)
    page.wait_for_selector("#question [data-choice]")
    assert page.is_visible("#question") and page.is_visible("#question .choices")
    page.click("#question [data-choice='0']")
    assert page.is_hidden("#question .verdict") and page.is_hidden("#question .reveal")
    assert "Your teacher reveals the answer" in page.text_content("#question")
    # the figures that give the answer away stay hidden too, each behind a cue saying who reveals it
    assert page.get_attribute("article", "data-answered") == "false"
    cues = page.locator(".answer-cue:visible")
    assert cues.count() >= 1 and "your teacher reveals it" in cues.first.text_content()
    assert page.get_attribute("#question [data-choice='0']", "aria-pressed") == "true"


def test_extra_presets_lock_and_clear_reenables(page, base_url):
    page.goto(f"{base_url}/playground?model={MODEL}&lock=top_p")
    wait_ready(page)
    page.evaluate(
        f"""async () => {{
          const s = await import("{STATE}");
          s.setExtraPresets({{lock: ["temperature"], hide: ["sampler"], by: "your teacher"}});
        }}"""
    )
    assert page.is_disabled("#s-temperature") and page.is_hidden("#sampler-box")
    assert page.get_attribute("#s-temperature", "title") == "locked by your teacher"
    assert page.get_attribute("#s-top_p", "title") == "locked by this link"
    assert page.is_enabled("#s-top_k")
    # a control built after the page loaded comes back locked
    page.evaluate(
        """() => {
          const el = Object.assign(document.createElement("input"), {id: "later2", ariaLabel: "later"});
          el.dataset.key = "temperature";
          document.querySelector("main").append(el);
        }"""
    )
    page.wait_for_function("() => document.getElementById('later2').disabled")
    page.evaluate(f'async () => (await import("{STATE}")).clearExtraPresets()')
    assert page.is_enabled("#s-temperature") and page.is_visible("#sampler-box")
    assert page.is_enabled("#later2")
    assert page.get_attribute("#s-temperature", "aria-disabled") is None
    assert page.get_attribute("#s-temperature", "title") is None
    assert page.is_disabled("#s-top_p")  # the link's own lock stays
