"""POST /api/v1/videos: the 202 answer, and every way the service refuses a submit."""

from __future__ import annotations

import re

import pytest
from support import KEY, SEEDANCE

ID = re.compile(r"^gen-vid-(\d+)-[A-Za-z0-9]{20}$")


async def test_submit_answers_202_with_id_polling_url_and_pending(mock):
    response = await mock.submit(prompt="a golden retriever in the snow")
    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"id", "polling_url", "status"}
    assert body["status"] == "pending"
    match = ID.match(body["id"])
    assert match, body["id"]
    assert int(match.group(1)) == int(mock.clock.time())
    assert body["polling_url"] == f"http://ormock.test/api/v1/videos/{body['id']}"


async def test_polling_url_follows_the_host_the_client_used(make_mock):
    mock = make_mock(file="seedance.toml", base_url="http://10.0.0.7:9123")
    body = (await mock.submit()).json()
    assert body["polling_url"] == f"http://10.0.0.7:9123/api/v1/videos/{body['id']}"


async def test_each_job_gets_its_own_id(mock):
    ids = {await mock.job_id() for _ in range(20)}
    assert len(ids) == 20


async def test_unknown_fields_are_ignored(mock):
    response = await mock.submit(frobnicate=True, provider={"options": {"seed": {"parameters": {"x": 1}}}})
    assert response.status_code == 202


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"duration": 20}, f"duration 20 is not supported by {SEEDANCE}; supported: 4-15"),
        ({"resolution": "768p"}, f'resolution "768p" is not supported by {SEEDANCE}; supported: 480p, 720p, 1080p, 4K'),
        ({"aspect_ratio": "2:3"}, f'aspect_ratio "2:3" is not supported by {SEEDANCE}; supported: 1:1, 3:4, 9:16'),
        ({"size": "1000x1000"}, f'size "1000x1000" is not supported by {SEEDANCE}; supported: 480x480'),
        ({"size": "big"}, "size must be WIDTHxHEIGHT"),
        ({"duration": "5"}, 'duration must be an integer, not the string "5"'),
        ({"duration": 5.5}, "duration must be an integer, not the number 5.5"),
        ({"duration": True}, "duration must be an integer, not the boolean true"),
        ({"duration": 0}, "duration must be at least 1, not 0"),
        ({"prompt": 42}, "prompt must be a string, not the number 42"),
        ({"generate_audio": "yes"}, 'generate_audio must be a boolean, not the string "yes"'),
        ({"seed": "7"}, 'seed must be an integer, not the string "7"'),
        ({"frame_images": {}}, "frame_images must be an array, not an object"),
        ({"model": 5}, "model must be a string, not the number 5"),
        ({"model": "acme/nope"}, "model 'acme/nope' is not a video generation model"),
        ({"model": None}, "model is required"),
        ({"prompt": ""}, f"prompt is required by {SEEDANCE}"),
        ({"upscale_factor": None}, "upscale_factor must be a number, not null"),
        ({"upscale_factor": 0}, "upscale_factor must be more than 0, not 0"),
        ({"provider": {"options": [None]}}, "options must be an object, not an array"),
        ({"provider": {"options": {"openai": 3}}}, "provider.options.openai must be an object, not the number 3"),
        ({"duration": None}, "duration must be an integer, not null"),
        ({"seed": None}, "seed must be an integer, not null"),
        ({"resolution": "5K"}, 'resolution "5K" is not one of 360p, 480p, 720p, 768p, 1080p, 1K, 2K, 4K'),
        (
            {"model": "black-forest-labs/flux-video-upscale", "aspect_ratio": "5:4"},
            'aspect_ratio "5:4" is not one of 16:9, 9:16, 1:1, 4:3, 3:4, 3:2, 2:3, 21:9, 9:21',
        ),
        (
            {"model": "black-forest-labs/flux-video-upscale", "resolution": "8K"},
            'resolution "8K" is not one of 360p, 480p, 720p, 768p, 1080p, 1K, 2K, 4K',
        ),
    ],
)
async def test_out_of_set_and_wrongly_typed_fields_get_400_naming_field_and_value(mock, body, message):
    response = await mock.submit(**body)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["message"].startswith(message)


@pytest.mark.parametrize(("key", "value", "kept"), [("duration", 8.0, 8), ("seed", 1000.0, 1000)])
async def test_whole_numbers_written_as_floats_are_integers(mock, key, value, kept):
    """JSON Schema 2020-12 (OpenAPI 3.1) counts 8.0 as an integer, and a JavaScript service sees 8."""
    response = await mock.submit(**{key: value})
    assert response.status_code == 202, response.text
    entry = [e for e in mock.store.journal("") if e.status == 202][-1]
    assert mock.store.get(entry.job_id).submission.__getattribute__(key) == kept


