"""Links that hold: the link builder, one name per setting, unknown names reported, locks kept across the
site's menu, old names still read, and the live class's extra presets (lib/state.js)."""

from helpers import wait_ready

MODEL = "shakespeare-char"
STATE = "/static/js/lib/state.js"


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
    page.evaluate(f'async () => (await import("{STATE}")).clearExtraPresets()')
    assert page.is_enabled("#s-temperature") and page.is_visible("#sampler-box")
    assert page.get_attribute("#s-temperature", "aria-disabled") is None
    assert page.is_disabled("#s-top_p")  # the link's own lock stays
