"""Browser tests: a real server started here, Debian Chromium driven by Playwright.

Every page opened through the ``page`` fixture fails its test if the browser logs a console
error, throws, or sends a request anywhere but the test server.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from helpers import AXE_SUMMARY, served

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


def pytest_terminal_summary(terminalreporter, config):
    lines = config.stash.get(AXE_SUMMARY, [])
    if lines:
        terminalreporter.section("accessibility (axe-core)")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def base_url():
    with served(ROOT / "models" / "zoo", ROOT / "artifacts" / "browser-server.log") as url:
        yield url


@pytest.fixture(scope="module")
def api(base_url):
    """An HTTP client of the module's server (a module may serve a zoo of its own: see ``base_url``)."""
    with httpx.Client(base_url=base_url, timeout=60) as client:
        yield client


@pytest.fixture(scope="session")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        kwargs = {"args": ["--no-sandbox", "--disable-gpu"]}
        if Path(CHROMIUM).exists():
            kwargs["executable_path"] = CHROMIUM
        b = p.chromium.launch(**kwargs)
        yield b
        b.close()


class PageProblems:
    def __init__(self, base_url: str):
        self.base_url = base_url
        self.errors: list[str] = []
        self.outside: list[str] = []

    def attach(self, page):
        page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("request", self.request)

    def request(self, req):
        url = req.url
        if not (url.startswith(self.base_url) or url.startswith(("data:", "blob:", "about:"))):
            self.outside.append(url)


def make_page(browser, base_url, request, viewport):
    context = browser.new_context(viewport=viewport, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    problems = PageProblems(base_url)
    problems.attach(page)
    page.problems = problems
    yield page
    context.close()
    if request.node.get_closest_marker("console_errors_expected") is None:
        assert not problems.errors, problems.errors
    assert not problems.outside, f"requests left the server: {problems.outside}"


@pytest.fixture
def page(browser, base_url, request):
    yield from make_page(browser, base_url, request, {"width": 1280, "height": 800})


@pytest.fixture
def phone(browser, base_url, request):
    yield from make_page(browser, base_url, request, {"width": 390, "height": 844})
