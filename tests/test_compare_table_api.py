"""GET /api/compare-table: `playground compare --json`'s table beside the models, filtered to those served."""

import json

import pytest
from arch_zoo import build_zoo

from server.cli import main


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """A tiny zoo of every architecture and its table, written by the CLI."""
    zoo = build_zoo(tmp_path_factory.mktemp("zoo"))
    models = [str(zoo / n) for n in ("tiny-lstm", "tiny-mlm", "tiny-numbers", "numbers-gpt")]
    out = zoo / "compare.json"
    assert main(["compare", "--in-process", "--new-tokens", "4", "--json", str(out), *models]) == 0
    return zoo, json.loads(out.read_text())


def test_the_table_is_the_clis_for_the_served_models(make_client, table):
    zoo, written = table
    client = make_client(models_dir=zoo)
    r = client.get("/api/compare-table")
    assert r.status_code == 200, r.text
    body = r.json()
    assert {r["name"] for r in body["rows"]} == {"tiny-lstm", "tiny-mlm", "tiny-numbers", "numbers-gpt"}
    assert body["missing"] == []
    for key in ("generated", "settings", "backends", "format"):
        assert body[key] == written[key]
    # the machine it was measured on, without the versions of its kernel, Python and libraries
    assert body["machine"] == {"cpu": written["machine"]["cpu"], "cores": written["machine"]["cores"]}
    assert set(written["machine"]) > {"cpu", "cores", "platform", "python"}
    by_name = {r["name"]: r for r in written["rows"]}
    for row in body["rows"]:
        assert row == by_name[row["name"]]  # every number as the CLI wrote it
    served = [m["name"] for m in client.get("/api/models").json()["models"]]
    assert [r["name"] for r in body["rows"]] == served  # in the order pages list the models


def test_rows_of_models_not_served_are_left_out(make_client, table, tmp_path):
    zoo, written = table
    other = tmp_path / "zoo"
    other.mkdir()
    for name in ("tiny-lstm", "tiny-mlm"):
        (other / name).symlink_to(zoo / name)
    ghost = {**written["rows"][0], "name": "gone-model"}
    rows = [r for r in written["rows"] if r["name"] != "tiny-mlm"] + [ghost]
    (other / "compare.json").write_text(json.dumps({**written, "rows": rows}))
    body = make_client(models_dir=other).get("/api/compare-table", params={"optional": "true"}).json()
    assert [r["name"] for r in body["rows"]] == ["tiny-lstm"]
    assert body["missing"] == ["tiny-mlm"]


def test_no_table_is_a_404_that_says_how_to_make_one(make_client, tmp_path):
    client = make_client(models_dir=tmp_path)
    r = client.get("/api/compare-table")
    assert r.status_code == 404
    assert "playground compare --json" in r.json()["detail"]
    r = client.get("/api/compare-table", params={"optional": "true"})  # no console error for a missing table
    assert r.status_code == 204 and r.content == b""
    (tmp_path / "compare.json").write_text("[1, 2")
    r = client.get("/api/compare-table")
    assert r.status_code == 500 and "unreadable" in r.json()["detail"]
