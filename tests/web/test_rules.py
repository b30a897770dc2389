"""Scripting jobs at runtime over the control API (docs/testing.md, "Rules at runtime"): rules
added, listed and removed per test id, rules that retire after `uses`, and a test id's own
scenario; each through HTTP on the in-process app."""

from __future__ import annotations

import pytest
from support import KEY, SEEDANCE

from ormock.service.store import MAX_ADDED_RULES

FAILS = """
[[rule]]
name = "policy"
match = { prompt = "lighthouse" }
timeline = [{ status = "in_progress", polls = 1 }, { status = "failed", error = "content policy" }]
"""


def as_test(test_id: str | None) -> dict[str, str]:
    return {**KEY, "X-Test-Id": test_id} if test_id else dict(KEY)


async def submit(mock, test_id: str | None, prompt: str = "a lighthouse at dusk"):
    body = {"model": SEEDANCE, "prompt": prompt}
    return await mock.http.post("/api/v1/videos", json=body, headers=as_test(test_id))


async def ending(mock, test_id: str | None, prompt: str = "a lighthouse at dusk") -> dict:
    """Submits, then polls (moving the clock) until the job ends: its last job object."""
    response = await submit(mock, test_id, prompt)
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    for _ in range(20):
        job = (await mock.http.get(f"/api/v1/videos/{job_id}", headers=as_test(test_id))).json()
        if job["status"] in ("completed", "failed", "cancelled", "expired"):
            return job
        mock.clock.advance(30)
    raise AssertionError(f"job {job_id} never ended: {job}")


async def add(mock, body, test_id: str | None = None, content_type: str = "application/toml"):
    headers = {"X-Test-Id": test_id} if test_id else {}
    if isinstance(body, str):
        return await mock.http.post("/__ormock/rules", content=body, headers={**headers, "Content-Type": content_type})
    return await mock.http.post("/__ormock/rules", json=body, headers=headers)


