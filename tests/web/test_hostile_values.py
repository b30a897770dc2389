"""Values a careless or hostile client (or catalogue, or scenario) sends that once made a 500 with
a traceback, or reached a person raw: each is now an answer in the service's envelope, or escaped."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from support import KEY

from ormock import ScenarioError, parse_scenario
from ormock.scenario import catalogue

ANY_MODEL = '[[model]]\nid = "any/model"\n[default]\ntimeline = [{ status = "completed" }]\n'


async def completed_job(mock) -> str:
    job_id = await mock.job_id()
    await mock.http.post("/__ormock/clock/advance", json={"seconds": 100})
    return job_id


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("signature=%C3%A9&index=0&expires=1", 403),  # compare_digest refused non-ASCII: a 500
        ("index=%C2%B2", 400),  # isdigit() took ², int() did not
        ("signature=abc&index=0&expires=%C2%B2", 403),
        ("index=" + "9" * 5000, 400),
    ],
)
async def test_download_query_values_are_answered_not_crashed_on(mock, query, status):
    job_id = await completed_job(mock)
    answer = await mock.http.get(f"/api/v1/videos/{job_id}/content?{query}", headers=KEY)
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == status


@pytest.mark.parametrize("query", ["since=%C2%B2", "limit=%C2%B2", "offset=%C2%B2"])
async def test_control_api_numbers_in_other_scripts_are_a_400(mock, query):
    path = "/__ormock/requests" if query.startswith("since") else "/__ormock/jobs"
    answer = await mock.http.get(f"{path}?{query}")
    assert answer.status_code == 400
    assert "\\u00b2" in answer.text  # echoed escaped


@pytest.mark.parametrize(
    ("field", "raw", "message"),
    [
        ("size", b'"' + b"9" * 5000 + b'x720"', "size must be WIDTHxHEIGHT"),
        ("duration", b"1" + b"0" * 400, "duration must be at most 1000000 seconds"),
    ],
)
async def test_huge_numbers_in_a_submit_are_a_400(make_mock, field, raw, message):
    mock = make_mock(ANY_MODEL)
    body = b'{"model": "any/model", "prompt": "x", "' + field.encode() + b'": ' + raw + b"}"
    answer = await mock.http.post("/api/v1/videos", content=body, headers={**KEY, "content-type": "application/json"})
    assert answer.status_code == 400
    assert answer.json()["error"]["message"].startswith(message)
    assert len(answer.text) < 400


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000/__ormock/reset", "http://localhost:1/%5F%5Formock/reset", "https://x.test/__ormock/"]
)
async def test_a_callback_to_an_ormock_control_api_is_refused(mock, url):
    """Deliveries carry no admin token: a callback at /__ormock/reset would wipe every namespace."""
    answer = await mock.submit(callback_url=url)
    assert answer.status_code == 400
    assert "must not point at ormock's control API" in answer.json()["error"]["message"]


def test_a_scenario_with_a_control_api_webhook_url_is_refused():
    with pytest.raises(ScenarioError, match="control API"):
        parse_scenario('[webhooks]\nurl = "http://127.0.0.1:8000/__ormock/reset"\n')


def test_toml_nested_too_deeply_is_a_problem_not_a_traceback(tmp_path):
    deep = tmp_path / "deep.toml"
    deep.write_text("x = " + "[" * 3000 + "]" * 3000 + "\n")
    for args in (("validate", str(deep)), ("validate", "--format", "json", str(deep))):
        done = subprocess.run([sys.executable, "-m", "ormock", *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stdout + done.stderr
        assert "nested too deeply" in done.stdout


async def test_a_hostile_catalogues_sets_are_quoted_in_part(make_mock):
    sizes = [f"{n}x{n}" for n in range(2, 200_000, 2)]
    mock = make_mock(f'[[model]]\nid = "wide/model"\nsupported_sizes = {json.dumps(sizes)}\n[default]\n')
    answer = await mock.submit(model="wide/model", size="1x1")
    assert answer.status_code == 400
    message = answer.json()["error"]["message"]
    assert len(message) < 1000 and message.endswith(f"… ({len(sizes) - 20} more)")


def test_models_diff_shows_a_hostile_listing_escaped():
    listing = [{"id": "evil/\x1b]0;pwned\x07model", "name": "\u202eeman", "supported_durations": [5]}]
    lines = catalogue.diff(catalogue.builtin(), catalogue.from_listing(listing))
    added = next(line for line in lines if line.startswith("+ "))
    assert "\x1b" not in added and "\u202e" not in added
    assert "\\x1b" in added and "\\u202e" in added


async def test_the_jobs_listing_redacts_a_callback_urls_secrets(mock):
    url = "http://user:hunter2@127.0.0.1:9/services/T0AB12CD3/Zh9sBkdLoMpCQ2dLa6XkRjmS?jwt=abc.def#frag"
    assert (await mock.submit(callback_url=url)).status_code == 202
    (job,) = (await mock.http.get("/__ormock/jobs")).json()["data"]
    shown = job["request"]["callback_url"]
    for secret in ("hunter2", "Zh9sBkdLoMpCQ2dLa6XkRjmS", "abc.def", "frag"):
        assert secret not in shown, shown
    assert shown.startswith("http://[redacted]@127.0.0.1:9/services/T0AB12CD3/[redacted]?jwt=[redacted]")


def test_a_short_key_is_shown_as_a_fingerprint_that_tells_keys_apart():
    from ormock import safe

    assert safe.key("k1") != safe.key("k2")
    assert safe.key("k1").startswith("(short key #") and "k1" not in safe.key("k1")
    assert safe.key("sk-or-v1-abcdefgh1234") == "sk-or-…1234"
