"""The official `openrouter` Python SDK, unchanged, against a real `ormock serve` on a free port,
through every rule of scenarios/seedance.toml. Every JSON answer is also checked against the spec.

Time-based steps run at a very high --speed so no test waits on them; what each test asserts holds
at any speed (poll-count steps, final statuses, errors), so none depends on wall-clock timing.
"""

from __future__ import annotations

import io

import av
import httpx
import pytest
from openapi import sync_hook
from openrouter import OpenRouter, errors
from openrouter.utils import RetryConfig
from polling import poll_until_done
from server import running
from support import SCENARIOS, SEEDANCE

TERMINAL = {"completed", "failed", "cancelled", "expired"}
NO_RETRIES = RetryConfig("none", None, False)


@pytest.fixture(scope="module")
def base_url():
    with running(SCENARIOS / "seedance.toml", "--speed", "1000000") as served:
        yield served.base_url


@pytest.fixture
def sdk(base_url):
    with httpx.Client(event_hooks={"response": [sync_hook]}) as http:
        yield OpenRouter(api_key="sk-or-anything", server_url=base_url, client=http, retry_config=NO_RETRIES)


def test_happy_path_completes_and_downloads_an_mp4(sdk):
    job = sdk.video_generation.generate(model=SEEDANCE, prompt="a golden retriever surfing", duration=5)
    assert job.status == "pending"
    assert job.polling_url.endswith(f"/api/v1/videos/{job.id}")
    seen = poll_until_done(sdk, job.id)
    assert seen[-1] == "completed"
    done = sdk.video_generation.get_generation(job_id=job.id)
    assert done.usage is not None and done.usage.cost == pytest.approx(1280 * 720 * 24 * 5 / 1024 * 0.000007)
    assert done.unsigned_urls == [f"{job.polling_url}/content?index=0"]
    response = sdk.video_generation.get_video_content(job_id=job.id, index=0)
    data = response.read()
    assert response.headers["content-type"] == "video/mp4"
    with av.open(io.BytesIO(data)) as container:
        assert (container.streams.video[0].width, container.streams.video[0].height) == (1280, 720)
        assert container.duration / 1_000_000 == pytest.approx(5.0)


def test_async_client_sees_the_same(base_url):
    import asyncio

    from openapi import async_hook

    async def go() -> str:
        async with httpx.AsyncClient(event_hooks={"response": [async_hook]}) as http:
            sdk = OpenRouter(api_key="k", server_url=base_url, async_client=http, retry_config=NO_RETRIES)
            job = await sdk.video_generation.generate_async(model=SEEDANCE, prompt="cancel me")
            for _ in range(2000):
                status = (await sdk.video_generation.get_generation_async(job_id=job.id)).status
                if status in TERMINAL:
                    return status
                await asyncio.sleep(0.002)
            return status

    assert asyncio.run(go()) == "cancelled"


def test_provider_failure_holds_in_progress_for_three_polls_then_fails(sdk):
    job = sdk.video_generation.generate(model=SEEDANCE, prompt="this will fail")
    seen = poll_until_done(sdk, job.id)
    assert seen[-4:] == ["in_progress", "in_progress", "in_progress", "failed"]
    failed = sdk.video_generation.get_generation(job_id=job.id)
    assert failed.error == "Provider returned error: content policy violation"
    assert failed.usage is None and failed.unsigned_urls is None
    with pytest.raises(errors.ConflictResponseError):
        sdk.video_generation.get_video_content(job_id=job.id)


@pytest.mark.parametrize(
    ("prompt", "status", "error"),
    [
        ("please cancel", "cancelled", "Job was cancelled"),
        ("let it expire", "expired", "Job exceeded maximum time to live"),
    ],
)
def test_cancelled_and_expired(sdk, prompt, status, error):
    job = sdk.video_generation.generate(model=SEEDANCE, prompt=prompt)
    assert poll_until_done(sdk, job.id)[-1] == status
    assert sdk.video_generation.get_generation(job_id=job.id).error == error


def test_key_revoked_mid_job_raises_unauthorized_on_the_third_poll(sdk):
    job = sdk.video_generation.generate(model=SEEDANCE, prompt="revoked")
    poll = sdk.video_generation.get_generation
    assert [poll(job_id=job.id).status for _ in range(2)] == ["in_progress", "in_progress"]
    with pytest.raises(errors.UnauthorizedResponseError) as caught:
        poll(job_id=job.id)
    assert caught.value.data.error.message == "User not found."
    assert caught.value.raw_response.status_code == 401
    assert poll(job_id=job.id).status == "in_progress"
    assert poll(job_id=job.id).status == "completed"


def test_unauthorized_submit(sdk):
    with pytest.raises(errors.UnauthorizedResponseError) as caught:
        sdk.video_generation.generate(model=SEEDANCE, prompt="unauthorized request")
    assert caught.value.data.error.code == 401


def test_download_refused_once_then_allowed(sdk):
    job = sdk.video_generation.generate(model=SEEDANCE, prompt="no download first")
    assert poll_until_done(sdk, job.id)[-1] == "completed"
    with pytest.raises(errors.UnauthorizedResponseError):
        sdk.video_generation.get_video_content(job_id=job.id)
    assert sdk.video_generation.get_video_content(job_id=job.id).read()[4:8] == b"ftyp"


def test_out_of_set_duration_is_a_typed_bad_request(sdk):
    with pytest.raises(errors.BadRequestResponseError) as caught:
        sdk.video_generation.generate(model=SEEDANCE, prompt="a long take", duration=20)
    assert str(caught.value) == f"duration 20 is not supported by {SEEDANCE}; supported: 4-15"
    assert caught.value.data.error.code == 400


def test_unknown_job_is_a_typed_not_found(sdk):
    with pytest.raises(errors.NotFoundResponseError):
        sdk.video_generation.get_generation(job_id="gen-vid-1-AAAAAAAAAAAAAAAAAAAA")


def test_models_listing_parses(sdk):
    listing = sdk.video_generation.list_videos_models()
    assert SEEDANCE in {model.id for model in listing.data}


def test_client_without_a_key_gets_unauthorized(base_url):
    with httpx.Client(event_hooks={"response": [sync_hook]}) as http:
        sdk = OpenRouter(api_key=None, server_url=base_url, client=http, retry_config=NO_RETRIES)
        with pytest.raises(errors.UnauthorizedResponseError) as caught:
            sdk.video_generation.generate(model=SEEDANCE, prompt="x")
    assert str(caught.value) == "Missing Authentication header"
