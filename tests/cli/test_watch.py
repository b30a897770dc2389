"""`serve --watch`: edits take effect for new jobs; existing jobs keep their timelines; an edit that
doesn't load is reported and the scenario in force stays."""

from __future__ import annotations

import httpx
from server import running
from support import FAST, KEY, SEEDANCE, SLOW, touch_newer, wait_for

from ormock import ManualClock, create_app, load_scenario
from ormock.cli.watch import reload_if_changed


async def test_reload_swaps_the_scenario_and_keeps_existing_jobs(tmp_path):
    path = tmp_path / "live.toml"
    path.write_text(SLOW)
    app = create_app(load_scenario(path), ManualClock())
    store = app.store
    said: list[str] = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", headers=KEY) as http:
        old = (await http.post("/api/v1/videos", json={"model": SEEDANCE, "prompt": "x"})).json()["id"]
        seen = reload_if_changed(path, store, None, said.append)
        touch_newer(path, FAST)
        seen = reload_if_changed(path, store, seen, said.append)
        assert said[-1].startswith(f"ormock: reloaded {path}")
        new = (await http.post("/api/v1/videos", json={"model": SEEDANCE, "prompt": "x"})).json()["id"]
        assert (await http.get(f"/api/v1/videos/{new}")).json()["error"] == "edited"
        assert (await http.get(f"/api/v1/videos/{old}")).json()["status"] == "in_progress"

        touch_newer(path, '[default]\ntimeline = [{ status = "finished" }]\n')
        reload_if_changed(path, store, seen, said.append)
        assert "does not load; still serving the previous scenario" in said[-1]
        assert "`finished` is not one of" in said[-1]
        newest = (await http.post("/api/v1/videos", json={"model": SEEDANCE, "prompt": "x"})).json()["id"]
        assert (await http.get(f"/api/v1/videos/{newest}")).json()["error"] == "edited"


def test_serve_watch_end_to_end(tmp_path):
    path = tmp_path / "live.toml"
    path.write_text(SLOW)
    with running(path, "--watch") as served, httpx.Client(base_url=served.base_url, headers=KEY) as http:
        old = http.post("/videos", json={"model": SEEDANCE, "prompt": "x"}).json()["id"]
        touch_newer(path, FAST)
        wait_for(served.stdout, "ormock: reloaded")
        new = http.post("/videos", json={"model": SEEDANCE, "prompt": "x"}).json()["id"]
        assert http.get(f"/videos/{new}").json()["status"] == "failed"
        assert http.get(f"/videos/{old}").json()["status"] == "in_progress"
