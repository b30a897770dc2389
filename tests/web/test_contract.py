"""A schemathesis run against a live ormock, using the official OpenAPI subset: no 5xx, every
answer conforms, every fuzzed bad input gets a JSON 4xx. The few documented differences of the
spec from the service are configured in tests/contract/schemathesis.toml and listed in the
README's compatibility notes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from openapi import SPEC_PATH
from server import running

HERE = Path(__file__).parents[1] / "contract"


def test_schemathesis_finds_no_issues():
    with running(HERE / "scenario.toml") as served:
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                "from schemathesis.cli import schemathesis; schemathesis()",
                "--config-file",
                str(HERE / "schemathesis.toml"),
                "run",
                str(SPEC_PATH),
                "--url",
                served.base_url,
                "--header",
                "Authorization: Bearer sk-or-contract",
                "--max-examples",
                "40",
                "--seed",
                "20261122",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
        )
        assert result.returncode == 0, result.stdout[-6000:]
        summary = result.stdout.strip().splitlines()[-1]
        assert "failure" not in summary and "error" not in summary, result.stdout[-6000:]
        assert re.search(r"(\d+) generated, \1 passed", result.stdout), result.stdout[-3000:]
        assert not any(" 500 " in line or " 502 " in line for line in served.stdout), "a 5xx reached the log"
