"""The generated MP4 is a real video: FFmpeg (through PyAV) decodes every frame of it."""

from __future__ import annotations

import io
import struct

import av
import pytest

from ormock.web.mp4 import make_mp4


def _boxes(data: bytes) -> list[bytes]:
    kinds, offset = [], 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        kinds.append(kind)
        offset += size
    assert offset == len(data)
    return kinds


@pytest.mark.parametrize(
    ("width", "height", "seconds"),
    [(1280, 720, 5), (1920, 1080, 2), (720, 1280, 1), (64, 48, 1), (854, 480, 3), (2, 2, 0.5)],
)
def test_decodes_at_the_asked_size_length_and_frame_count(width, height, seconds):
    data = make_mp4(width, height, seconds)
    assert _boxes(data) == [b"ftyp", b"moov", b"mdat"]
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.width, stream.height) == (width, height)
        frames = list(container.decode(video=0))
        assert len(frames) == max(1, round(seconds * 24))
        assert container.duration / 1_000_000 == pytest.approx(max(1, round(seconds * 24)) / 24)


def test_shows_colour_bars_on_every_frame():
    data = make_mp4(128, 64, 1)
    with av.open(io.BytesIO(data)) as container:
        frames = list(container.decode(video=0))
    for frame in (frames[0], frames[-1]):
        luma = bytes(frame.planes[0])
        row = 32 * frame.planes[0].line_size
        # white on the left, black on the right: limited-range luma 180 and 16
        assert luma[row] == 180
        assert luma[row + 127] == 16
