"""A live catalogue instead of the built-in snapshot: `ormock models pull` writes the listing a
service answers, `ormock models diff` says what changed, and `serve --catalogue` (or a scenario's
`catalogue` key) serves it. The service here is a second `ormock serve`."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
from server import running
from support import KEY

from ormock import load_scenario
from ormock.scenario.catalogue import builtin


def ormock(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ormock", *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def test_pull_then_diff_then_serve_a_pulled_catalogue(tmp_path):
    out = tmp_path / "catalogue.json"
    with running(None, "--no-dashboard") as upstream:
        pulled = ormock("models", "pull", "--upstream", upstream.base_url, "--out", str(out))
    assert pulled.returncode == 0, pulled.stderr
    assert pulled.stdout.strip() == f"wrote {len(builtin())} models from {upstream.base_url} to {out}"
    document = json.loads(out.read_text())
    assert document["source"] == upstream.base_url and len(document["data"]) == len(builtin())
    same = ormock("models", "diff", str(out))
    assert same.stdout.strip().endswith(f"0 difference(s) against the built-in catalogue ({len(builtin())} models)")
    assert same.returncode == 0
    assert ormock("models", "diff", cwd=tmp_path).stdout == same.stdout  # catalogue.json, where pull put it

    # the service changes: a model goes, one comes, one's durations and prices change
    data = document["data"]
    gone = data.pop(0)["id"]
    changed = next(m for m in data if m["supported_durations"])
    changed["supported_durations"] = [5, 10]
    data.append({"id": "acme/new-video", "supported_durations": [4]})
    out.write_text(json.dumps(document))
    changes = ormock("models", "diff", str(out))
    assert changes.returncode == 1  # something changed: a CI step fails
    diff = changes.stdout.splitlines()
    assert "+ acme/new-video: new (acme/new-video)" in diff
    assert f"- {gone}: removed" in diff
    assert any(
        line.startswith(f"~ {changed['id']}: supported_durations ") and line.endswith("-> [5, 10]") for line in diff
    )

    with running(None, "--no-dashboard", "--catalogue", str(out)) as served:
        listed = httpx.get(served.base_url + "/videos/models").json()["data"]
        assert {m["id"] for m in listed} == {m["id"] for m in data}
        new = next(m for m in listed if m["id"] == "acme/new-video")
        assert new["name"] == "acme/new-video" and new["created"] == 0  # what the SDK requires, filled in
        refused = httpx.post(served.base_url + "/videos", json={"model": gone, "prompt": "x"}, headers=KEY)
        assert refused.status_code == 400
        taken = httpx.post(served.base_url + "/videos", json={"model": "acme/new-video", "prompt": "x"}, headers=KEY)
        assert taken.status_code == 202


def test_a_scenario_names_its_catalogue_file(tmp_path):
    (tmp_path / "models.json").write_text(json.dumps({"data": [{"id": "acme/only", "supported_durations": [4, 8]}]}))
    (tmp_path / "s.toml").write_text('catalogue = "models.json"\n')
    assert list(load_scenario(tmp_path / "s.toml").models) == ["acme/only"]
    (tmp_path / "bad.toml").write_text('catalogue = "missing.json"\n')
    checked = ormock("validate", str(tmp_path / "bad.toml"))
    assert checked.returncode == 1
    assert "catalogue: cannot read the catalogue file missing.json: No such file or directory" in checked.stdout


def test_pull_refuses_to_overwrite_and_reports_an_upstream_that_is_down(tmp_path):
    (tmp_path / "c.json").write_text("{}")
    assert "already exists" in ormock("models", "pull", "--out", str(tmp_path / "c.json")).stderr
    down = ormock("models", "pull", "--upstream", "http://127.0.0.1:9/api/v1", "--out", str(tmp_path / "d.json"))
    assert down.returncode == 2 and "gave no models listing (ConnectError" in down.stderr


def test_a_catalogue_file_nested_too_deeply_is_a_sentence_everywhere_it_is_read(tmp_path):
    """A hostile catalogue (3,000 nested lists) is one line saying why, from `models diff`,
    `validate` and `serve --catalogue` alike: never a RecursionError's traceback."""
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 3000 + "]" * 3000)
    (tmp_path / "uses.toml").write_text('catalogue = "deep.json"\n[default]\n')
    for args in (
        ("models", "diff", str(deep)),
        ("validate", str(tmp_path / "uses.toml")),
        ("serve", "seedance", "--catalogue", str(deep), "--port", "0", "--no-dashboard"),
    ):
        done = ormock(*args)
        assert done.returncode != 0, args
        assert "Traceback" not in done.stderr + done.stdout, args
        assert "nested too deeply" in done.stderr + done.stdout, args
