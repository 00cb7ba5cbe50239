"""Captions say what the figures show: claims a caption or a reveal makes are checked against the numbers.

- multi-head: the cell the reveal names brightest below the diagonal is the argmax of the API's weights;
- softmax: the rows the caption says the worked table shows are the rows drawn, and the Σ row adds up what it
  says it adds (the shown keys plus "the other M keys" = all visible keys, by-hand weights summing to 1).
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from helpers import wait_ready

TEXT = "ROMEO: But soft, what light"
MODEL = "shakespeare-char"


def test_multi_head_names_the_brightest_cell_of_the_data(page, base_url, api):
    page.goto(f"{base_url}/learn/multi-head?model={MODEL}&text={quote(TEXT)}&layer=1")
    wait_ready(page)
    page.click("#question [data-choice='0']")
    reveal = page.text_content("#question .reveal")
    trace = api.post("/api/trace", json={"model": MODEL, "text": TEXT, "layer": 1}).json()
    A = trace["attention"][1]
    T = len(trace["tokens"])
    prev = [sum(a[i][i - 1] for i in range(1, T)) / (T - 1) for a in A]
    best = max(range(len(A)), key=lambda k: prev[k])
    q = max(range(1, T), key=lambda i: A[best][i][i - 1])
    named = re.search(r"head (\d+)'s map .* query (\d+) .* key (\d+) .*weight (\d+\.\d+)", reveal)
    assert named, reveal
    assert [int(x) for x in named.groups()[:3]] == [best, q, q - 1], reveal
    assert float(named.group(4)) == pytest.approx(A[best][q][q - 1], abs=5e-4)
    assert "bright line" not in reveal


def test_softmax_worked_table_adds_up_to_what_its_caption_says(page, base_url):
    page.goto(f"{base_url}/learn/softmax?model={MODEL}&text={quote(TEXT)}&reveal=all")
    wait_ready(page)
    caption = page.text_content("figure:has(table.worked) figcaption")
    stated = re.search(r"The (\d+) highest of the (\d+) visible scores.*?the other (\d+) summed", caption)
    assert stated, caption
    shown, visible, other = (int(x) for x in stated.groups())
    rows = page.eval_on_selector_all(
        "table.worked tr", "rows => rows.map(r => [...r.children].map(c => c.textContent.trim()))"
    )
    keys = [r for r in rows[1:] if re.match(r"\d+ ", r[0])]
    assert len(keys) == shown and shown + other == visible
    rest = next(r for r in rows if r[0].startswith("the other"))
    assert rest[0] == f"the other {other} keys"
    total = next(r for r in rows if r[0].startswith("Σ"))
    assert total[0] == f"Σ over all {visible} keys"
    by_hand = [float(r[4]) for r in [*keys, rest]]
    assert sum(by_hand) == pytest.approx(float(total[4]), abs=1e-3 * len(by_hand))
    assert float(total[4]) == pytest.approx(1.0, abs=1e-3)
    exps = [float(r[3]) for r in [*keys, rest]]
    assert sum(exps) == pytest.approx(float(total[3]), abs=1e-3 * len(exps))
