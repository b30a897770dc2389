"""The benchmark harness runs end to end with tiny sizes and writes its report. Its figures are
not asserted: speed is measured and reported (docs/performance.md), never a test's pass or fail."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_benchmark_writes_a_complete_report(tmp_path):
    output = tmp_path / "performance.md"
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = output.read_text()
    for measure in (
        "poll throughput",
        "poll latency",
        "scale: latency",
        "scale: memory",
        "start-up",
        "timeline accuracy",
        "fast clock",
        "dashboard cost",
        "download",
    ):
        assert f"| {measure} |" in report, measure
    assert "- machine: " in report and "- command: `python bench/run.py --quick`" in report


def figures_of(script: str, *args: str) -> dict:
    """What a benchmark that prints one JSON object printed, run with tiny sizes."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def test_the_report_benchmark_drives_the_app_and_judges_it():
    figures = figures_of("report_bench.py", "--jobs", "20", "--polls", "2")
    assert figures["journal_entries"] == 20 * 3  # each job's submit and its two polls


def test_the_dashboard_benchmark_takes_and_lays_out_frames():
    figures = figures_of("dashboard_bench.py", "--jobs", "30", "--frames", "2")
    assert figures["open_jobs"] == 30
    assert figures["frames"] == 2


def test_the_poll_path_benchmark_polls_through_the_app():
    assert figures_of("poll_path.py", "--polls", "200", "--runs", "1")["polls_per_second"] > 0
