"""Checking a submit body the way the service does, before any job exists.

`check(body, models)` turns the decoded JSON of `POST /api/v1/videos` into a `Submission`, or
raises `Rejected` with a message that names the field, the value and what the model accepts.
Unknown fields are ignored, like the service.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args
from urllib.parse import unquote, urlsplit

from .. import safe
from .catalogue import AspectRatio, VideoModel

Input = Literal["text", "frame_images", "input_references"]

_SIZE = re.compile(r"^[1-9][0-9]{0,14}x[1-9][0-9]{0,14}$")  # 15 digits a side: past that, no number a video has
CONTROL_PATH = "/__ormock"  # where an ormock's control API answers (web.routes.CONTROL_PREFIX)
MAX_DURATION = 1_000_000  # seconds asked for, at most (the video made is capped much shorter: docs/limits.md)
# The request schema's enums, whatever the model: the official SDK's (1.3.84) sets, which add
# 360p to the OpenAPI snapshot's resolutions. A model's own sets narrow them further.
ASPECT_RATIOS: tuple[str, ...] = get_args(AspectRatio)
RESOLUTIONS = ("360p", "480p", "720p", "768p", "1080p", "1K", "2K", "4K")
_REFERENCE_KINDS = ("image_url", "audio_url", "video_url")


class Rejected(Exception):
    """A submit the service answers with 400."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Submission:
    """The parts of a submit that matter to matching, pricing and the content served."""

    model: str
    prompt: str = ""
    duration: int | None = None
    resolution: str | None = None
    aspect_ratio: str | None = None
    size: str | None = None
    seed: int | None = None
    generate_audio: bool = False
    callback_url: str | None = None
    input: Input = "text"
    frame_types: tuple[str, ...] = ()
    body: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


QUOTED = 20  # values of a supported set an error message lists, at most (a catalogue may be hostile)


def describe(values: list[Any]) -> str:
    """A supported set as a person would write it: `4-15`, or `4, 6, 8`."""
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        ordered = sorted(values)
        if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
            return f"{ordered[0]}-{ordered[-1]}"
    shown = ", ".join(safe.shown(v, 40) for v in values[:QUOTED])
    return shown + (f", … ({len(values) - QUOTED} more)" if len(values) > QUOTED else "")


def _typed(body: Mapping[str, Any], key: str, kinds: tuple[type, ...], label: str) -> Any:
    """`body[key]` if it has one of `kinds`, None if absent, else `Rejected` (a JSON null too:
    the schema declares none of these fields nullable). For an integer, a number with a zero
    fraction (`8.0`) is one, as in JSON Schema 2020-12 (what OpenAPI 3.1 uses) and in JavaScript."""
    if key not in body:
        return None
    value = body[key]
    if int in kinds and float not in kinds and isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise Rejected(f"{key} must be {label}, not {_described(value)}")
    return value


def _json_type(value: Any) -> str:
    for kind, name in ((bool, "boolean"), ((int, float), "number"), (str, "string"), (list, "array")):
        if isinstance(value, kind):
            return name
    return "object" if isinstance(value, dict) else "null"


def _described(value: Any) -> str:
    """A value in a sentence: `null`, `the boolean true`, `the number 8.5`, `the string "8"`,
    `an array`, `an object`."""
    kind = _json_type(value)
    if kind == "null":
        return "null"
    if kind in ("array", "object"):
        return f"an {kind}"
    return f"the {kind} {_show(value)}"


