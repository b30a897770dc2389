"""The client report rendered: a one-line summary, Markdown, JUnit XML, and the failures a test
run fails on. Everything a client sent is escaped here, whatever the format."""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import quoteattr

from .checks import RANK


def failures(report: dict[str, Any], at_least: str = "fail") -> list[str]:
    """One line per broken check at `at_least` or worse, with its first evidence."""
    lines = []
    for client in report["clients"]:
        who = _who(client["client"])
        for check in client["checks"]:
            if RANK[check["verdict"]] >= RANK[at_least]:
                first = check["evidence"][0] if check["evidence"] else {}
                job = f"job {first.get('job')}: " if first.get("job") else ""
                seqs = ", ".join(str(s) for s in first.get("requests", []))
                where = f" [requests {seqs}]" if seqs else ""
                lines.append(
                    f"{check['verdict'].upper()} {check['check']} ({who}): {job}{first.get('summary', '')}{where}"
                )
    return lines


def _who(client: dict[str, str]) -> str:
    parts = [client["key"]]
    if client["test_id"]:
        parts.append(f"test id {client['test_id']}")
    if client["user_agent"]:
        parts.append(client["user_agent"])
    return ", ".join(parts)


def summary(report: dict[str, Any]) -> str:
    """The report in a few lines for a terminal."""
    if not report["clients"]:
        return "client report: no client sent a request"
    lines = [
        f"client report: {len(report['clients'])} client(s); checks: {report['counts']['pass']} pass, "
        f"{report['counts']['warn']} warn, {report['counts']['fail']} fail"
    ]
    for client in report["clients"]:
        lines.append(f"  {client['verdict'].upper():4}  {_who(client['client'])}")
    lines += ["  " + line for line in failures(report, "warn")]
    return "\n".join(lines)


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Client report",
        "",
        f"Checks: {report['counts']['pass']} pass, {report['counts']['warn']} warn, "
        f"{report['counts']['fail']} fail. What each check means: `ormock docs client-report`.",
        "",
    ]
    for client in report["clients"]:
        lines += [
            f"## {client['verdict'].upper()}: {_who(client['client'])}",
            "",
            "| check | verdict | evidence |",
            "| --- | --- | --- |",
        ]
        for check in client["checks"]:
            evidence = "<br>".join(
                f"{('job `' + e['job'] + '`: ') if e['job'] else ''}{e['summary']} (requests {e['requests']})".replace(
                    "|", "\\|"
                )
                for e in check["evidence"]
            )
            lines.append(f"| {check['check']} | {check['verdict']} | {evidence} |")
        lines.append("")
    return "\n".join(lines)


def junit(report: dict[str, Any]) -> str:
    """JUnit XML: a test suite per client, a test case per check; a `fail` is a failure, a `warn`
    passes with its evidence in system-out."""
    suites = []
    total = sum(len(c["checks"]) for c in report["clients"])
    failed = sum(1 for c in report["clients"] for k in c["checks"] if k["verdict"] == "fail")
    for client in report["clients"]:
        name = _who(client["client"])
        cases = []
        for check in client["checks"]:
            text = "\n".join(
                f"{('job ' + e['job'] + ': ') if e['job'] else ''}{e['summary']} (requests {e['requests']})"
                for e in check["evidence"]
            )
            case = f'    <testcase classname={quoteattr("ormock." + name)} name={quoteattr(check["check"])} time="0"'
            if check["verdict"] == "fail":
                case += (
                    f">\n      <failure message={quoteattr(text.splitlines()[0] if text else check['check'])}"
                    f' type="ormock.client-check">{_xml(text)}</failure>\n    </testcase>'
                )
            elif check["verdict"] == "warn":
                case += f">\n      <system-out>{_xml('warn: ' + text)}</system-out>\n    </testcase>"
            else:
                case += " />"
            cases.append(case)
        fails = sum(1 for k in client["checks"] if k["verdict"] == "fail")
        suites.append(
            f'  <testsuite name={quoteattr(name)} tests="{len(client["checks"])}" failures="{fails}" '
            f'errors="0" skipped="0" time="0">\n' + "\n".join(cases) + "\n  </testsuite>"
        )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="ormock client report" tests="{total}" '
        f'failures="{failed}" errors="0" time="0">\n' + "\n".join(suites) + "\n</testsuites>\n"
    )


def _xml(text: str) -> str:
    from xml.sax.saxutils import escape

    return escape(text)


def render(report: dict[str, Any], suffix: str) -> str:
    """The report as the file extension asks: .json, .xml (JUnit) or .md."""
    if suffix == ".xml":
        return junit(report)
    if suffix == ".md":
        return markdown(report)
    return json.dumps(report, indent=2)
