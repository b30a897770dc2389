"""What a job produces: the video's frame size, length and audio, and what it costs.

Unset request parameters take the defaults the service documents (audio follows the model's
`generate_audio` flag); the cost is read from the model's `pricing_skus`, picking the SKU whose
qualifiers (audio, resolution, text or image input) best fit the request. Where the SKUs can't be
applied (no duration, per-megapixel upscaling), the cost is unknown and the wire says `null`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..scenario.catalogue import VideoModel
from ..scenario.submit import Submission

FPS = 24
_HEIGHTS = {"360p": 360, "480p": 480, "720p": 720, "768p": 768, "1080p": 1080, "1k": 1080, "2k": 1440, "4k": 2160}
_RESOLUTION_TOKEN = re.compile(r"(?:^|_)(\d+p|[124]k)(?:_|$)")


@dataclass(frozen=True)
class Output:
    width: int
    height: int
    duration: int | None
    audio: bool
    resolution: str  # lower case: "720p", "4k"


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def _resolution_of(width: int, height: int) -> str:
    short = min(width, height)
    return min(_HEIGHTS, key=lambda name: (abs(_HEIGHTS[name] - short), name.endswith("k")))


def describe_output(model: VideoModel, sub: Submission) -> Output:
    """The output `sub` asks of `model`, with the service's defaults filled in."""
    duration = sub.duration
    if duration is None and model.supported_durations:
        duration = 5 if 5 in model.supported_durations else min(model.supported_durations)
    audio = sub.generate_audio

    if sub.size:
        width, height = (int(part) for part in sub.size.split("x"))
        return Output(width, height, duration, audio, _resolution_of(width, height))

    resolution = sub.resolution
    if resolution is None:
        supported = model.supported_resolutions or ["720p"]
        resolution = "720p" if "720p" in supported else supported[0]
    ratios = model.supported_aspect_ratios or ["16:9"]
    ratio_text = sub.aspect_ratio or ("16:9" if "16:9" in ratios else ratios[0])
    across, down = (int(part) for part in ratio_text.split(":"))
    short = _HEIGHTS.get(resolution.lower(), 720)
    if across >= down:
        width, height = _even(short * across / down), short
    else:
        width, height = short, _even(short * down / across)
    return Output(width, height, duration, audio, resolution.lower())


def _qualifiers(sku: str) -> dict[str, str]:
    found: dict[str, str] = {}
    if "without_audio" in sku:
        found["audio"] = "without"
    elif "with_audio" in sku:
        found["audio"] = "with"
    match = _RESOLUTION_TOKEN.search(sku)
    if match:
        found["resolution"] = match.group(1)
    if sku.startswith("text_to_video"):
        found["input"] = "text"
    elif sku.startswith("image_to_video"):
        found["input"] = "image"
    if "with_video_input" in sku:
        found["video_input"] = "yes"
    return found


def _best_sku(skus: list[str], wanted: dict[str, str]) -> str | None:
    """The SKU with the most qualifiers, all of which agree with the request."""
    fitting = []
    for sku in skus:
        qualifiers = _qualifiers(sku)
        if all(wanted.get(key) == value for key, value in qualifiers.items()):
            fitting.append((len(qualifiers), sku))
    return max(fitting)[1] if fitting else None


def estimate_cost(model: VideoModel, sub: Submission) -> float | None:
    """The cost in USD the service would charge for `sub`, or None where it can't be told."""
    skus = model.pricing_skus or {}
    out = describe_output(model, sub)
    if out.duration is None:
        return None
    has_video_input = (
        any(isinstance(ref, dict) and ref.get("type") == "video_url" for ref in sub.body.get("input_references") or ())
        and sub.input == "input_references"
    )
    wanted = {
        "audio": "with" if out.audio else "without",
        "resolution": out.resolution,
        "input": "text" if sub.input == "text" else "image",
    }
    if has_video_input:
        wanted["video_input"] = "yes"

    per_second = [s for s in skus if "second" in s and "megapixel" not in s and "image_input" not in s]
    sku = _best_sku(per_second, wanted)
    if sku is not None:
        price = float(skus[sku]) / (100 if sku.startswith("cents") else 1)
        return round(price * out.duration, 6)

    tokens = [s for s in skus if s.startswith("video_tokens")]
    sku = _best_sku(tokens, wanted)
    if sku is not None:
        count = out.width * out.height * FPS * out.duration / 1024
        return round(float(skus[sku]) * count, 6)
    return None
