"""GET /api/v1/videos/{id}: the job object, and timelines played out on a manual clock."""

from __future__ import annotations

from support import KEY


async def test_time_based_timeline_advances_exactly_on_schedule(mock):
    # happy path: pending 2s, in_progress 45s, completed
    job_id = await mock.job_id(prompt="A Golden Retriever on a beach")
    assert await mock.status(job_id) == "pending"
    mock.clock.advance(1.999)
    assert await mock.status(job_id) == "pending"
    mock.clock.advance(0.001)
    assert await mock.status(job_id) == "in_progress"
    mock.clock.advance(44.999)
    assert await mock.status(job_id) == "in_progress"
    mock.clock.advance(0.001)
    assert await mock.status(job_id) == "completed"


async def test_time_steps_end_on_schedule_even_when_nobody_polls(mock):
    job_id = await mock.job_id(prompt="golden retriever")
    mock.clock.advance(3600)
    assert await mock.status(job_id) == "completed"


async def test_pending_and_in_progress_carry_only_the_required_keys(mock):
    job_id = await mock.job_id(prompt="golden retriever")
    body = (await mock.poll(job_id)).json()
    assert body == {"id": job_id, "polling_url": f"http://ormock.test/api/v1/videos/{job_id}", "status": "pending"}
    mock.clock.advance(2)
    body = (await mock.poll(job_id)).json()
    assert set(body) == {"id", "polling_url", "status"}


async def test_completed_job_carries_generation_id_urls_and_usage(mock):
    job_id = await mock.job_id(prompt="golden retriever", duration=8, resolution="720p", aspect_ratio="16:9")
    mock.clock.advance(47)
    body = (await mock.poll(job_id)).json()
    assert body["status"] == "completed"
    assert body["generation_id"] == job_id
    assert body["unsigned_urls"] == [f"http://ormock.test/api/v1/videos/{job_id}/content?index=0"]
    # Seedance prices video tokens: 1280 x 720 x 24 fps x 8 s / 1024 tokens at $0.000007
    assert body["usage"] == {"cost": round(1280 * 720 * 24 * 8 / 1024 * 0.000007, 6), "is_byok": False}
    assert "error" not in body


async def test_poll_count_steps_hold_for_exactly_that_many_polls(mock):
    # provider failure: pending 2s, in_progress for 3 polls, failed
    job_id = await mock.job_id(prompt="this should FAIL")
    assert await mock.status(job_id) == "pending"
    mock.clock.advance(2)
    assert [await mock.status(job_id) for _ in range(3)] == ["in_progress"] * 3
    body = (await mock.poll(job_id)).json()
    assert body["status"] == "failed"
    assert body["error"] == "Provider returned error: content policy violation"
    assert not {"usage", "unsigned_urls", "generation_id"} & set(body)


async def test_poll_count_steps_do_not_depend_on_the_clock(mock):
    job_id = await mock.job_id(prompt="fail")
    mock.clock.advance(10_000)
    assert [await mock.status(job_id) for _ in range(4)] == ["in_progress"] * 3 + ["failed"]


async def test_cancelled_and_expired_carry_the_services_errors(mock):
    cancelled = await mock.job_id(prompt="please cancel")
    expired = await mock.job_id(prompt="let it expire")
    mock.clock.advance(5)
    assert (await mock.poll(cancelled)).json()["error"] == "Job was cancelled"
    assert await mock.status(expired) == "pending"
    mock.clock.advance(3600)
    body = (await mock.poll(expired)).json()
    assert (body["status"], body["error"]) == ("expired", "Job exceeded maximum time to live")


async def test_a_step_can_answer_a_poll_with_an_error_then_the_job_goes_on(mock):
    # key revoked mid-job: in_progress 2 polls, the third poll 401, in_progress 1 poll, completed
    job_id = await mock.job_id(prompt="revoked")
    assert [await mock.status(job_id) for _ in range(2)] == ["in_progress", "in_progress"]
    third = await mock.poll(job_id)
    assert third.status_code == 401
    assert third.json() == {"error": {"code": 401, "message": "User not found."}}
    assert await mock.status(job_id) == "in_progress"
    assert await mock.status(job_id) == "completed"


async def test_error_step_held_for_a_time_and_retry_after(make_mock):
    mock = make_mock(
        """
        [default]
        timeline = [
          { status = "in_progress", for = "5s" },
          { respond = 503, for = "10s", retry_after = 3 },
          { status = "completed" },
        ]
        """
    )
    job_id = await mock.job_id()
    assert await mock.status(job_id) == "in_progress"
    mock.clock.advance(5)
    for _ in range(3):
        response = await mock.poll(job_id)
        assert response.status_code == 503
        assert response.headers["retry-after"] == "3"
    mock.clock.advance(10)
    assert await mock.status(job_id) == "completed"


async def test_rules_match_in_order_and_unmatched_submits_get_the_default(mock):
    first = await mock.job_id(prompt="golden retriever that will fail")  # "happy path" comes first
    other = await mock.job_id(prompt="a quiet harbour")
    assert mock.store.get(first).rule.name == "happy path"
    assert mock.store.get(other).rule.name == "default"
    mock.clock.advance(2)
    assert await mock.status(other) == "in_progress"
    mock.clock.advance(10)
    assert await mock.status(other) == "completed"


async def test_builtin_default_is_a_plain_success_after_a_few_seconds(make_mock):
    mock = make_mock("")
    job_id = await mock.job_id()
    assert await mock.status(job_id) == "pending"
    mock.clock.advance(10)
    assert await mock.status(job_id) == "completed"


async def test_unknown_job_is_404(mock):
    response = await mock.poll("gen-vid-1-AAAAAAAAAAAAAAAAAAAA")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Video generation job gen-vid-1-AAAAAAAAAAAAAAAAAAAA not found"


async def test_poll_needs_a_key(mock):
    job_id = await mock.job_id()
    response = await mock.poll(job_id, headers={})
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Missing Authentication header"
    # a refused poll does not count toward the job's polls
    assert mock.store.get(job_id).polls == 0


async def test_polls_are_counted(mock):
    job_id = await mock.job_id()
    for _ in range(4):
        await mock.poll(job_id)
    assert mock.store.get(job_id).polls == 4


async def test_wrong_methods_and_unknown_paths_get_json_errors(mock):
    job_id = await mock.job_id()
    response = await mock.http.delete(f"/api/v1/videos/{job_id}", headers=KEY)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == 405
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    response = await mock.http.get("/api/v1/nothing-here", headers=KEY)
    assert response.status_code == 404
    assert response.json() == {"error": {"code": 404, "message": "Resource not found"}}
