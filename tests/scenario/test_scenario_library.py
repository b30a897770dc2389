"""Every rule of every file in scenarios/, driven end to end through the official Python SDK
against a real `ormock serve`. A rule counts as driven only once the server has logged it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from openapi import sync_hook
from openrouter import OpenRouter, errors
from openrouter.utils import RetryConfig
from polling import poll_until_done
from server import Served, running
from support import SCENARIOS

from ormock import load_scenario

NO_RETRIES = RetryConfig("none", None, False)
TERMINAL = {"completed", "failed", "cancelled", "expired"}
DRIVEN: set[tuple[str, str]] = set()
_servers: dict[str, Served] = {}


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, Served]]:
    from contextlib import ExitStack

    with ExitStack() as stack:
        for path in sorted(SCENARIOS.glob("*.toml")):
            _servers[path.name] = stack.enter_context(running(path, "--speed", "1000000"))
        yield _servers


class Driver:
    """The SDK pointed at one scenario's server."""

    def __init__(self, served: Served, file: str) -> None:
        self.served, self.file = served, file
        self.http = httpx.Client(event_hooks={"response": [sync_hook]})
        self.sdk = OpenRouter(
            api_key="sk-or-test", server_url=served.base_url, client=self.http, retry_config=NO_RETRIES
        )
        self.videos = self.sdk.video_generation

    def polls_until_done(self, job_id: str) -> list[str]:
        return poll_until_done(self.sdk, job_id)

    def one_poll_refused(self, job_id: str, error: type[Exception], then: str) -> None:
        """A poll that works, one refused with `error`, then one that reports `then`."""
        assert self.videos.get_generation(job_id=job_id).status == "in_progress"
        with pytest.raises(error):
            self.videos.get_generation(job_id=job_id)
        assert self.videos.get_generation(job_id=job_id).status == then

    def drove(self, rule: str) -> None:
        """Waits until the server has logged a request handled by `rule`, then records it."""
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if any(f"[{rule}]" in line for line in list(self.served.stdout)):
                DRIVEN.add((self.file, rule))
                return
            time.sleep(0.01)
        raise AssertionError(f"the server never logged rule {rule!r}")


@pytest.fixture
def drive(servers) -> Iterator:
    drivers: list[Driver] = []

    def make(file: str) -> Driver:
        drivers.append(Driver(servers[file], file))
        return drivers[-1]

    yield make
    for driver in drivers:
        driver.http.close()


def _frame(kind: str) -> dict:
    return {"type": "image_url", "image_url": {"url": "https://example.com/frame.png"}, "frame_type": kind}


# --- seedance.toml -------------------------------------------------------------------------------


def test_seedance_every_rule(drive):
    d = drive("seedance.toml")
    model = "bytedance/seedance-2.0"
    job = d.videos.generate(model=model, prompt="a golden retriever", duration=5)
    assert d.polls_until_done(job.id)[-1] == "completed"
    assert d.videos.get_video_content(job_id=job.id).read()[4:8] == b"ftyp"
    d.drove("happy path")

    job = d.videos.generate(model=model, prompt="make it fail")
    assert d.polls_until_done(job.id)[-4:] == ["in_progress"] * 3 + ["failed"]
    assert d.videos.get_generation(job_id=job.id).error == "Provider returned error: content policy violation"
    d.drove("provider failure")

    for prompt, status, rule in [("cancel", "cancelled", "cancelled"), ("expire", "expired", "expired")]:
        job = d.videos.generate(model=model, prompt=prompt)
        assert d.polls_until_done(job.id)[-1] == status
        d.drove(rule)

    job = d.videos.generate(model=model, prompt="revoked")
    assert [d.videos.get_generation(job_id=job.id).status for _ in range(2)] == ["in_progress"] * 2
    with pytest.raises(errors.UnauthorizedResponseError):
        d.videos.get_generation(job_id=job.id)
    assert d.polls_until_done(job.id)[-1] == "completed"
    d.drove("key revoked mid-job")

    job = d.videos.generate(model=model, prompt="no download")
    assert d.polls_until_done(job.id)[-1] == "completed"
    assert d.videos.get_generation(job_id=job.id).usage.cost == 0.42
    with pytest.raises(errors.UnauthorizedResponseError):
        d.videos.get_video_content(job_id=job.id)
    assert d.videos.get_video_content(job_id=job.id).read()[4:8] == b"ftyp"
    d.drove("download refused")

    with pytest.raises(errors.UnauthorizedResponseError):
        d.videos.generate(model=model, prompt="unauthorized")
    d.drove("unauthorized")

    with pytest.raises(errors.BadRequestResponseError, match="duration 20 is not supported"):
        d.videos.generate(model=model, prompt="x", duration=20)


