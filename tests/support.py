"""What the tests share: the repository's paths, the test key and model, and `Mock`, an in-process
ormock's client, clock and store (the `make_mock` fixture in conftest.py builds one)."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from ormock import ManualClock
from ormock.service.store import JobStore

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
KEY = {"Authorization": "Bearer sk-or-test"}
SEEDANCE = "bytedance/seedance-2.0"


@dataclass
class Mock:
    """An in-process ormock: its HTTP client, its clock and its job store."""

    http: httpx.AsyncClient
    clock: ManualClock
    store: JobStore
    app: object

    async def submit(self, **body: object) -> httpx.Response:
        body.setdefault("model", SEEDANCE)
        body.setdefault("prompt", "a lighthouse at dusk")
        return await self.http.post("/api/v1/videos", json=body, headers=KEY)

    async def job_id(self, **body: object) -> str:
        response = await self.submit(**body)
        assert response.status_code == 202, response.text
        return response.json()["id"]

    async def poll(self, job_id: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.http.get(f"/api/v1/videos/{job_id}", headers=KEY if headers is None else headers)

    async def status(self, job_id: str) -> str:
        response = await self.poll(job_id)
        assert response.status_code == 200, response.text
        return response.json()["status"]

    async def download(self, job_id: str, index: int | None = 0, headers: dict[str, str] | None = None):
        query = "" if index is None else f"?index={index}"
        url = f"/api/v1/videos/{job_id}/content{query}"
        return await self.http.get(url, headers=KEY if headers is None else headers)


# two scenarios for --watch tests: an edit from the slow one to the fast one shows at once
SLOW = '[default]\ntimeline = [{ status = "in_progress", polls = 3 }, { status = "completed" }]\n'
FAST = '[default]\ntimeline = [{ status = "failed", error = "edited" }]\n'


def touch_newer(path, text: str) -> None:
    before = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + 10**9, before + 10**9))  # a later mtime even on coarse file systems


def wait_for(lines: list[str], text: str, limit: float = 15.0) -> str:
    """The first printed line containing `text`; the limit only bounds a failing test."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        for line in list(lines):
            if text in line:
                return line
        time.sleep(0.01)
    raise AssertionError(f"no line with {text!r} in {lines}")


def readme_block(heading: str, language: str) -> str:
    """The first code block in `language` under `heading` in the README."""
    section = (ROOT / "README.md").read_text().split(heading, 1)[1]
    found = re.search(rf"```{language}\n(.*?)```", section, re.S)
    assert found is not None, heading
    return found.group(1)
