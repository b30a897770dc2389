"""The video model catalogue: what `GET /api/v1/videos/models` lists and submits are checked against.

The built-in entries are real models as the service listed them (see `catalogue.json`); a
scenario's `[[model]]` tables add models or override keys of a built-in one.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from ..safe import shown

AspectRatio = Literal["16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9", "9:21"]
FrameType = Literal["first_frame", "last_frame"]


class UpscaleFactor(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    min: float | None = None
    max: float | None = None


class VideoModel(BaseModel):
    """One entry of the listing. A `None` capability means "not declared": anything goes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    canonical_slug: str
    name: str
    created: int
    description: str = ""
    hugging_face_id: str | None = None
    pricing_skus: dict[str, str] | None = None
    input_modalities: list[str] | None = None
    allowed_passthrough_parameters: list[str] = []
    supported_resolutions: list[str] | None = None
    supported_aspect_ratios: list[AspectRatio] | None = None
    supported_durations: list[int] | None = None
    supported_sizes: list[str] | None = None
    supported_frame_images: list[FrameType] | None = None
    generate_audio: bool | None = None
    seed: bool | None = None
    upscale_factor: UpscaleFactor | None = None
    creativity: list[int] | None = None


# Keys a scenario's [[model]] table may set; `id` picks the model.
MODEL_KEYS = frozenset(VideoModel.model_fields)


@cache
def builtin() -> dict[str, VideoModel]:
    """The built-in catalogue, by model id."""
    # read beside this module, as the built-in scenarios are: always on disk, and cheaper to start
    text = (Path(__file__).resolve().parent / "catalogue.json").read_text("utf-8")
    return {entry["id"]: VideoModel(**entry) for entry in json.loads(text)["data"]}


def from_listing(entries: list[dict[str, Any]]) -> dict[str, VideoModel]:
    """A catalogue from a `GET /videos/models` listing (a pulled one, or a recording's). Keys the
    model schema does not know are left out; `name`, `created` and `canonical_slug`, which the
    official SDK requires and the live listing has been seen without, are filled in from the id."""
    found = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            continue
        kept = {key: value for key, value in entry.items() if key in MODEL_KEYS}
        kept.setdefault("canonical_slug", entry["id"])
        kept.setdefault("name", entry["id"])
        kept.setdefault("created", 0)
        found[entry["id"]] = VideoModel(**kept)
    return found


class CatalogueError(ValueError):
    """Why a catalogue file cannot be read, in one line."""


def read_file(path: Path) -> dict[str, VideoModel]:
    """The catalogue in a file written by `ormock models pull` (a `{"data": [...]}` listing).
    Raises CatalogueError, whatever is wrong with the file."""
    try:
        data = json.loads(path.read_text("utf-8"))
        entries = data.get("data") if isinstance(data, dict) else data
        if not isinstance(entries, list):
            raise CatalogueError('a catalogue file holds a models listing: {"data": [...]}')
        return from_listing(entries)
    except OSError as exc:
        raise CatalogueError(exc.strerror or str(exc)) from None
    except RecursionError:
        raise CatalogueError("the file is nested too deeply to be a models listing") from None
    except (ValueError, ValidationError) as exc:  # broken JSON, an entry of the wrong shape
        raise CatalogueError((str(exc).splitlines() or ["not a models listing"])[0]) from None


def diff(old: dict[str, VideoModel], new: dict[str, VideoModel]) -> list[str]:
    """What changed from `old` to `new`, a line each: models added and removed, and for models in
    both, their durations, resolutions, aspect ratios, sizes and prices."""
    lines = [f"+ {shown(model_id)}: new ({shown(new[model_id].name)})" for model_id in sorted(set(new) - set(old))]
    lines += [f"- {shown(model_id)}: removed" for model_id in sorted(set(old) - set(new))]
    watched = (
        "supported_durations",
        "supported_resolutions",
        "supported_aspect_ratios",
        "supported_sizes",
        "supported_frame_images",
        "generate_audio",
        "seed",
        "pricing_skus",
    )
    for model_id in sorted(set(old) & set(new)):
        for key in watched:
            before, after = getattr(old[model_id], key), getattr(new[model_id], key)
            if before != after:
                lines.append(f"~ {shown(model_id)}: {key} {shown(json.dumps(before))} -> {shown(json.dumps(after))}")
    return lines


def apply(models: dict[str, VideoModel], table: dict[str, Any]) -> VideoModel:
    """The model a scenario's [[model]] table describes, given the catalogue so far.

    A table naming a known id changes only the keys it sets; a new id becomes a new model whose
    unset capabilities are undeclared (anything accepted). Raises pydantic's ValidationError for a
    value of the wrong type.
    """
    base = models.get(table["id"])
    if base is not None:
        start = base.model_dump()
    else:
        start = {"canonical_slug": table["id"], "name": table["id"], "created": 0}
    return VideoModel(**{**start, **table})