# --- veo.toml ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "options", "cost"),
    [
        ("8 s with audio", {"duration": 8}, 3.20),
        ("8 s silent", {"duration": 8, "generate_audio": False}, 1.60),
        ("4 s in 4K with audio", {"duration": 4, "resolution": "4K"}, 2.40),
        ("6 s silent", {"duration": 6, "generate_audio": False}, 1.20),
    ],
)
def test_veo_costs(drive, rule, options, cost):
    d = drive("veo.toml")
    job = d.videos.generate(model="google/veo-3.1", prompt="a mountain lake", **options)
    assert d.polls_until_done(job.id)[-1] == "completed"
    assert d.videos.get_generation(job_id=job.id).usage.cost == pytest.approx(cost)
    d.drove(rule)


def test_veo_refusal_and_durations(drive):
    d = drive("veo.toml")
    job = d.videos.generate(model="google/veo-3.1", prompt="a celebrity cameo", duration=6)
    assert d.polls_until_done(job.id)[-1] == "failed"
    assert "safety filters" in d.videos.get_generation(job_id=job.id).error
    d.drove("Veo refuses the prompt")
    with pytest.raises(errors.BadRequestResponseError) as caught:
        d.videos.generate(model="google/veo-3.1", prompt="x", duration=5)
    assert str(caught.value) == "duration 5 is not supported by google/veo-3.1; supported: 4, 6, 8"


# --- image-to-video.toml -------------------------------------------------------------------------


def test_image_to_video_every_rule(drive):
    d = drive("image-to-video.toml")
    job = d.videos.generate(
        model="google/veo-3.1", prompt="the sun sets", frame_images=[_frame("first_frame"), _frame("last_frame")]
    )
    assert d.polls_until_done(job.id) == ["pending", "in_progress", "in_progress", "in_progress", "completed"]
    d.drove("first and last frame")

    job = d.videos.generate(model="alibaba/wan-2.6", prompt="waves", duration=5, frame_images=[_frame("first_frame")])
    assert d.polls_until_done(job.id)[-1] == "completed"
    assert d.videos.get_generation(job_id=job.id).usage.cost == pytest.approx(5 * 0.10)  # image_to_video_720p
    d.drove("first frame only")
    with pytest.raises(errors.BadRequestResponseError, match="last_frame"):
        d.videos.generate(model="alibaba/wan-2.6", prompt="waves", frame_images=[_frame("last_frame")])

    refs = [
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
        {"type": "video_url", "video_url": {"url": "https://example.com/motion.mp4"}},
    ]
    job = d.videos.generate(model="bytedance/seedance-2.0", prompt="the cat dances", input_references=refs)
    assert d.polls_until_done(job.id)[-1] == "completed"
    done = d.videos.get_generation(job_id=job.id)
    assert len(done.unsigned_urls) == 2
    for index in (0, 1):
        assert d.videos.get_video_content(job_id=job.id, index=index).read()[4:8] == b"ftyp"
    d.drove("reference images and clips")

    job = d.videos.generate(model="x-ai/grok-imagine-video", prompt="a broken reference", input_references=refs[:1])
    assert d.polls_until_done(job.id)[-1] == "failed"
    d.drove("unusable reference")

    # frame_images win over input_references: this is matched as a frame-image job
    job = d.videos.generate(
        model="google/veo-3.1", prompt="x", frame_images=[_frame("first_frame")], input_references=refs
    )
    assert d.polls_until_done(job.id)[0] == "pending"

    job = d.videos.generate(model="runway/gen-4.5", prompt="a paper boat")
    assert d.polls_until_done(job.id) == ["in_progress", "completed"]
    d.drove("text only")


# --- failure-modes.toml --------------------------------------------------------------------------


