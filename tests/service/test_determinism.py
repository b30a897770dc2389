"""`--seed`: the same seed and the same requests give the same job ids and the same content."""

from __future__ import annotations

import hashlib

import httpx
from server import running
from support import KEY, SCENARIOS, SEEDANCE


def one_run(seed: str) -> tuple[list[str], str]:
    with (
        running(SCENARIOS / "seedance.toml", "--seed", seed, "--clock", "manual") as served,
        httpx.Client(base_url=served.base_url, headers=KEY) as http,
    ):
        ids = []
        for prompt in ("golden retriever", "cancel", "revoked"):
            ids.append(http.post("/videos", json={"model": SEEDANCE, "prompt": prompt}).json()["id"])
        other_test = http.post("/videos", json={"model": SEEDANCE, "prompt": "x"}, headers={"X-Test-Id": "t"})
        ids.append(other_test.json()["id"])
        root = served.base_url.removesuffix("/api/v1")
        httpx.post(root + "/__ormock/clock/advance", json={"seconds": 3600})
        video = http.get(f"/videos/{ids[0]}/content").content
    return ids, hashlib.sha256(video).hexdigest()


def test_same_seed_same_ids_and_content_twice():
    first, second = one_run("7"), one_run("7")
    assert first == second
    assert all(job_id.startswith("gen-vid-1767225600-") for job_id in first[0])


def test_another_seed_other_ids():
    assert one_run("7")[0] != one_run("8")[0]


async def test_in_process_seed_repeats_too(make_mock):
    runs = []
    for _ in range(2):
        mock = make_mock(file="seedance.toml")  # seed 1, a fixed manual clock
        runs.append([await mock.job_id() for _ in range(5)])
    assert runs[0] == runs[1]
    assert len(set(runs[0])) == 5
