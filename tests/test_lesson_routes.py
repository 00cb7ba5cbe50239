"""/learn/N: the step at position N of the served step list, by its name; outside 1…N the 404 page."""

import pytest

from server.routers.pages import lessons_for

HTML = {"accept": "text/html"}


@pytest.fixture(scope="module")
def steps(client) -> list[str]:
    return [x.slug for x in lessons_for(client.app.state.registry)]


def test_every_number_redirects_to_the_step_at_that_position_keeping_the_query(client, steps):
    assert "attention-output" in steps and steps[-1] == "wrap-up"
    assert steps.index("attention-output") == steps.index("softmax") + 1
    for n, slug in enumerate(steps, start=1):
        r = client.get(f"/learn/{n}?text=To%20be&layer=1", headers=HTML, follow_redirects=False)
        assert r.status_code == 307, (n, r.status_code)
        assert r.headers["location"] == f"/learn/{slug}?text=To%20be&layer=1"
    r = client.get("/learn/2", headers=HTML, follow_redirects=False)
    assert r.headers["location"] == f"/learn/{steps[1]}"  # no query, no "?"


def test_a_followed_number_shows_that_step_and_its_number(client, steps):
    n = steps.index("attention-output") + 1
    r = client.get(f"/learn/{n}", headers=HTML)
    assert r.status_code == 200 and str(r.url).endswith("/learn/attention-output")
    assert f"Step {n} of {len(steps)}" in r.text
    assert client.head(f"/learn/{len(steps)}", headers=HTML).status_code == 200


@pytest.mark.parametrize("where", ["zero", "past the end", "leading zeros past the end"])
def test_numbers_outside_the_list_are_the_404_page(client, steps, where):
    number = {"zero": "0", "past the end": str(len(steps) + 1), "leading zeros past the end": "0099"}[where]
    r = client.get(f"/learn/{number}", headers=HTML, follow_redirects=False)
    assert r.status_code == 404
    assert "text/html" in r.headers["content-type"] and "no lesson number" in r.text