def test_failure_modes_job_endings(drive):
    d = drive("failure-modes.toml")
    model = "bytedance/seedance-2.0"
    for prompt, status, error, rule in [
        ("please fail", "failed", "Provider returned error", "failed"),
        ("cancel it", "cancelled", "Job was cancelled", "cancelled"),
        ("let it expire", "expired", "Job exceeded maximum time to live", "expired"),
    ]:
        job = d.videos.generate(model=model, prompt=prompt)
        assert d.polls_until_done(job.id)[-1] == status
        assert d.videos.get_generation(job_id=job.id).error == error
        d.drove(rule)

    job = d.videos.generate(model=model, prompt="stuck forever")
    assert d.polls_until_done(job.id)[-1] == "completed"
    d.drove("stuck in pending")

    job = d.videos.generate(model=model, prompt="relative links")
    assert job.polling_url == f"/api/v1/videos/{job.id}"
    assert d.polls_until_done(job.id)[-1] == "completed"
    assert d.videos.get_video_content(job_id=job.id).read()[4:8] == b"ftyp"
    d.drove("relative polling_url")


def test_failure_modes_http_errors(drive):
    d = drive("failure-modes.toml")
    model = "bytedance/seedance-2.0"
    with pytest.raises(errors.UnauthorizedResponseError, match=r"User not found\."):
        d.videos.generate(model=model, prompt="bad key")
    d.drove("401 on submit")

    job = d.videos.generate(model=model, prompt="revoked")
    d.one_poll_refused(job.id, errors.UnauthorizedResponseError, then="completed")
    d.drove("401 on poll")

    job = d.videos.generate(model=model, prompt="no download")
    assert d.polls_until_done(job.id)[-1] == "completed"
    for _ in range(2):
        with pytest.raises(errors.UnauthorizedResponseError):
            d.videos.get_video_content(job_id=job.id)
    d.drove("401 on download")

    with pytest.raises(errors.PaymentRequiredResponseError, match="Insufficient credits"):
        d.videos.generate(model=model, prompt="no credits")
    d.drove("402 out of credits")

    with pytest.raises(errors.TooManyRequestsResponseError) as caught:
        d.videos.generate(model=model, prompt="rate limit")
    # 30 scenario seconds at --speed 1000000 are 0.03 ms of the client's time
    assert caught.value.raw_response.headers["retry-after"] == "1"
    assert caught.value.raw_response.headers["retry-after-ms"] == "1"
    assert d.videos.generate(model=model, prompt="rate limit").status == "pending"
    d.drove("429 rate limited")

    with pytest.raises(errors.InternalServerResponseError):
        d.videos.generate(model=model, prompt="server error")
    job = d.videos.generate(model=model, prompt="server error")
    d.one_poll_refused(job.id, errors.InternalServerResponseError, then="completed")
    d.drove("500 then recovery")

    job = d.videos.generate(model=model, prompt="service unavailable")
    assert d.videos.get_generation(job_id=job.id).status == "in_progress"
    for _ in range(2):
        with pytest.raises(errors.OpenRouterDefaultError) as caught:  # the SDK declares no 503 on polls
            d.videos.get_generation(job_id=job.id)
        assert caught.value.raw_response.status_code == 503
        assert caught.value.raw_response.headers["retry-after"] == "1"  # 10 scenario seconds at 10^6x
    assert d.videos.get_generation(job_id=job.id).status == "completed"
    d.drove("503 while polling")

    job = d.videos.generate(model=model, prompt="bad gateway")
    assert d.polls_until_done(job.id)[-1] == "completed"
    with pytest.raises(errors.BadGatewayResponseError):
        d.videos.get_video_content(job_id=job.id)
    assert d.videos.get_video_content(job_id=job.id).read()[4:8] == b"ftyp"
    d.drove("502 on download")

    job = d.videos.generate(model=model, prompt="gone soon")
    assert d.polls_until_done(job.id)[-1] == "completed"
    time.sleep(0.01)  # 10 min at --speed 1000000 is 0.6 ms; the assertion holds at any later moment
    with pytest.raises(errors.GoneResponseError):
        d.videos.get_video_content(job_id=job.id)
    d.drove("output gone")


