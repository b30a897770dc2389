"""Generated video is capped (docs/limits.md): a submit may ask any size or length of a model
that declares no limits, but the MP4 served is scaled to fit, is built off the event loop, and
another client is answered while it builds."""

from __future__ import annotations

import asyncio
import io

import av
import pytest
from support import KEY

from ormock.web import mp4

UNLIMITED = "heygen/avatar-iv"  # declares no sizes and no durations


def stream_of(data: bytes) -> tuple[int, int, float]:
    with av.open(io.BytesIO(data)) as container:
        video = container.streams.video[0]
        return video.codec_context.width, video.codec_context.height, float(video.duration * video.time_base)


@pytest.mark.parametrize(
    ("asked", "served"),
    [
        ((99_999_999, 99_999_999, 5), (2880, 2880, 5)),  # a square of the 4K area
        ((7680, 4320, 5), (3840, 2160, 5)),
        ((100_000, 10, 5), (4096, 2, 5)),
        ((1280, 720, 20_000), (1280, 720, mp4.MAX_SECONDS)),
        ((1280, 720, 8), (1280, 720, 8)),
    ],
)
def test_the_cap_keeps_the_shape_within_the_limits(asked, served):
    width, height, seconds = mp4.capped(*asked)
    assert (width, height, seconds) == pytest.approx(served, abs=2)
    assert width <= mp4.MAX_SIDE and height <= mp4.MAX_SIDE and width * height <= mp4.MAX_AREA


async def test_a_huge_size_and_length_download_a_capped_real_video(make_mock):
    mock = make_mock('[default]\ntimeline = [{ status = "completed" }]\n')
    job_id = await mock.job_id(model=UNLIMITED, size="99999999x99999999", duration=20000)
    assert (await mock.status(job_id)) == "completed"
    response = await mock.download(job_id)
    assert response.status_code == 200 and response.headers["content-type"] == "video/mp4"
    width, height, seconds = stream_of(response.content)
    assert (width, height) == (2880, 2880) and seconds == pytest.approx(mp4.MAX_SECONDS, abs=0.1)


async def test_other_clients_are_answered_while_a_large_video_builds(make_mock, monkeypatch):
    """The build runs in a worker thread: while it is held there, a poll is answered."""
    mock = make_mock('[default]\ntimeline = [{ status = "completed" }]\n')
    big = await mock.job_id(model=UNLIMITED, size="3840x2160", duration=30)
    other = await mock.job_id(prompt="someone else")
    release = __import__("threading").Event()
    building = __import__("threading").Event()
    real = mp4.make_mp4

    def slow_build(*shape):
        building.set()
        release.wait(10)
        return real(*shape)

    monkeypatch.setattr(mp4, "make_mp4", slow_build)
    download = asyncio.create_task(mock.download(big))
    await asyncio.to_thread(building.wait, 10)
    assert (await mock.poll(other, headers=KEY)).status_code == 200  # answered while the build is held
    release.set()
    assert (await download).status_code == 200
