"""GET /api/v1/videos/{id}/content: a real MP4, and every refusal."""

from __future__ import annotations

import io
from pathlib import Path

import av
import pytest
from support import KEY


async def _completed(mock, **body) -> str:
    body.setdefault("prompt", "golden retriever")
    job_id = await mock.job_id(**body)
    mock.clock.advance(3600)
    assert await mock.status(job_id) == "completed"
    return job_id


def _probe(data: bytes) -> tuple[int, int, float, int]:
    """Width, height, duration in seconds and decoded frame count, by FFmpeg (through PyAV)."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video=0))
        return stream.width, stream.height, container.duration / 1_000_000, frames


@pytest.mark.parametrize("accept", ["video/mp4", "application/octet-stream", "*/*", "application/json"])
async def test_content_is_video_mp4_with_length_whatever_the_accept_header(mock, accept):
    job_id = await _completed(mock)
    response = await mock.download(job_id, headers={**KEY, "Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"] == "video/mp4"
    assert int(response.headers["content-length"]) == len(response.content)


async def test_content_is_a_real_mp4_of_the_requested_shape_and_length(mock):
    job_id = await _completed(mock, duration=6, resolution="480p", aspect_ratio="9:16")
    data = (await mock.download(job_id)).content
    assert data[4:8] == b"ftyp"
    assert b"moov" in data and b"mdat" in data
    width, height, seconds, frames = _probe(data)
    assert (width, height) == (480, 854)
    assert seconds == pytest.approx(6.0)
    assert frames == 6 * 24


async def test_index_defaults_to_zero_and_may_be_null(mock):
    job_id = await _completed(mock)
    assert (await mock.download(job_id, index=None)).status_code == 200
    assert (await mock.http.get(f"/api/v1/videos/{job_id}/content?index=null", headers=KEY)).status_code == 200


async def test_content_needs_a_key(mock):
    job_id = await _completed(mock)
    response = await mock.download(job_id, headers={})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"


async def test_unknown_job_and_unknown_index_are_404(mock):
    job_id = await _completed(mock)
    assert (await mock.download("gen-vid-1-AAAAAAAAAAAAAAAAAAAA")).status_code == 404
    response = await mock.download(job_id, index=1)
    assert response.status_code == 404
    assert response.json()["error"]["message"] == f"Video generation job {job_id} has no output 1 (it has 1)"


@pytest.mark.parametrize("index", ["-1", "one", "1.5", ""])
async def test_bad_index_is_400(mock, index):
    job_id = await _completed(mock)
    response = await mock.http.get(f"/api/v1/videos/{job_id}/content?index={index}", headers=KEY)
    assert response.status_code == 400
    assert "index must be a non-negative integer" in response.json()["error"]["message"]


async def test_a_bad_index_is_echoed_escaped_and_cut_short(mock):
    job_id = await _completed(mock)
    response = await mock.http.get(
        f"/api/v1/videos/{job_id}/content", params={"index": "\x1b[2J" + "9x" * 500}, headers=KEY
    )
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "\x1b" not in message and "\\x1b[2J9x9x" in message
    assert len(message) < 120


async def test_content_before_completion_is_409_and_after_failure_too(mock):
    job_id = await mock.job_id(prompt="golden retriever")
    response = await mock.download(job_id)
    assert response.status_code == 409
    assert (
        response.json()["error"]["message"] == f"Video generation job {job_id} is pending; its content is not available"
    )
    failed = await mock.job_id(prompt="cancel this")
    mock.clock.advance(5)
    assert (await mock.download(failed)).status_code == 409


async def test_several_outputs_each_download(make_mock):
    mock = make_mock('[default]\ntimeline = [{ status = "completed", outputs = 3 }]\n')
    job_id = await mock.job_id()
    body = (await mock.poll(job_id)).json()
    assert body["unsigned_urls"] == [f"http://ormock.test/api/v1/videos/{job_id}/content?index={i}" for i in range(3)]
    for url in body["unsigned_urls"]:
        response = await mock.http.get(url, headers=KEY)
        assert response.status_code == 200
    assert (await mock.download(job_id, index=3)).status_code == 404


async def test_output_gone_after_available_for_is_410(make_mock):
    mock = make_mock(
        '[default]\ntimeline = [{ status = "in_progress", for = "10s" }, '
        '{ status = "completed", available_for = "1h" }]\n'
    )
    job_id = await mock.job_id()
    mock.clock.advance(10 + 3599)
    assert (await mock.download(job_id)).status_code == 200
    mock.clock.advance(1)
    response = await mock.download(job_id)
    assert response.status_code == 410
    assert response.json()["error"]["message"] == f"The output of video generation job {job_id} is no longer available"


async def test_download_error_for_the_first_attempts_then_success(mock):
    # download refused: the first download answers 401, later ones succeed
    job_id = await mock.job_id(prompt="no download yet")
    assert await mock.status(job_id) == "in_progress"
    body = (await mock.poll(job_id)).json()
    assert body["usage"]["cost"] == 0.42
    first = await mock.download(job_id)
    assert first.status_code == 401
    second = await mock.download(job_id)
    assert second.status_code == 200
    assert mock.store.get(job_id).downloads == 2


async def test_scenario_can_name_its_own_content_file(make_mock, tmp_path: Path):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"my own bytes")
    scenario = tmp_path / "own.toml"
    scenario.write_text('[default]\ntimeline = [{ status = "completed", content = "clip.mp4" }]\n')
    from ormock import load_scenario

    loaded = load_scenario(scenario)
    assert loaded.content_path(loaded.default.timeline[-1]) == clip.resolve()
    mock = make_mock(scenario=loaded)
    job_id = await mock.job_id()
    response = await mock.download(job_id)
    assert response.status_code == 200
    assert response.content == clip.read_bytes()
    assert response.headers["content-type"] == "video/mp4"


def _scenario_serving(folder: Path, content: str) -> Path:
    folder.mkdir(exist_ok=True)
    scenario = folder / "serves.toml"
    scenario.write_text(f'[default]\ntimeline = [{{ status = "completed", content = "{content}" }}]\n')
    return scenario


@pytest.mark.parametrize("content", ["/etc/passwd", "../outside.txt", "link.mp4", "."])
def test_a_content_file_outside_the_scenarios_folder_is_refused(tmp_path: Path, content: str):
    """Any client holding any key may download a content file: a path outside the scenario's folder,
    a `..` out of it and a link that leads out of it are refused at load (so by `validate` and
    `serve`), with the key path; so is anything that is not a regular file."""
    from ormock import ScenarioError, load_scenario

    (tmp_path / "outside.txt").write_text("not for clients")
    folder = tmp_path / "scenarios"
    scenario = _scenario_serving(folder, content)
    (folder / "link.mp4").symlink_to("/etc/hostname")
    with pytest.raises(ScenarioError) as refused:
        load_scenario(scenario)
    (problem,) = refused.value.problems
    assert problem.key == "default.timeline[1].content"
    assert "outside the scenario's folder" in problem.message or "not a regular file" in problem.message


def test_a_folder_named_with_content_dir_may_hold_content(tmp_path: Path):
    from ormock import ScenarioError, load_scenario

    shared = tmp_path / "clips"
    shared.mkdir()
    (shared / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom")
    scenario = _scenario_serving(tmp_path / "scenarios", "../clips/clip.mp4")
    with pytest.raises(ScenarioError):
        load_scenario(scenario)
    loaded = load_scenario(scenario, (shared,))
    assert loaded.content_path(loaded.default.timeline[-1]) == (shared / "clip.mp4").resolve()


async def test_a_content_file_turned_into_a_link_after_loading_is_not_served(make_mock, tmp_path: Path):
    """Checked again when served: a file swapped for a link out of the folder is a 500 envelope."""
    from ormock import load_scenario

    folder = tmp_path / "scenarios"
    scenario = _scenario_serving(folder, "clip.mp4")
    (folder / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom")
    mock = make_mock(scenario=load_scenario(scenario))
    (folder / "clip.mp4").unlink()
    (folder / "clip.mp4").symlink_to("/etc/hostname")
    response = await mock.download(await mock.job_id())
    assert response.status_code == 500
    assert response.json()["error"]["message"] == "The content file of this job can no longer be served"