def test_failure_modes_network_faults(drive):
    d = drive("failure-modes.toml")
    model = "bytedance/seedance-2.0"
    job = d.videos.generate(model=model, prompt="truncated")
    assert d.polls_until_done(job.id)[-1] == "completed"
    with pytest.raises(httpx.RemoteProtocolError):  # fewer bytes than Content-Length
        d.videos.get_video_content(job_id=job.id).read()
    assert d.videos.get_video_content(job_id=job.id).read()[4:8] == b"ftyp"
    d.drove("truncated download")

    job = d.videos.generate(model=model, prompt="trickle")
    assert d.polls_until_done(job.id)[-1] == "completed"
    assert d.videos.get_video_content(job_id=job.id).read()[4:8] == b"ftyp"
    d.drove("slow download")

    job = d.videos.generate(model=model, prompt="reset")
    assert d.videos.get_generation(job_id=job.id).status == "in_progress"
    with pytest.raises(httpx.RemoteProtocolError):
        d.videos.get_generation(job_id=job.id)
    # a poll dropped before it reached the job does not count toward the timeline
    assert [d.videos.get_generation(job_id=job.id).status for _ in range(2)] == ["in_progress", "completed"]
    d.drove("connection reset on poll")

    job = d.videos.generate(model=model, prompt="sluggish")
    assert d.polls_until_done(job.id) == ["in_progress", "in_progress", "completed"]
    d.drove("sluggish polls")

    job = d.videos.generate(model=model, prompt="hang")
    with pytest.raises(httpx.ReadTimeout):
        d.videos.get_generation(job_id=job.id, timeout_ms=300)
    assert d.polls_until_done(job.id)[-1] == "completed"
    d.drove("poll hangs once")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"duration": 20}, "duration 20 is not supported"),
        ({"resolution": "2K"}, 'resolution "2K" is not supported'),
        ({"aspect_ratio": "2:3"}, 'aspect_ratio "2:3" is not supported'),
        ({"size": "1000x1000"}, 'size "1000x1000" is not supported'),
        ({"model": "kwaivgi/kling-v3.0-pro", "seed": 3}, "seed is not supported"),
        ({"model": "runway/gen-4.5", "generate_audio": True}, "generate_audio is not supported"),
        ({"model": "alibaba/wan-2.6", "frame_images": [_frame("last_frame")]}, '"last_frame" is not supported'),
        ({"model": "acme/none"}, "model 'acme/none' is not a video generation model"),
    ],
)
def test_failure_modes_400s_come_from_the_catalogue(drive, options, message):
    d = drive("failure-modes.toml")
    options = {"model": "bytedance/seedance-2.0", **options}
    with pytest.raises(errors.BadRequestResponseError, match=message.replace("(", r"\(")):
        d.videos.generate(prompt="x", **options)


def test_failure_modes_default(drive):
    d = drive("failure-modes.toml")
    job = d.videos.generate(model="bytedance/seedance-2.0", prompt="a calm sea")
    assert d.polls_until_done(job.id) == ["in_progress", "in_progress", "completed"]


# --- ci-fast.toml --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "seen", "rule"),
    [
        ("please fail", ["in_progress", "failed"], "fails on the second poll"),
        ("cancel", ["cancelled"], "cancelled on the first poll"),
        ("expire", ["pending", "in_progress", "expired"], "expires on the third poll"),
        ("walk", ["pending"] * 2 + ["in_progress"] * 3 + ["completed"], "walks every status"),
    ],
)
def test_ci_fast_rules_end_after_a_known_number_of_polls(drive, prompt, seen, rule):
    d = drive("ci-fast.toml")
    job = d.videos.generate(model="google/veo-3.1-fast", prompt=prompt)
    assert d.polls_until_done(job.id) == seen
    d.drove(rule)


def test_ci_fast_default_and_outputs(drive):
    d = drive("ci-fast.toml")
    job = d.videos.generate(model="google/veo-3.1-fast", prompt="anything")
    assert d.polls_until_done(job.id) == ["in_progress", "completed"]


# --- first-poll.toml ------------------------------------------------------------------------------


def test_first_poll_completes_on_the_first_poll_with_a_real_mp4(drive):
    """A harness that polls exactly once (TanStack's fetcher mode) sees a finished job."""
    d = drive("first-poll.toml")
    job = d.videos.generate(model="bytedance/seedance-2.0", prompt="a guitar being played in a store")
    assert job.status == "pending"
    done = d.videos.get_generation(job_id=job.id)
    assert done.status == "completed" and done.unsigned_urls
    video = d.videos.get_video_content(job_id=job.id).read()
    assert video[4:8] == b"ftyp" and len(video) < 200_000


def test_first_poll_takes_a_one_megabyte_data_url_frame(drive):
    """TanStack's image-to-video spec sends a ~790 KB PNG as a `first_frame` data URL (~1.05 MB of JSON)."""
    import base64

    d = drive("first-poll.toml")
    png = b"\x89PNG\r\n\x1a\n" + bytes(789_815)
    url = "data:image/png;base64," + base64.b64encode(png).decode()
    frame = {"type": "image_url", "image_url": {"url": url}, "frame_type": "first_frame"}
    job = d.videos.generate(model="bytedance/seedance-2.0", prompt="animate this product photo", frame_images=[frame])
    assert d.videos.get_generation(job_id=job.id).status == "completed"


