"""The front end's layout rules that Biome does not check: the line width (its formatter does not cut
strings) and which folders of static/js may import which (see static/js/README.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
JS = ROOT / "static" / "js"
WIDTH = 110  # as ruff's line-length and biome.json's lineWidth
SOURCES = sorted([*JS.rglob("*.js"), *(ROOT / "static" / "css").rglob("*.css")])
# `import … from "x"`, `export … from "x"` (across lines) and `import "x"`; dynamic import() is not matched
IMPORT = re.compile(
    r"""^\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']""", re.M
)


def imports(module: Path) -> list[str]:
    """Static imports of a module, as folders of static/js ('lib', 'vis', 'lessons', 'pages')."""
    text = module.read_text(encoding="utf-8")
    found = [a or b for a, b in IMPORT.findall(text)]
    return [(module.parent / spec).resolve().relative_to(JS).parts[0] for spec in found]


def test_there_is_something_to_check():
    assert len(SOURCES) > 30
    assert not any("vendor" in p.parts for p in SOURCES)


def test_no_line_over_the_width():
    long = [
        f"{path.relative_to(ROOT)}:{n}: {len(line)} characters"
        for path in SOURCES
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if len(line) > WIDTH
    ]
    assert not long, f"lines over {WIDTH} characters: {long}"


@pytest.mark.parametrize(
    ("folder", "allowed"),
    [
        ("lib", {"lib", "vis"}),
        ("vis", {"lib", "vis"}),
        ("lessons", {"lib", "vis"}),
        ("pages", {"lib", "vis", "pages"}),
    ],
)
def test_imports_go_one_way(folder, allowed):
    """Lessons and pages share code through lib/ and vis/: no lesson imports a lesson, no page imports one
    (pages/lesson.js loads the step it shows with a dynamic import, which this does not count)."""
    wrong = {
        str(m.relative_to(JS)): sorted(set(imports(m)) - allowed) for m in sorted((JS / folder).glob("*.js"))
    }
    assert not {m: w for m, w in wrong.items() if w}


def test_the_import_pattern_sees_imports():
    assert set(imports(JS / "pages" / "compare.js")) == {"lib", "vis"}
    assert "vis" in imports(JS / "lessons" / "qkv.js")