def _show(value: Any) -> str:
    """A value as JSON would spell it, shortened for a message."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _in_set(key: str, value: Any, supported: list[Any] | None, model: VideoModel) -> None:
    if supported is None or value is None or value in supported:
        return
    if not supported:
        raise Rejected(f"{key} is not supported by {model.id}")
    raise Rejected(f"{key} {_show(value)} is not supported by {model.id}; supported: {describe(supported)}")


def _in_schema(key: str, value: str | None, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        raise Rejected(f"{key} {_show(value)} is not one of {', '.join(allowed)}")


def _frame_types(body: Mapping[str, Any], model: VideoModel) -> tuple[str, ...]:
    frames = _typed(body, "frame_images", (list,), "an array")
    if not frames:
        return ()
    types: list[str] = []
    for i, frame in enumerate(frames):
        where = f"frame_images[{i}]"
        if not isinstance(frame, dict):
            raise Rejected(f"{where} must be an object with type, image_url and frame_type")
        url = frame.get("image_url")
        if not isinstance(url, dict) or not isinstance(url.get("url"), str) or not url["url"]:
            raise Rejected(f"{where}.image_url.url is required and must be a non-empty string")
        kind = frame.get("frame_type")
        if kind not in ("first_frame", "last_frame"):
            raise Rejected(f"{where}.frame_type must be 'first_frame' or 'last_frame', not {_show(kind)}")
        if kind in types:
            raise Rejected(f"{where}.frame_type '{kind}' is given more than once")
        _in_set(f"{where}.frame_type", kind, model.supported_frame_images, model)
        types.append(kind)
    if model.supported_frame_images == []:
        raise Rejected(f"frame_images is not supported by {model.id}")
    return tuple(types)


def _check_references(body: Mapping[str, Any]) -> bool:
    refs = _typed(body, "input_references", (list,), "an array")
    if not refs:
        return False
    for i, ref in enumerate(refs):
        kind = ref.get("type") if isinstance(ref, dict) else None
        if kind not in _REFERENCE_KINDS:
            raise Rejected(
                f"input_references[{i}].type must be one of {', '.join(_REFERENCE_KINDS)}, not {_show(kind)}"
            )
        part = ref.get(kind)
        if not isinstance(part, dict) or not isinstance(part.get("url"), str) or not part["url"]:
            raise Rejected(f"input_references[{i}].{kind}.url is required and must be a non-empty string")
    return True


_LOOPBACK = ("localhost", "127.", "::1")


def callback_problem(url: str, require_https: bool) -> str | None:
    """Why the service would refuse `url` as a callback URL, or None. ormock also takes http:// to
    a loopback address, so local receivers work, unless `require_https`."""
    shown = safe.shown(safe.url(url), 120)
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError when out of range
    except ValueError:
        return f"callback_url is not a valid URL: '{shown}'"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"callback_url must be an absolute HTTPS URL, not '{shown}'"
    if port == 0 or any(c.isspace() or ord(c) < 32 for c in url):
        return f"callback_url is not a valid URL: '{shown}'"
    if parts.scheme != "https" and (require_https or not parts.hostname.startswith(_LOOPBACK)):
        return f"callback_url must use HTTPS: '{shown}'"
    if unquote(parts.path).startswith(CONTROL_PATH):  # deliveries would drive a control API (a reset)
        return f"callback_url must not point at ormock's control API ({CONTROL_PATH}/): '{shown}'"
    return None


def _provider_options(provider: Mapping[str, Any]) -> None:
    options = _typed(provider, "options", (dict,), "an object")
    for slug, settings in (options or {}).items():
        if not isinstance(settings, dict):
            raise Rejected(f"provider.options.{slug} must be an object, not {_described(settings)}")


def check(body: Any, models: Mapping[str, VideoModel]) -> Submission:
    """The submission `body` describes, or `Rejected` with the service's reason."""
    if not isinstance(body, dict):
        raise Rejected(f"the request body must be a JSON object, not {_described(body)}")
    if body.get("model") in (None, ""):
        raise Rejected("model is required")
    model_id = _typed(body, "model", (str,), "a string")
    model = models.get(model_id)
    if model is None:
        raise Rejected(f"model '{model_id}' is not a video generation model; see GET /api/v1/videos/models")

    prompt = _typed(body, "prompt", (str,), "a string")
    duration = _typed(body, "duration", (int,), "an integer")
    resolution = _typed(body, "resolution", (str,), "a string")
    aspect_ratio = _typed(body, "aspect_ratio", (str,), "a string")
    size = _typed(body, "size", (str,), "a string")
    seed = _typed(body, "seed", (int,), "an integer")
    generate_audio = _typed(body, "generate_audio", (bool,), "a boolean")
    callback_url = _typed(body, "callback_url", (str,), "a string")
    upscale = _typed(body, "upscale_factor", (int, float), "a number")
    if upscale is not None and upscale <= 0:
        raise Rejected(f"upscale_factor must be more than 0, not {_show(upscale)}")
    _typed(body, "creativity", (int,), "an integer")
    provider = _typed(body, "provider", (dict,), "an object")
    if provider is not None:
        _provider_options(provider)
    for key in ("previous_job_id", "session_id", "user"):
        _typed(body, key, (str,), "a string")

    if duration is not None and duration < 1:
        raise Rejected(f"duration must be at least 1, not {duration}")
    if duration is not None and duration > MAX_DURATION:
        raise Rejected(f"duration must be at most {MAX_DURATION} seconds, not {safe.shown(duration, 40)}")
    if size is not None and not _SIZE.match(size):
        raise Rejected(f"size must be WIDTHxHEIGHT, like '1280x720', not '{safe.shown(size, 40)}'")
    _in_schema("aspect_ratio", aspect_ratio, ASPECT_RATIOS)
    _in_schema("resolution", resolution, RESOLUTIONS)
    _in_set("duration", duration, model.supported_durations, model)
    _in_set("resolution", resolution, model.supported_resolutions, model)
    _in_set("aspect_ratio", aspect_ratio, model.supported_aspect_ratios, model)
    _in_set("size", size, model.supported_sizes, model)
    if generate_audio and model.generate_audio is False:
        raise Rejected(f"generate_audio is not supported by {model.id}")
    if seed is not None and model.seed is False:
        raise Rejected(f"seed is not supported by {model.id}")

    frame_types = _frame_types(body, model)
    # frame_images wins over input_references when both are sent: the references are ignored.
    has_references = False if frame_types else _check_references(body)
    source: Input = "frame_images" if frame_types else "input_references" if has_references else "text"
    if not prompt and source == "text":
        raise Rejected(f"prompt is required by {model.id} when no frame_images or input_references are given")

    return Submission(
        model=model_id,
        prompt=prompt or "",
        duration=duration,
        resolution=resolution,
        aspect_ratio=aspect_ratio,
        size=size,
        seed=seed,
        # With audio or without: the request's choice, else the model's default, as the service does.
        generate_audio=generate_audio if generate_audio is not None else bool(model.generate_audio),
        callback_url=callback_url,
        input=source,
        frame_types=frame_types,
        body=safe.pruned_object(body),  # what a job keeps of its request, and /__ormock/jobs shows
    )
