"""Request bodies cannot bloat or crash the server: only the endpoints that read a body buffer it,
whole bodies in flight share one budget, the journal keeps a bounded copy, and JSON nested too
deeply is a 400 (docs/limits.md)."""

from __future__ import annotations

import asyncio
import json

import pytest
from support import KEY

from ormock.safe import JOURNAL_ITEMS, JOURNAL_STRING
from ormock.web.errors import MAX_JSON_MARKS
from ormock.web.limits import OTHER_BODY, BodyLimits


async def journal(mock) -> list[dict]:
    return (await mock.http.get("/__ormock/requests")).json()["data"]


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("POST", "/api/v1/videos/models", {}, 405),
        ("POST", "/api/v1/nothing", KEY, 404),
        ("GET", "/api/v1/videos/x", {}, 401),
    ],
)
async def test_a_large_body_where_none_is_read_is_kept_only_in_part(mock, method, path, headers, status):
    body = json.dumps([[] for _ in range(400_000)]).encode()  # 1.6 MB of nested arrays
    response = await mock.http.request(method, path, content=body, headers={**headers, "content-type": "x"})
    assert response.status_code == status
    kept = (await journal(mock))[-1]["body"]
    assert isinstance(kept, str) and len(kept) <= OTHER_BODY + 1


async def test_a_submit_body_is_journalled_cut_to_a_bounded_shape(mock):
    image = "data:image/png;base64," + "A" * 1_000_000
    frames = [{"type": "image_url", "image_url": {"url": image}, "frame_type": "first_frame"}]
    response = await mock.submit(prompt="animate this product photo", frame_images=frames, user="u" * 10)
    assert response.status_code == 202
    body = (await journal(mock))[-1]["body"]
    assert body["prompt"] == "animate this product photo"  # what a test looks for is still there
    url = body["frame_images"][0]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,AAAA") and url.endswith(f"… ({len(image):,} characters)")
    assert len(url) < JOURNAL_STRING + 40


async def test_long_arrays_and_deep_nesting_are_cut_in_the_journal(mock):
    deep: object = "bottom"
    for _ in range(40):
        deep = [deep]
    await mock.submit(prompt="x", extra=list(range(500)), deep=deep)
    body = (await journal(mock))[-1]["body"]
    assert body["extra"] == [*range(JOURNAL_ITEMS), f"… ({500 - JOURNAL_ITEMS:,} more items)"]
    assert "… (nested deeper)" in json.dumps(body["deep"], ensure_ascii=False)


@pytest.mark.parametrize("path", ["/api/v1/videos", "/__ormock/clock/advance"])
async def test_json_nested_too_deeply_is_a_400_that_says_so(mock, path):
    body = b"[" * 100_000 + b"]" * 100_000
    response = await mock.http.post(path, content=body, headers={**KEY, "content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "the request body is nested too deeply"
    assert (await mock.submit()).status_code == 202  # and the server goes on


async def test_bodies_in_flight_share_one_budget():
    """Two uploads at once against a 1 MB budget: the one that would go past it is answered 503
    with Retry-After at once, the other goes through; the budget is given back afterwards."""
    seen: list[int] = []

    async def inner(scope, receive, send):
        message = await receive()
        seen.append(len(message["body"]))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    limits = BodyLimits(inner, total=1024 * 1024)
    first_half = asyncio.Event()

    def upload(chunks: list[bytes], pause: asyncio.Event | None):
        messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]

        async def receive():
            if pause is not None and len(messages) == 1:
                first_half.set()
                await pause.wait()
            return messages.pop(0)

        return receive

    answers: dict[str, list[dict]] = {"slow": [], "second": []}

    def sender(name):
        async def send(message):
            answers[name].append(message)

        return send

    scope = {"type": "http", "method": "POST", "path": "/api/v1/videos", "headers": []}
    go_on = asyncio.Event()
    slow = asyncio.create_task(limits(scope, upload([b"x" * 600_000, b"x" * 100], go_on), sender("slow")))
    await first_half.wait()
    await limits(scope, upload([b"y" * 600_000], None), sender("second"))
    start = answers["second"][0]
    assert start["status"] == 503 and (b"retry-after", b"1") in start["headers"]
    assert json.loads(answers["second"][1]["body"])["error"]["message"].startswith("Too many large request bodies")
    go_on.set()
    await slow
    assert answers["slow"][0]["status"] == 200 and seen == [600_100]
    assert limits.in_flight == 0


@pytest.mark.parametrize("path", ["/api/v1/videos", "/__ormock/clock/advance"])
async def test_a_body_of_too_many_values_is_refused_before_it_is_parsed(mock, path):
    """What a body costs once parsed is bounded by what it holds, not only by its bytes: 250,000
    empty arrays (750 KB, some 20 MB once parsed) are a 413 that says why; the server goes on."""
    body = b"[" + b"[]," * 250_000 + b"[]]"
    response = await mock.http.post(path, content=body, headers={**KEY, "content-type": "application/json"})
    assert response.status_code == 413
    message = response.json()["error"]["message"]
    assert message == f"the request body holds too many values: at most {MAX_JSON_MARKS:,} arrays, objects and items"
    assert (await mock.submit()).status_code == 202


async def test_a_job_keeps_its_request_cut_to_a_bounded_shape(mock):
    """A job keeps only the pruned body of its submit, and /__ormock/jobs shows that."""
    image = "data:image/png;base64," + "A" * 1_000_000
    frames = [{"type": "image_url", "image_url": {"url": image}, "frame_type": "first_frame"}]
    assert (await mock.submit(prompt="animate", frame_images=frames, extra=list(range(500)))).status_code == 202
    (job,) = (await mock.http.get("/__ormock/jobs")).json()["data"]
    url = job["request"]["frame_images"][0]["image_url"]["url"]
    assert url.endswith(f"… ({len(image):,} characters)") and len(url) < JOURNAL_STRING + 40
    assert job["request"]["extra"][-1] == f"… ({500 - JOURNAL_ITEMS:,} more items)"
    assert job["request"]["prompt"] == "animate"