async def test_missing_model_gets_400(mock):
    response = await mock.http.post("/api/v1/videos", json={"prompt": "x"}, headers=KEY)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "model is required"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "the request body is not valid JSON"),
        (b"", "the request body is not valid JSON"),
        (b"\xff\xfe\x00", "the request body is not valid JSON"),
        (b"[1, 2]", "the request body must be a JSON object, not an array"),
        (b'"text"', 'the request body must be a JSON object, not the string "text"'),
        (b"null", "the request body must be a JSON object, not null"),
    ],
)
async def test_malformed_or_non_object_body_gets_400(mock, content, message):
    headers = {**KEY, "content-type": "application/json"}
    response = await mock.http.post("/api/v1/videos", content=content, headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(message)


async def test_generate_audio_and_seed_are_refused_where_the_model_flag_is_false(mock):
    response = await mock.submit(model="runway/gen-4.5", generate_audio=True)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "generate_audio is not supported by runway/gen-4.5"
    assert (await mock.submit(model="runway/gen-4.5", generate_audio=False)).status_code == 202
    response = await mock.submit(model="kwaivgi/kling-v3.0-pro", seed=7)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "seed is not supported by kwaivgi/kling-v3.0-pro"
    # seed null in the catalogue means undeclared: accepted
    assert (await mock.submit(model="minimax/hailuo-2.3", seed=7)).status_code == 202


def _frame(kind: str) -> dict:
    return {"type": "image_url", "image_url": {"url": "https://example.com/f.png"}, "frame_type": kind}


async def test_frame_types_outside_the_model_set_get_400(mock):
    response = await mock.submit(model="alibaba/wan-2.6", frame_images=[_frame("first_frame"), _frame("last_frame")])
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        'frame_images[1].frame_type "last_frame" is not supported by alibaba/wan-2.6; supported: first_frame'
    )
    assert (await mock.submit(model="alibaba/wan-2.6", frame_images=[_frame("first_frame")])).status_code == 202


@pytest.mark.parametrize(
    ("frames", "message"),
    [
        (["x"], "frame_images[0] must be an object"),
        ([{"type": "image_url", "frame_type": "first_frame"}], "frame_images[0].image_url.url is required"),
        ([{"type": "image_url", "image_url": {"url": "u"}, "frame_type": "middle"}], "frame_images[0].frame_type must"),
        ([_frame("first_frame"), _frame("first_frame")], "frame_images[1].frame_type 'first_frame' is given more"),
    ],
)
async def test_malformed_frame_images_get_400(mock, frames, message):
    response = await mock.submit(frame_images=frames)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(message)


async def test_frame_images_win_over_input_references(mock):
    broken_refs = [{"type": "nonsense"}]
    assert (await mock.submit(input_references=broken_refs)).status_code == 400
    response = await mock.submit(frame_images=[_frame("first_frame")], input_references=broken_refs)
    assert response.status_code == 202
    job = mock.store.get(response.json()["id"])
    assert job.submission.input == "frame_images"


async def test_image_only_submit_needs_no_prompt(mock):
    async def without_prompt(**body):
        return await mock.http.post("/api/v1/videos", json={"model": SEEDANCE, **body}, headers=KEY)

    response = await without_prompt(frame_images=[_frame("first_frame")])
    assert response.status_code == 202
    refs = [{"type": "image_url", "image_url": {"url": "https://example.com/r.png"}}]
    response = await without_prompt(input_references=refs)
    assert response.status_code == 202
    assert mock.store.get(response.json()["id"]).submission.input == "input_references"
    assert (await without_prompt()).status_code == 400


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Missing Authentication header"),
        ({"Authorization": "Bearer "}, "Missing Authentication header"),
        ({"Authorization": "Basic abc"}, "Missing Authentication header"),
    ],
)
async def test_submit_without_a_bearer_key_gets_401(mock, headers, message):
    response = await mock.http.post("/api/v1/videos", json={"model": SEEDANCE, "prompt": "x"}, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": {"code": 401, "message": message}}


async def test_scenario_can_list_the_accepted_keys(make_mock):
    mock = make_mock('[server]\napi_keys = ["sk-or-good"]\n')
    body = {"model": SEEDANCE, "prompt": "x"}
    bad = await mock.http.post("/api/v1/videos", json=body, headers={"Authorization": "Bearer sk-or-test"})
    assert bad.status_code == 401
    assert bad.json()["error"]["message"] == "Invalid API key"
    good = await mock.http.post("/api/v1/videos", json=body, headers={"Authorization": "Bearer sk-or-good"})
    assert good.status_code == 202


async def test_rule_can_answer_the_submit_with_an_error_and_create_no_job(make_mock):
    mock = make_mock(
        """
        [[rule]]
        name = "out of credits"
        match = { prompt = "no credits" }
        submit = { respond = 402 }

        [[rule]]
        name = "busy"
        match = { prompt = "busy" }
        submit = { respond = 429, retry_after = 7 }
        """
    )
    response = await mock.submit(prompt="NO CREDITS left")
    assert response.status_code == 402
    assert response.json()["error"]["message"] == "Insufficient credits. Add more using https://openrouter.ai/credits"
    response = await mock.submit(prompt="busy")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert len(mock.store) == 0


async def test_submit_error_with_times_recovers_after(make_mock):
    mock = make_mock(
        """
        [[rule]]
        name = "flaky"
        submit = { respond = 500, times = 2, message = "upstream hiccup" }
        """
    )
    first, second, third = [await mock.submit() for _ in range(3)]
    assert [first.status_code, second.status_code, third.status_code] == [500, 500, 202]
    assert first.json()["error"]["message"] == "upstream hiccup"
