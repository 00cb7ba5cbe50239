"""The live class's pages: /class (the teacher's), /join and /join/<code> (a student's), in the nav."""

from __future__ import annotations

import json
import re

import pytest

HTML = {"Accept": "text/html"}


def blob(html: str) -> dict:
    """The page's JSON data (the <script id="page-data"> tag)."""
    m = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', html, re.S)
    assert m, "no page data"
    return json.loads(m.group(1))


def test_the_class_page_starts_a_class_and_loads_its_module(client):
    r = client.get("/class", headers=HTML)
    assert r.status_code == 200
    assert "Start a class" in r.text
    assert 'src="/static/js/pages/class.js"' in r.text
    assert blob(r.text)["page"] == "class"
    assert "Content-Security-Policy" in r.headers
    assert client.head("/class", headers=HTML).status_code == 200


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/join", ""),
        ("/join/ABC234", "ABC234"),
        ("/join/abc234", "ABC234"),
        ("/join/ab", ""),
        ("/join/ABCD0O", ""),
    ],
)
def test_the_join_page_prefills_only_what_can_be_a_code(client, path, code):
    r = client.get(path, headers=HTML)
    assert r.status_code == 200
    data = blob(r.text)
    assert data["page"] == "join"
    assert data["code"] == code
    assert re.search(rf'id="join-code"[^>]*value="{code}"', r.text)
    assert "shown only to your teacher" in r.text


def test_every_page_carries_the_class_bar_and_a_class_link_in_the_nav(client):
    for path in ("/", "/playground", "/class", "/join"):
        html = client.get(path, headers=HTML).text
        assert html.count('<script type="module" src="/static/js/pages/class-bar.js"></script>') == 1, path
        # the bars' styles and modules load only in a class; the class's own pages link the styles
        assert ('href="/static/css/class.css"' in html) == (path in ("/class", "/join")), path
        assert '<a href="/class"' in html, path
    assert '<a href="/class" aria-current="page">Class</a>' in client.get("/class", headers=HTML).text