async def listed(mock, test_id: str | None = None) -> list[dict]:
    headers = {"X-Test-Id": test_id} if test_id else {}
    response = await mock.http.get("/__ormock/rules", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def test_a_rule_added_for_one_test_id_scripts_its_jobs_only(make_mock):
    mock = make_mock()
    response = await add(mock, FAILS, "a")
    assert response.status_code == 201, response.text
    [loaded] = response.json()["data"]
    assert loaded["name"] == "policy" and loaded["source"] == "runtime"
    assert loaded["match"] == {"prompt": "lighthouse"}
    assert loaded["timeline"] == [
        {"status": "in_progress", "polls": 1},
        {"status": "failed", "error": "content policy"},
    ]

    failed = await ending(mock, "a")
    assert (failed["status"], failed["error"]) == ("failed", "content policy")
    assert (await ending(mock, "b"))["status"] == "completed"  # the file's default
    assert (await ending(mock, None))["status"] == "completed"  # no test id: its own namespace

    rules = await listed(mock, "a")
    assert [(r["name"], r["source"], r["matched"]) for r in rules] == [
        ("policy", "runtime", 1),
        ("default", "built-in default", 0),
    ]
    assert [r["source"] for r in await listed(mock, "b")] == ["built-in default"]

    await mock.http.post("/__ormock/reset", headers={"X-Test-Id": "a"})
    assert [r["name"] for r in await listed(mock, "a")] == ["default"]
    assert (await ending(mock, "a"))["status"] == "completed"


async def test_runtime_rules_come_before_the_files_and_the_latest_first(make_mock):
    mock = make_mock(file="seedance.toml")
    file_rules = [r["name"] for r in await listed(mock, "t")]
    await add(mock, {"rules": [{"name": "first", "timeline": [{"status": "cancelled"}]}]}, "t")
    await add(mock, {"rules": [{"name": "second", "timeline": [{"status": "expired"}]}]}, "t")
    rules = await listed(mock, "t")
    assert [r["name"] for r in rules] == ["second", "first", *file_rules]
    assert rules[-1]["name"] == "default"
    assert all(r["source"].endswith("seedance.toml") for r in rules[2:])
    assert (await ending(mock, "t"))["status"] == "expired"

    # the same name again replaces the rule, and puts it first
    await add(mock, {"rules": [{"name": "first", "timeline": [{"status": "failed"}]}]}, "t")
    assert [r["name"] for r in await listed(mock, "t")][:2] == ["first", "second"]
    assert (await ending(mock, "t"))["status"] == "failed"


async def test_a_rule_limited_to_one_use_matches_exactly_one_submit(make_mock):
    mock = make_mock()
    toml = '[[rule]]\nname = "busy once"\nuses = 1\nsubmit = { respond = 429, retry_after = 3 }\n'
    assert (await add(mock, toml, "t")).status_code == 201
    refused = await submit(mock, "t")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "3"
    for _ in range(3):
        assert (await submit(mock, "t")).status_code == 202
    [rule, default] = await listed(mock, "t")
    assert (rule["matched"], rule["uses"], rule["retired"]) == (1, 1, True)
    assert default["matched"] == 3


async def test_uses_works_in_a_scenario_file_too(make_mock):
    mock = make_mock('[[rule]]\nname = "fails twice"\nuses = 2\ntimeline = [{ status = "failed" }]\n')
    endings = [(await ending(mock, None))["status"] for _ in range(4)]
    assert endings == ["failed", "failed", "completed", "completed"]
    await mock.http.post("/__ormock/reset")
    assert (await ending(mock, None))["status"] == "failed"  # counted again from the reset


async def test_an_invalid_rule_answers_400_naming_every_problem_and_adds_nothing(make_mock):
    mock = make_mock()
    await add(mock, FAILS, "t")
    bad = """
[[rule]]
name = "fine"
timeline = [{ status = "completed" }]

[[rule]]
name = "broken"
match = { model = "openai/sora-9" }
timeline = [{ status = "in_progres", for = "2s" }, { status = "completed" }]
uses = 0
"""
    response = await add(mock, bad, "t")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 400
    assert error["message"].startswith("the rules were not added: ")
    problems = error["metadata"]["problems"]
    keys = {p["key"] for p in problems}
    assert {"rule[2].timeline[1].status", "rule[2].uses"} <= keys
    status = next(p for p in problems if p["key"] == "rule[2].timeline[1].status")
    assert (status["line"], status["hint"]) == (9, "did you mean `in_progress`?")
    assert [r["name"] for r in await listed(mock, "t")] == ["policy", "default"]

    # problems found once the tables are sound come with their places too
    response = await add(mock, bad.replace('"in_progres"', '"in_progress"').replace("uses = 0", ""), "t")
    problems = response.json()["error"]["metadata"]["problems"]
    [problem] = [p for p in problems if p["severity"] == "error"]
    assert problem["key"] == "rule[2].match.model"
    assert problem["line"] == 8
    assert [r["name"] for r in await listed(mock, "t")] == ["policy", "default"]


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (
            '[[rule]]\nname = "x"\ntimeline = [{ status = "completed" }]\n[server]\napi_keys = ["k"]\n',
            "application/toml",
            "only [[rule]] tables",
        ),
        ("# nothing\n", "application/toml", "no rules to add"),
        ("name = 'x'\n", "application/toml", "only [[rule]] tables"),
        ("[[rule]\n", "application/toml", "not valid TOML"),
        ('{"rule": []}', "application/json", 'a JSON body must be {"rules"'),
        ('{"rules": [{"name": "x"}], "more": 1}', "application/json", 'holds only "rules"'),
        ('{"rules": [{"nmae": "x"}]}', "application/json", "unknown key `nmae`"),
        ('{"rules": [{"timeline": [{"status": "completed"}]}]}', "application/json", "needs a `name`"),
        ('{"rules": [{"name": "default"}]}', "application/json", "already taken"),
        ('{"rules": [{"name": "x", "match": {"prompt_regex": "(a)\\\\1"}}]}', "application/json", "RE2"),
        ("\xff\xfe", "application/toml", "UTF-8"),
    ],
)
async def test_bad_rule_bodies_get_a_clear_400(make_mock, body, content_type, message):
    mock = make_mock()
    content = body.encode("latin-1") if body.startswith("\xff") else body
    response = await mock.http.post("/__ormock/rules", content=content, headers={"Content-Type": content_type})
    assert response.status_code == 400
    assert message in response.json()["error"]["message"], response.text
    assert [r["name"] for r in await listed(mock)] == ["default"]


