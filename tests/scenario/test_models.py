"""GET /api/v1/videos/models: the built-in catalogue, scenario additions and overrides."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from openapi import DATA, async_hook
from openrouter import OpenRouter

REQUIRED = {
    "id",
    "canonical_slug",
    "name",
    "created",
    "allowed_passthrough_parameters",
    "supported_resolutions",
    "supported_aspect_ratios",
    "supported_durations",
    "supported_frame_images",
    "supported_sizes",
    "generate_audio",
    "seed",
    "upscale_factor",
    "creativity",
}


async def test_listing_answers_without_a_key_and_every_entry_has_every_key(mock):
    response = await mock.http.get("/api/v1/videos/models")
    assert response.status_code == 200
    entries = response.json()["data"]
    assert len(entries) >= 12
    for entry in entries:
        assert set(entry) >= REQUIRED, entry["id"]


async def test_builtin_catalogue_keeps_the_services_values():
    real = json.loads((DATA / "videos-models-2026-10-09.json").read_text())["data"]
    from ormock.scenario.catalogue import builtin

    ours = {model.id: model.model_dump(mode="json") for model in builtin().values()}
    for entry in real:
        for key, value in entry.items():
            assert ours[entry["id"]][key] == value, (entry["id"], key)


async def test_the_official_sdk_parses_the_listing(mock):
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=mock.app), event_hooks={"response": [async_hook]}
    ) as http:
        sdk = OpenRouter(api_key="sk-or-test", server_url="http://ormock.test/api/v1", async_client=http)
        listing = await sdk.video_generation.list_videos_models_async()
    by_id = {model.id: model for model in listing.data}
    assert by_id["google/veo-3.1"].supported_durations == [4, 6, 8]
    assert by_id["bytedance/seedance-2.0"].name == "ByteDance: Seedance 2.0"


async def test_scenario_can_override_a_builtin_model_and_add_one(make_mock):
    mock = make_mock(
        """
        [[model]]
        id = "bytedance/seedance-2.0"
        supported_durations = [5, 10]

        [[model]]
        id = "acme/tiny-video"
        name = "Acme Tiny Video"
        supported_durations = [2]
        pricing_skus = { duration_seconds = "0.01" }
        """
    )
    entries = {entry["id"]: entry for entry in (await mock.http.get("/api/v1/videos/models")).json()["data"]}
    assert entries["bytedance/seedance-2.0"]["supported_durations"] == [5, 10]
    assert entries["bytedance/seedance-2.0"]["supported_resolutions"] == ["480p", "720p", "1080p", "4K"]
    assert entries["acme/tiny-video"]["name"] == "Acme Tiny Video"
    assert entries["acme/tiny-video"]["supported_resolutions"] is None

    response = await mock.submit(duration=8)
    assert response.status_code == 400
    assert (
        response.json()["error"]["message"] == "duration 8 is not supported by bytedance/seedance-2.0; supported: 5, 10"
    )
    job_id = await mock.job_id(model="acme/tiny-video", duration=2)
    mock.clock.advance(60)
    assert (await mock.poll(job_id)).json()["usage"]["cost"] == 0.02


def test_catalogue_file_is_the_one_packaged():
    assert (Path(__file__).parents[2] / "ormock" / "scenario" / "catalogue.json").is_file()
