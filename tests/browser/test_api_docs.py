"""/docs: the OpenAPI reference drawn by the vendored Swagger UI, offline, and its "Try it out" calls
this server."""

import json

from helpers import assert_fits_the_screen, shoot, wait_ready


def test_the_api_reference_loads_from_this_server_and_runs_a_request(page, base_url, api):
    page.goto(base_url + "/docs")
    wait_ready(page)
    page.wait_for_selector("#swagger-ui .opblock")
    paths = page.eval_on_selector_all(
        "#swagger-ui .opblock-summary-path", "els => els.map(e => e.getAttribute('data-path'))"
    )
    assert {"/api/trace", "/api/generate", "/api/tokenize", "/healthz"} <= set(paths)
    # the page belongs to the site: its header and the API entry marked current
    assert page.get_attribute("nav a[aria-current='page']", "href") == "/docs"
    # open POST /api/tokenize, try it, and see the server's answer
    page.click("#operations-tokens-tokenize_api_tokenize_post .opblock-summary")
    page.click("#operations-tokens-tokenize_api_tokenize_post .try-out__btn")
    body = {"model": "shakespeare-char", "text": "To be"}
    page.fill("#operations-tokens-tokenize_api_tokenize_post textarea.body-param__text", json.dumps(body))
    page.click("#operations-tokens-tokenize_api_tokenize_post .execute")
    page.wait_for_selector(
        "#operations-tokens-tokenize_api_tokenize_post .live-responses-table tbody .response-col_status"
    )
    status = page.text_content(
        "#operations-tokens-tokenize_api_tokenize_post .live-responses-table tbody .response-col_status"
    )
    assert status.strip() == "200"
    shown = page.text_content(
        "#operations-tokens-tokenize_api_tokenize_post .live-responses-table .microlight"
    )
    assert json.loads(shown)["ids"] == api.post("/api/tokenize", json=body).json()["ids"]
    shoot(page, "api-docs")


def test_fastapis_cdn_pages_are_not_served(api):
    assert api.get("/redoc").status_code == 404
    assert api.get("/openapi.json").json()["info"]["title"] == "Transformer Playground"


def test_the_api_reference_on_a_phone(phone, base_url):
    phone.goto(base_url + "/docs")
    wait_ready(phone)
    phone.wait_for_selector("#swagger-ui .opblock")
    assert_fits_the_screen(phone, "api-docs-phone", "#swagger-ui .opblock", "#swagger-ui .opblock-summary")