async def test_rules_in_json_take_the_same_keys(make_mock):
    mock = make_mock()
    body = {
        "rules": [
            {
                "name": "key revoked",
                "match": {"prompt": "lighthouse"},
                "timeline": [
                    {"status": "in_progress", "polls": 1},
                    {"respond": 401, "message": "revoked"},
                    {"status": "completed"},
                ],
            }
        ]
    }
    assert (await add(mock, body, "t")).status_code == 201
    job_id = (await submit(mock, "t")).json()["id"]
    answers = [(await mock.http.get(f"/api/v1/videos/{job_id}", headers=as_test("t"))).status_code for _ in range(3)]
    assert answers == [200, 401, 200]


async def test_removing_rules_one_or_all(make_mock):
    mock = make_mock()
    body = {"rules": [{"name": n, "match": {"prompt": n}, "timeline": [{"status": "failed"}]} for n in ("a/b", "c")]}
    await add(mock, body, "t")
    job_id = (await submit(mock, "t", prompt="c")).json()["id"]

    response = await mock.http.delete("/__ormock/rules/a%2Fb", headers={"X-Test-Id": "t"})
    assert response.json() == {"removed": ["a/b"]}
    assert [r["name"] for r in await listed(mock, "t")] == ["c", "default"]
    missing = await mock.http.delete("/__ormock/rules/a%2Fb", headers={"X-Test-Id": "t"})
    assert missing.status_code == 404 and "no rule named 'a/b'" in missing.json()["error"]["message"]

    assert (await mock.http.delete("/__ormock/rules", headers={"X-Test-Id": "t"})).json() == {"removed": ["c"]}
    assert [r["name"] for r in await listed(mock, "t")] == ["default"]
    # a job keeps the rule it matched
    mock.clock.advance(1)
    job = (await mock.http.get(f"/api/v1/videos/{job_id}", headers=as_test("t"))).json()
    assert job["status"] == "failed"


async def test_a_test_id_may_add_a_bounded_number_of_rules(make_mock):
    mock = make_mock()
    many = {"rules": [{"name": f"r{i}", "match": {"prompt": f"p{i}"}} for i in range(MAX_ADDED_RULES)]}
    assert (await add(mock, many, "t")).status_code == 201
    one_more = await add(mock, {"rules": [{"name": "extra", "match": {"prompt": "x"}}]}, "t")
    assert one_more.status_code == 400
    assert f"at most {MAX_ADDED_RULES} rules" in one_more.json()["error"]["message"]
    assert (await add(mock, {"rules": [{"name": "r0", "match": {"prompt": "y"}}]}, "t")).status_code == 201


async def test_a_pattern_that_would_take_exponential_time_runs_in_linear_time(make_mock):
    mock = make_mock()
    body = {"rules": [{"name": "nested", "match": {"prompt_regex": "^(a+)+$"}, "timeline": [{"status": "failed"}]}]}
    assert (await add(mock, body, "t")).status_code == 201
    # a prompt that makes a backtracking engine take ~2^n steps: RE2 answers at once
    assert (await ending(mock, "t", prompt="a" * 5000 + "!"))["status"] == "completed"
    assert (await ending(mock, "t", prompt="a" * 5000))["status"] == "failed"


