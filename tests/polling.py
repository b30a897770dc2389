"""Polling as a client does it, for the end-to-end tests: bounded by a count, never by a clock."""

from __future__ import annotations

import time

from openrouter import OpenRouter

from ormock.scenario.loader import TERMINAL


def poll_until_done(sdk: OpenRouter, job_id: str, limit: int = 5000, pause: float = 0.001) -> list[str]:
    """Every status the client saw, until the job ends."""
    seen = []
    for _ in range(limit):
        status = sdk.video_generation.get_generation(job_id=job_id).status
        seen.append(status)
        if status in TERMINAL:
            return seen
        time.sleep(pause)
    raise AssertionError(f"job {job_id} never ended: {seen[-5:]}")
