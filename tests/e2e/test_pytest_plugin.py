"""The pytest plugin, used by a small test module the way a user would."""

from __future__ import annotations

import textwrap

from support import SCENARIOS


def test_fixtures_marker_and_base_url_in_the_environment(pytester):
    pytester.makeini(
        textwrap.dedent(
            f"""
            [pytest]
            ormock_scenario = {SCENARIOS / "ci-fast.toml"}
            """
        )
    )
    pytester.makepyfile(
        textwrap.dedent(
            f"""
            import os
            import pytest
            from openrouter import OpenRouter

            def client():
                return OpenRouter(api_key="sk-or-test", server_url=os.environ["OPENROUTER_BASE_URL"])

            def test_fresh_server_with_the_session_scenario(ormock):
                assert os.environ["OPENROUTER_BASE_URL"] == ormock.base_url
                videos = client().video_generation
                job = videos.generate(model="google/veo-3.1", prompt="walk")
                assert [videos.get_generation(job_id=job.id).status for _ in range(6)] == (
                    ["pending"] * 2 + ["in_progress"] * 3 + ["completed"]
                )

            @pytest.mark.ormock(scenario="{SCENARIOS / "seedance.toml"}", clock="manual")
            def test_marker_picks_scenario_and_clock(ormock):
                videos = client().video_generation
                job = videos.generate(model="bytedance/seedance-2.0", prompt="golden retriever")
                ormock.advance(47)
                assert videos.get_generation(job_id=job.id).status == "completed"
                assert ormock.jobs()[0]["rule"] == "happy path"

            def test_session_server_one(ormock_session):
                client().video_generation.generate(model="google/veo-3.1", prompt="x")
                assert len(ormock_session.jobs()) == 1

            def test_session_server_two_starts_clean(ormock_session):
                assert ormock_session.jobs() == []
                client().video_generation.generate(model="google/veo-3.1", prompt="y")
                assert len(ormock_session.jobs()) == 1
            """
        )
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def test_unknown_marker_option_is_a_usage_error(pytester):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.ormock(speeed=3)
        def test_x(ormock):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(
        ["*@pytest.mark.ormock takes scenario, speed, clock, seed, client_checks, rules; not speeed*"]
    )
    assert result.ret != 0


def test_client_checks_fail_a_test_whose_client_broke_a_check(pytester):
    pytester.makepyfile(
        textwrap.dedent(
            """
            import httpx
            import pytest

            KEY = {"Authorization": "Bearer sk-or-plugin-0042"}

            @pytest.mark.ormock(clock="manual", client_checks="fail")
            def test_a_poller_that_hammers(ormock):
                job = httpx.post(ormock.base_url + "/videos", headers=KEY,
                                 json={"model": "google/veo-3.1", "prompt": "walk"}).json()
                for _ in range(3):
                    httpx.get(f"{ormock.base_url}/videos/{job['id']}", headers=KEY)

            @pytest.mark.ormock(clock="manual", client_checks="fail")
            def test_a_patient_poller(ormock):
                job = httpx.post(ormock.base_url + "/videos", headers=KEY,
                                 json={"model": "google/veo-3.1", "prompt": "walk"}).json()
                for _ in range(3):
                    ormock.advance(10)
                    polled = httpx.get(f"{ormock.base_url}/videos/{job['id']}", headers=KEY).json()
                    if polled["status"] == "completed":
                        httpx.get(f"{ormock.base_url}/videos/{job['id']}/content", headers=KEY)
                        break

            @pytest.mark.ormock(clock="manual")
            def test_without_the_option_nothing_is_judged(ormock):
                job = httpx.post(ormock.base_url + "/videos", headers=KEY,
                                 json={"model": "google/veo-3.1", "prompt": "walk"}).json()
                for _ in range(3):
                    httpx.get(f"{ormock.base_url}/videos/{job['id']}", headers=KEY)
            """
        )
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)  # the test's own failure, not an error at teardown
    result.stdout.fnmatch_lines(
        [
            "*_ test_a_poller_that_hammers _*",
            "*the client broke checks of the ormock client report:*",
            "*FAIL poll interval (sk-or-…0042, python-httpx/*): job gen-vid-*: polled 3 times, 2 of them within 10 s*"
            " ?requests 2, 3, 4?",  # each request once
        ]
    )


def test_the_markers_rules_script_jobs_on_both_fixtures_and_go_after_the_test(pytester):
    pytester.makeini(f"[pytest]\normock_scenario = {SCENARIOS / 'ci-fast.toml'}\n")
    pytester.makepyfile(
        textwrap.dedent(
            """
            import os
            import pytest
            from openrouter import OpenRouter

            FAILS = '''
            [[rule]]
            name = "policy"
            match = { prompt = "dog" }
            timeline = [{ status = "failed", error = "content policy" }]
            '''
            BUSY = {"name": "busy once", "uses": 1, "submit": {"respond": 429}}

            def ending(prompt):
                videos = OpenRouter(api_key="sk-or-test", server_url=os.environ["OPENROUTER_BASE_URL"]).video_generation
                job = videos.generate(model="google/veo-3.1", prompt=prompt)
                for _ in range(20):
                    polled = videos.get_generation(job_id=job.id)
                    if polled.status in ("completed", "failed"):
                        return polled.status, polled.error

            @pytest.mark.ormock(rules=FAILS)
            def test_own_server(ormock):
                assert ending("a dog") == ("failed", "content policy")
                assert ending("a cat")[0] == "completed"
                assert [r["name"] for r in ormock.rules()][0] == "policy"

            @pytest.mark.ormock(rules=FAILS)
            def test_session_server_one(ormock_session):
                assert ending("a dog") == ("failed", "content policy")

            def test_session_server_two_has_no_rules_left(ormock_session):
                assert ending("a dog")[0] == "completed"
                assert all(r["source"] != "runtime" for r in ormock_session.rules())

            @pytest.mark.ormock(rules=[BUSY])
            def test_session_server_three(ormock_session):
                from openrouter import errors
                videos = OpenRouter(api_key="sk-or-test", server_url=os.environ["OPENROUTER_BASE_URL"]).video_generation
                with pytest.raises(errors.OpenRouterError):
                    videos.generate(model="google/veo-3.1", prompt="x")
                assert ending("x")[0] == "completed"

            @pytest.mark.ormock(scenario="first-poll")
            def test_session_server_scenario_for_one_test(ormock_session):
                assert ormock_session.rules()[0]["source"] == "PUT /__ormock/scenario"

            def test_session_server_scenario_is_undone(ormock_session):
                assert ormock_session.rules()[0]["source"].endswith("ci-fast.toml")

            @pytest.mark.ormock(rules={"name": "bad", "timeline": [{"status": "in-progress", "for": 1}]})
            def test_bad_rules_fail_the_test(ormock):
                pass

            @pytest.mark.ormock(clock="manual")
            def test_server_settings_on_the_session_server_are_refused(ormock_session):
                pass
            """
        )
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.stdout.fnmatch_lines(
        [
            "@pytest.mark.ormock(rules=...): the rules were not added: rule*.status: `in-progress` is not one of*",
            "*ormock(clock=...) cannot apply to ormock_session*",
        ]
    )
    result.assert_outcomes(passed=6, errors=2)