async def test_adding_and_removing_rules_is_journalled_for_its_test_id(make_mock):
    mock = make_mock()
    await add(mock, FAILS, "t")
    await mock.http.delete("/__ormock/rules/policy", headers={"X-Test-Id": "t"})
    entries = (await mock.http.get("/__ormock/requests", headers={"X-Test-Id": "t"})).json()["data"]
    assert [(e["kind"], e["note"], e["test_id"]) for e in entries] == [
        ("control", "added rule policy", "t"),
        ("control", "removed rule policy", "t"),
    ]
    assert (await mock.http.get("/__ormock/report", params={"test_id": "t"})).status_code == 200


async def test_a_test_id_may_run_its_own_scenario(make_mock):
    mock = make_mock(file="seedance.toml")
    own = """
[server]
api_keys = ["sk-or-mine"]

[default]
timeline = [{ status = "cancelled" }]

[[rule]]
name = "ok"
match = { prompt = "fine" }
timeline = [{ status = "completed" }]
"""
    response = await mock.http.put("/__ormock/scenario", content=own, headers={"X-Test-Id": "w1"})
    assert response.status_code == 200, response.text
    shown = (await mock.http.get("/__ormock/scenario", headers={"X-Test-Id": "w1"})).json()
    assert shown["own"] is True and shown["text"] == own

    assert (await submit(mock, "w1")).status_code == 401  # its own keys
    mine = {"Authorization": "Bearer sk-or-mine", "X-Test-Id": "w1"}
    job = await mock.http.post("/api/v1/videos", json={"model": SEEDANCE, "prompt": "x"}, headers=mine)
    polled = await mock.http.get(f"/api/v1/videos/{job.json()['id']}", headers=mine)
    assert polled.json()["status"] == "cancelled"
    assert [r["name"] for r in await listed(mock, "w1")] == ["ok", "default"]
    # another test id still runs the server's file
    assert (await submit(mock, "w2")).status_code == 202
    assert (await mock.http.get("/__ormock/scenario", headers={"X-Test-Id": "w2"})).json()["own"] is False

    bad = await mock.http.put("/__ormock/scenario", content="[default]\ntimelin = []\n", headers={"X-Test-Id": "w1"})
    assert bad.status_code == 400
    assert bad.json()["error"]["metadata"]["problems"][0]["key"] == "default.timelin"

    await mock.http.post("/__ormock/reset", headers={"X-Test-Id": "w1"})
    assert (await mock.http.get("/__ormock/scenario", headers={"X-Test-Id": "w1"})).json()["own"] is False
    assert (await submit(mock, "w1")).status_code == 202


async def test_a_test_ids_scenario_reads_content_only_from_the_servers_folder(make_mock, tmp_path):
    mock = make_mock(file="seedance.toml")
    own = '[default]\ntimeline = [{ status = "completed", content = "../../../../../../etc/hostname" }]\n'
    response = await mock.http.put("/__ormock/scenario", content=own, headers={"X-Test-Id": "w"})
    assert response.status_code == 400
    assert "outside the scenario's folder" in response.json()["error"]["message"]
    # nor a catalogue: a scenario that came over the network reads nothing else on the machine
    for catalogue in ("/etc/passwd", "../../../../../../etc/passwd"):
        own = f'catalogue = "{catalogue}"\n'
        response = await mock.http.put("/__ormock/scenario", content=own, headers={"X-Test-Id": "w"})
        assert response.status_code == 400
        assert "must be inside the scenario's folder" in response.json()["error"]["message"]


async def test_a_scripted_401_without_a_message_says_what_the_service_says_to_a_refused_key(make_mock):
    mock = make_mock(
        '[[rule]]\nname = "revoked"\ntimeline = [{ status = "completed" }]\ndownload = { respond = 401 }\n'
    )
    job_id = await mock.job_id()
    await mock.poll(job_id)
    refused = await mock.download(job_id)
    assert (refused.status_code, refused.json()["error"]["message"]) == (401, "User not found.")
    keyless = await mock.http.get(f"/api/v1/videos/{job_id}")
    assert keyless.json()["error"]["message"] == "Missing Authentication header"  # a real missing key
