"""The default cost of a completed job, read from the model's pricing SKUs and the request."""

from __future__ import annotations

import pytest

from ormock.scenario.catalogue import builtin
from ormock.scenario.submit import check
from ormock.service.output import describe_output, estimate_cost


def cost(model: str, **body) -> float | None:
    models = builtin()
    sub = check({"model": model, "prompt": "p", **body}, models)
    return estimate_cost(models[model], sub)


@pytest.mark.parametrize(
    ("model", "body", "expected"),
    [
        ("google/veo-3.1", {"duration": 8}, 8 * 0.40),  # audio on by default
        ("google/veo-3.1", {"duration": 8, "generate_audio": False}, 8 * 0.20),
        ("google/veo-3.1", {"duration": 4, "resolution": "4K"}, 4 * 0.60),
        ("google/veo-3.1", {"duration": 6, "resolution": "4K", "generate_audio": False}, 6 * 0.40),
        ("google/veo-3.1-fast", {"duration": 8, "resolution": "720p"}, 8 * 0.10),
        ("google/veo-3.1-fast", {"duration": 8, "resolution": "1080p"}, 8 * 0.12),
        ("kwaivgi/kling-v3.0-pro", {"duration": 10, "generate_audio": False}, 10 * 0.112),
        ("kwaivgi/kling-v3.0-pro", {"duration": 10}, 10 * 0.168),
        ("alibaba/wan-2.6", {"duration": 10, "resolution": "1080p"}, 10 * 0.12),
        ("runway/gen-4.5", {"duration": 5}, 5 * 0.12),  # cents per second
        ("x-ai/grok-imagine-video", {"duration": 3, "resolution": "480p"}, 3 * 0.05),
        ("minimax/hailuo-2.3", {}, 6 * 0.0817),  # default duration: the shortest when 5 is not offered
        ("bytedance/seedance-2.0", {"duration": 5, "size": "1920x1080"}, 1920 * 1080 * 24 * 5 / 1024 * 0.0000077),
        ("bytedance/seedance-2.0", {"duration": 5, "generate_audio": False}, 1280 * 720 * 24 * 5 / 1024 * 0.000007),
    ],
)
def test_cost_follows_the_matching_sku(model, body, expected):
    assert cost(model, **body) == pytest.approx(expected, abs=1e-6)


def test_image_to_video_uses_the_image_sku():
    frames = [{"type": "image_url", "image_url": {"url": "u"}, "frame_type": "first_frame"}]
    assert cost("alibaba/wan-2.6", duration=5, resolution="720p", frame_images=frames) == pytest.approx(5 * 0.10)


def test_cost_is_unknown_where_the_skus_cannot_be_applied():
    assert cost("black-forest-labs/flux-video-upscale") is None
    assert cost("heygen/avatar-iv") is None  # no duration to multiply by


def test_output_shape_defaults():
    models = builtin()
    veo = describe_output(models["google/veo-3.1"], check({"model": "google/veo-3.1", "prompt": "p"}, models))
    assert (veo.width, veo.height, veo.duration, veo.audio) == (1280, 720, 4, True)
    portrait = check({"model": "google/veo-3.1", "prompt": "p", "aspect_ratio": "9:16", "resolution": "1080p"}, models)
    out = describe_output(models["google/veo-3.1"], portrait)
    assert (out.width, out.height) == (1080, 1920)