def test_first_poll_failure_rule(drive):
    d = drive("first-poll.toml")
    job = d.videos.generate(model="bytedance/seedance-2.0", prompt="please fail")
    done = d.videos.get_generation(job_id=job.id)
    assert (done.status, done.error) == ("failed", "Provider returned error")
    d.drove("fails on the first poll")


# --- the same rules through the SDK's async calls ---------------------------------------------


async def _async_until_done(videos, job_id: str) -> list[str]:
    import asyncio

    seen = []
    for _ in range(5000):
        status = (await videos.get_generation_async(job_id=job_id)).status
        seen.append(status)
        if status in TERMINAL:
            return seen
        await asyncio.sleep(0.001)
    raise AssertionError(seen[-3:])


@pytest.mark.parametrize(
    ("file", "request_body", "ending"),
    [
        ("failure-modes.toml", {"prompt": "a calm sea"}, ("completed", None)),
        ("failure-modes.toml", {"prompt": "please fail"}, ("failed", "Provider returned error")),
        ("failure-modes.toml", {"prompt": "cancel it"}, ("cancelled", "Job was cancelled")),
        ("failure-modes.toml", {"prompt": "let it expire"}, ("expired", "Job exceeded maximum time to live")),
        ("failure-modes.toml", {"prompt": "stuck"}, ("completed", None)),
        (
            "image-to-video.toml",
            {
                "model": "google/veo-3.1",
                "prompt": "dusk",
                "frame_images": [_frame("first_frame"), _frame("last_frame")],
            },
            ("completed", None),
        ),
        (
            "image-to-video.toml",
            {"model": "alibaba/wan-2.6", "prompt": "waves", "frame_images": [_frame("first_frame")]},
            ("completed", None),
        ),
        (
            "image-to-video.toml",
            {
                "prompt": "dance",
                "input_references": [{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}],
            },
            ("completed", None),
        ),
        (
            "image-to-video.toml",
            {
                "model": "x-ai/grok-imagine-video",
                "prompt": "a broken reference",
                "input_references": [{"type": "image_url", "image_url": {"url": "u"}}],
            },
            ("failed", "Provider returned error: could not fetch input reference"),
        ),
    ],
)
async def test_async_sdk_through_the_rules(servers, file, request_body, ending):
    import httpx as _httpx
    from openapi import async_hook

    async with _httpx.AsyncClient(event_hooks={"response": [async_hook]}) as http:
        sdk = OpenRouter(
            api_key="sk-or-test", server_url=servers[file].base_url, async_client=http, retry_config=NO_RETRIES
        )
        videos = sdk.video_generation
        job = await videos.generate_async(**{"model": "bytedance/seedance-2.0", **request_body})
        assert job.status == "pending"
        seen = await _async_until_done(videos, job.id)
        final = await videos.get_generation_async(job_id=job.id)
        assert (seen[-1], final.error) == ending
        if ending[0] == "completed":
            response = await videos.get_video_content_async(job_id=job.id)
            assert (await response.aread())[4:8] == b"ftyp"


async def test_async_sdk_typed_errors(servers):
    sdk = OpenRouter(api_key="k", server_url=servers["failure-modes.toml"].base_url, retry_config=NO_RETRIES)
    videos = sdk.video_generation
    with pytest.raises(errors.BadRequestResponseError, match="duration 20 is not supported"):
        await videos.generate_async(model="bytedance/seedance-2.0", prompt="x", duration=20)
    with pytest.raises(errors.UnauthorizedResponseError):
        await videos.generate_async(model="bytedance/seedance-2.0", prompt="bad key")


RAN: set[str] = set()  # the tests of this module that ran here (a worker may run only some)


@pytest.fixture(autouse=True)
def counted(request: pytest.FixtureRequest) -> None:
    RAN.add(request.node.nodeid)


@pytest.fixture(scope="module", autouse=True)
def every_rule_of_every_scenario_is_driven(request: pytest.FixtureRequest) -> Iterator[None]:
    """Once this module's tests have run, in whatever order: each shipped rule must have been
    logged by its server. (When only some of them were selected, there is nothing to hold.)"""
    yield
    in_module = {item.nodeid for item in request.node.collect() if isinstance(item, pytest.Item)}
    if in_module != RAN or request.session.testsfailed:
        return
    expected = {(path.name, rule.name) for path in SCENARIOS.glob("*.toml") for rule in load_scenario(path).rules}
    assert expected - DRIVEN == set()
