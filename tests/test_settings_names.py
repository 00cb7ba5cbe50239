"""One name per setting: every control's data-key and panel's data-panel in the templates and static/js is in
static/js/lib/settings-names.js, every name there is still used by a page (no dead names), the old names
(ALIASES in lib/state.js) point at live names, and the README's table of names lists them all."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAMES = ROOT / "static" / "js" / "lib" / "settings-names.js"
SOURCES = [
    *sorted(p for p in (ROOT / "static" / "js").rglob("*.js") if p != NAMES),
    *sorted((ROOT / "templates").glob("*.html")),
]
TEXT = {p: p.read_text(encoding="utf-8") for p in SOURCES}
ALL = "\n".join(TEXT.values())

NAME = r"([a-z][a-z0-9_-]*)"
# Where the pages name a control or a panel with a literal: attributes, the figure helper's panel option,
# and the small builders that set data-key from their first string argument.
KEY_PATTERNS = [
    rf'data-key="{NAME}"',
    rf'"data-key":\s*"{NAME}"',
    rf'addPicker\(ctx,\s*"{NAME}"',
    rf'segmentedToggle\(\s*"[^"]*",\s*"{NAME}"',
    rf'\bpicker\(\s*"{NAME}"',
    rf'\b(?:select|number)\(\s*"{NAME}",\s*(?:taskOptions|\[\]|range4|state\.)',
    rf'control\(\s*ctx,\s*"{NAME}"',
    rf'\bselect\(\s*ctx,\s*"{NAME}"',
    rf'pick\(\s*"[a-z-]+",\s*"{NAME}"',
    rf'^\s*\["{NAME}",\s*"[^"]+",\s*[-\d.]+,',  # a row of a SLIDERS table: [key, label, min, ...]
    rf'^\s*\["{NAME}",\s*"[A-Z][a-z][^"]*"\],?$',  # a [key, label] row of a loop that builds inputs
]
PANEL_PATTERNS = [rf'data-panel="{NAME}"', rf'"data-panel":\s*"{NAME}"', rf'\bpanel:\s*"{NAME}"']


def table(name: str) -> dict[str, str]:
    text = NAMES.read_text(encoding="utf-8")
    body = re.search(rf"export const {name} = \{{\n(.*?)\n\}};", text, re.S)
    assert body, f"{name} not found in {NAMES.name}"
    return dict(re.findall(r'^\s+"?([a-z][a-z0-9_-]*)"?:\s*"([^"]+)",?$', body.group(1), re.M))


def aliases() -> dict[str, dict[str, str]]:
    text = (ROOT / "static" / "js" / "lib" / "state.js").read_text(encoding="utf-8")
    body = re.search(r"export const ALIASES = \{\n(.*?)\n\};", text, re.S).group(1)
    return {
        page: dict(re.findall(r'(\w+): "([a-z0-9_-]+)"', pairs))
        for page, pairs in re.findall(r'^\s+"([^"]+)": \{([^}]*)\}', body, re.M)
    }


def found(patterns: list[str]) -> dict[str, str]:
    out = {}
    for path, text in TEXT.items():
        for pattern in patterns:
            for m in re.finditer(pattern, text, re.M):
                out.setdefault(m.group(1), f"{path.relative_to(ROOT)}:{text[: m.start()].count(chr(10)) + 1}")
    return out


SETTINGS, PANELS = table("SETTINGS"), table("PANELS")


def test_the_tables_are_read():
    assert len(SETTINGS) > 40 and len(PANELS) > 30
    assert {"temperature", "repetition_penalty", "length_penalty", "text"} <= set(SETTINGS)
    assert {"question", "reveal", "code"} <= set(PANELS)


def test_every_control_and_panel_name_is_in_the_table():
    keys, panels = found(KEY_PATTERNS), found(PANEL_PATTERNS)
    assert len(keys) > 30 and len(panels) > 20  # the patterns still match the pages
    assert not {k: where for k, where in keys.items() if k not in SETTINGS}, "controls missing from SETTINGS"
    assert not {k: where for k, where in panels.items() if k not in PANELS}, "panels missing from PANELS"


def used(name: str) -> bool:
    if f'"{name}"' in ALL or re.search(rf"^\s+{name}:", ALL, re.M):
        return True
    # panels built from a key and a suffix: panel: `${key}-waves`
    head, _, tail = name.partition("-")
    return bool(tail) and f'"{head}"' in ALL and f"}}-{tail}`" in ALL


def test_no_dead_names():
    assert not [n for n in SETTINGS if not used(n)], "settings no page has"
    assert not [n for n in PANELS if not used(n)], "panels no page has"


def test_old_names_lead_to_live_ones():
    table_ = aliases()
    assert table_["/playground"] == {"penalty": "repetition_penalty", "prompt": "text"}
    assert table_["/learn/architectures"] == {"penalty": "length_penalty"}
    for page, pairs in table_.items():
        for old, new in pairs.items():
            assert new in SETTINGS, f"{page}: {old} → {new}, not a setting"
            assert old != new


def test_the_readme_lists_every_name_and_alias():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Links for a class", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `([a-z][a-z0-9_-]*)` \| (.+?) \|$", section, re.M))
    assert not [n for n in [*SETTINGS, *PANELS] if n not in rows], "names missing from the README"
    assert not [n for n in rows if n not in SETTINGS and n not in PANELS], "README names no page has"
    for page, pairs in aliases().items():
        for old, new in pairs.items():
            assert f"`{old}` → `{new}`" in section and page in section, (page, old, new)
