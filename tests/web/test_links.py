"""`links = "relative"`: `polling_url` and `unsigned_urls` written as paths, as the service's API
reference shows them, per server or per rule; clients that resolve them still work."""

from __future__ import annotations

from openrouter import OpenRouter
from support import KEY, SEEDANCE

from ormock import Simulator, parse_scenario

RELATIVE = """
[server]
links = "relative"

[default]
timeline = [{ status = "in_progress", polls = 1 }, { status = "completed" }]

[[rule]]
name = "whole"
match = { prompt = "whole" }
links = "absolute"
"""


async def test_a_path_keeps_the_test_id(make_mock):
    mock = make_mock(RELATIVE)
    submitted = await mock.http.post(
        "/api/v1/videos", json={"model": SEEDANCE, "prompt": "x"}, headers={**KEY, "X-Test-Id": "t 1"}
    )
    job = submitted.json()
    assert job["polling_url"] == f"/api/v1/videos/{job['id']}?testId=t%201"


async def test_relative_links_on_submit_poll_and_completion(make_mock):
    mock = make_mock(RELATIVE)
    job_id = await mock.job_id(prompt="x")
    first = (await mock.poll(job_id)).json()
    assert first["polling_url"] == f"/api/v1/videos/{job_id}"
    done = (await mock.poll(job_id)).json()
    assert done["status"] == "completed"
    assert done["unsigned_urls"] == [f"/api/v1/videos/{job_id}/content?index=0"]
    followed = await mock.http.get(done["unsigned_urls"][0], headers=KEY)  # resolved against the server
    assert followed.status_code == 200 and followed.headers["content-type"] == "video/mp4"

    whole = await mock.job_id(prompt="whole")
    assert (await mock.poll(whole)).json()["polling_url"] == f"http://ormock.test/api/v1/videos/{whole}"


async def test_absolute_links_stay_the_default(make_mock):
    mock = make_mock('[[rule]]\nname = "paths"\nmatch = { prompt = "paths" }\nlinks = "relative"\n')
    job_id = await mock.job_id(prompt="x")
    assert (await mock.poll(job_id)).json()["polling_url"] == f"http://ormock.test/api/v1/videos/{job_id}"
    paths = await mock.job_id(prompt="paths")
    assert (await mock.poll(paths)).json()["polling_url"] == f"/api/v1/videos/{paths}"


def test_the_official_python_sdk_completes_a_job_with_relative_links():
    with Simulator(parse_scenario(RELATIVE), clock="manual") as sim:
        videos = OpenRouter(api_key="sk-or-test", server_url=sim.base_url).video_generation
        job = videos.generate(model=SEEDANCE, prompt="a fox")
        assert job.polling_url == f"/api/v1/videos/{job.id}"
        assert videos.get_generation(job_id=job.id).status == "in_progress"
        done = videos.get_generation(job_id=job.id)
        assert done.status == "completed" and done.unsigned_urls == [f"/api/v1/videos/{job.id}/content?index=0"]
        content = videos.get_video_content(job_id=job.id)
        assert content.read()[4:8] == b"ftyp"
