"""The video model catalogue: what `GET /api/v1/videos/models` lists and submits are checked against.

The built-in entries are real models as the service listed them (see `catalogue.json`); a
scenario's `[[model]]` tables add models or override keys of a built-in one.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

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
    text = resources.files("ormock").joinpath("catalogue.json").read_text("utf-8")
    return {entry["id"]: VideoModel(**entry) for entry in json.loads(text)["data"]}


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
