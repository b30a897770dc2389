"""Every ormock measurement in one go, written to docs/performance.md.

    python bench/run.py             # the full run (a few minutes)
    python bench/run.py --quick     # tiny sizes: checks the harness, figures mean little

Timings are ratios against references measured in the same run (a bare Hypercorn app answering
the same bytes; ormock itself at a small scale), because absolute times drift between machines.
The load generator runs in its own process.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import pty
import re
import select
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable
KEY = {"Authorization": "Bearer sk-or-bench"}
SERVERS = "<!-- servers: written by bench/compare.py -->"

LIVE = """
[default]
timeline = [{ status = "in_progress", for = "10h" }, { status = "completed" }]
"""


@dataclass
class Sizes:
    seconds: float  # per throughput/latency measurement
    scale: tuple[int, ...]  # live job counts
    download_mb: int
    repeats: int


FULL = Sizes(seconds=5.0, scale=(100, 10_000, 100_000), download_mb=50, repeats=3)
QUICK = Sizes(seconds=0.5, scale=(10, 200), download_mb=2, repeats=1)


@dataclass
class Server:
    proc: subprocess.Popen
    url: str  # the API root, ending in /api/v1
    log: Path | None = None
    tty: int | None = None
    drained: list[bytes] = field(default_factory=list)

    def rss_kb(self, key: str = "VmRSS") -> int:
        text = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(rf"{key}:\s+(\d+) kB", text).group(1))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        if self.tty is not None:
            os.close(self.tty)


def _first_line(path: Path, limit: float = 30) -> str:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        text = path.read_text() if path.exists() else ""
        if "\n" in text:
            return text.split("\n", 1)[0].strip()
        time.sleep(0.005)
    raise RuntimeError(f"no first line in {path}")


def ormock(scenario: Path, *args: str, tty: bool = False) -> Server:
    command = [PY, "-m", "ormock", "serve", str(scenario), "--port", "0", *args]
    if not tty:
        log = Path(tempfile.mkstemp(suffix=".log")[1])
        with log.open("w") as out:
            proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        return Server(proc, _first_line(log), log=log)
    parent, child = pty.openpty()
    env = {**os.environ, "COLUMNS": "160", "LINES": "50", "TERM": "xterm-256color"}
    proc = subprocess.Popen(command, stdin=child, stdout=child, stderr=child, cwd=ROOT, env=env)
    os.close(child)
    server = Server(proc, "", tty=parent)
    seen = b""
    while b"/api/v1" not in seen:
        if select.select([parent], [], [], 10)[0]:
            seen += os.read(parent, 65536)
    server.url = re.search(rb"http://127\.0\.0\.1:\d+/api/v1", seen).group().decode()

    def drain() -> None:  # keep the terminal's buffer empty, as a real terminal would
        while server.proc.poll() is None:
            try:
                if select.select([parent], [], [], 0.2)[0]:
                    os.read(parent, 1 << 20)
            except OSError:
                return

    threading.Thread(target=drain, daemon=True).start()
    return server


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bare(body: bytes) -> tuple[subprocess.Popen, str]:
    path = Path(tempfile.mkstemp(suffix=".json")[1])
    path.write_bytes(body)
    proc = subprocess.Popen([PY, str(HERE / "bare.py"), str(path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def load(mode: str, url: str, **options: float) -> dict:
    args = [PY, str(HERE / "loadgen.py"), mode, url]
    for name, value in options.items():
        args += [f"--{name}", str(value)]
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[2:])} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)


def http(method: str, url: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={**KEY, "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return response.status, json.loads(response.read() or b"{}")


def scenario_file(text: str) -> Path:
    path = Path(tempfile.mkstemp(suffix=".toml")[1])
    path.write_text(text)
    return path


# --- the measurements ---------------------------------------------------------------------------


def throughput_latency_scale(sizes: Sizes, results: dict) -> None:
    server = ormock(scenario_file(LIVE))
    try:
        _, job = http("POST", server.url + "/videos", {"model": "bytedance/seedance-2.0", "prompt": "x"})
        poll_url = f"{server.url}/videos/{job['id']}"
        body = urllib.request.urlopen(urllib.request.Request(poll_url, headers=KEY)).read()
        reference, bare_url = bare(body)
        try:
            # interleaved, so drift in the machine's speed hits both alike; the median of each
            refs, gots, server_cpu, generator_cpu = [], [], [], []
            for _ in range(sizes.repeats):
                refs.append(load("closed", bare_url + "/x", concurrency=32, seconds=sizes.seconds)["rate"])
                before = cpu_seconds(server.proc.pid)
                got = load("closed", poll_url, concurrency=32, seconds=sizes.seconds)
                gots.append(got["rate"])
                server_cpu.append((cpu_seconds(server.proc.pid) - before) / got["seconds"])
                generator_cpu.append(got["cpu"] / got["seconds"])
            ref_rate, got_rate = sorted(refs)[len(refs) // 2], sorted(gots)[len(gots) // 2]
            results["throughput"] = {
                "bare": ref_rate,
                "ormock": got_rate,
                "ratio": got_rate / ref_rate,
                "bare_runs": refs,
                "ormock_runs": gots,
                "ormock_cpu": max(server_cpu),
                "generator_cpu": max(generator_cpu),
            }
            rate = ref_rate / 2
            runs: dict[str, list[dict]] = {"ormock": [], "bare": []}
            for _ in range(sizes.repeats):  # interleaved; the run with the median p99 of each is reported
                runs["ormock"].append(load("open", poll_url, rate=rate, seconds=sizes.seconds, concurrency=64))
                runs["bare"].append(load("open", bare_url + "/x", rate=rate, seconds=sizes.seconds, concurrency=64))
            middle = {name: sorted(found, key=lambda r: r["p99_ms"])[len(found) // 2] for name, found in runs.items()}
            results["latency"] = {"offered": rate, **middle, "runs": runs}
        finally:
            reference.terminate()
        # Scale: a second server grows to each size while the first stays at the smallest; their
        # polls are measured in turn, so the machine's drift hits both alike.
        small_count = sizes.scale[0]
        load("submit", server.url + "/videos", count=small_count - 1, concurrency=16)
        big = ormock(scenario_file(LIVE))
        try:
            _, big_job = http("POST", big.url + "/videos", {"model": "bytedance/seedance-2.0", "prompt": "x"})
            big_poll = f"{big.url}/videos/{big_job['id']}"
            live = 1
            scale: dict[int, dict] = {}
            base_rss = 0
            for count in sizes.scale:
                load("submit", big.url + "/videos", count=count - live, concurrency=16)
                live = count
                time.sleep(1.0)
                if count == small_count:
                    base_rss = big.rss_kb()
                small_p50, big_p50, big_p99 = [], [], []
                for _ in range(sizes.repeats):
                    poll_rate = min(rate, 1000.0)
                    small_p50.append(
                        load("open", poll_url, rate=poll_rate, seconds=sizes.seconds, concurrency=32)["p50_ms"]
                    )
                    measured = load("open", big_poll, rate=poll_rate, seconds=sizes.seconds, concurrency=32)
                    big_p50.append(measured["p50_ms"])
                    big_p99.append(measured["p99_ms"])
                median = lambda values: sorted(values)[len(values) // 2]  # noqa: E731
                scale[count] = {
                    "p50_ms": median(big_p50),
                    "p99_ms": median(big_p99),
                    "rss_kb": big.rss_kb(),
                    "reference_p50_ms": median(small_p50),
                    "ratio": median(big_p50) / median(small_p50),
                }
        finally:
            big.stop()
        first, last = sizes.scale[0], sizes.scale[-1]
        results["scale"] = {
            "points": scale,
            "p50_ratio": scale[last]["ratio"],
            "bytes_per_job": (scale[last]["rss_kb"] - base_rss) * 1024 / (last - first),
        }
    finally:
        server.stop()


def startup(sizes: Sizes, results: dict) -> None:
    from compare import compile_bytecode  # (bench/ is this script's folder: on the path)

    compile_bytecode()
    times = []
    path = scenario_file(LIVE)
    for _ in range(max(3, sizes.repeats)):
        log = Path(tempfile.mkstemp(suffix=".log")[1])
        began = time.perf_counter()
        with log.open("w") as out:
            proc = subprocess.Popen([PY, "-m", "ormock", "serve", str(path), "--port", "0"], stdout=out, cwd=ROOT)
        url = _first_line(log)
        while True:
            try:
                status, _ = http("POST", url + "/videos", {"model": "bytedance/seedance-2.0", "prompt": "x"})
                if status == 202:
                    break
            except OSError:
                time.sleep(0.002)
        times.append(time.perf_counter() - began)
        proc.terminate()
        proc.wait()
    results["startup"] = {"median_s": sorted(times)[len(times) // 2], "all_s": times}


def _watch(url: str, until: set[str], limit: float) -> list[tuple[str, float]]:
    """(status, first moment seen) for each status, polling as fast as one connection can."""
    seen: list[tuple[str, float]] = []
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        _, job = http("GET", url)
        if not seen or seen[-1][0] != job["status"]:
            seen.append((job["status"], time.perf_counter()))
        if job["status"] in until:
            return seen
    raise RuntimeError(f"{url} stuck at {seen[-1]}")


def timeline_accuracy(sizes: Sizes, results: dict) -> None:
    text = (
        '[default]\ntimeline = [{ status = "pending", for = "0.5s" }, { status = "in_progress", for = "0.5s" },'
        ' { status = "completed" }]\n'
    )
    server = ormock(scenario_file(text))
    errors = []
    try:
        for _ in range(max(3, sizes.repeats * 2)):
            sent = time.perf_counter()
            _, job = http("POST", server.url + "/videos", {"model": "bytedance/seedance-2.0", "prompt": "x"})
            answered = time.perf_counter()
            seen = dict(_watch(f"{server.url}/videos/{job['id']}", {"completed"}, 10))
            created = (sent + answered) / 2  # the job was created between the two
            errors += [seen["in_progress"] - (created + 0.5), seen["completed"] - (created + 1.0)]
    finally:
        server.stop()
    results["accuracy"] = {"max_ms": max(abs(e) for e in errors) * 1000, "errors_ms": [e * 1000 for e in errors]}


def fast_clock(sizes: Sizes, results: dict) -> None:
    text = (
        '[default]\ntimeline = [{ status = "pending", for = "20s" }, { status = "in_progress", for = "100s" },'
        ' { status = "completed" }]\n'
    )
    server = ormock(scenario_file(text), "--speed", "1000")
    try:
        took = []
        for _ in range(max(3, sizes.repeats)):
            began = time.perf_counter()
            _, job = http("POST", server.url + "/videos", {"model": "bytedance/seedance-2.0", "prompt": "x"})
            seen = _watch(f"{server.url}/videos/{job['id']}", {"completed"}, 10)
            took.append(seen[-1][1] - began)
    finally:
        server.stop()
    results["fast_clock"] = {"worst_s": max(took), "all_s": took}


def dashboard_cost(sizes: Sizes, results: dict) -> None:
    figures = {}
    for mode, tty, extra in (("off", False, ("--no-dashboard",)), ("on", True, ())):
        server = ormock(scenario_file(LIVE), *extra, tty=tty)
        try:
            _, job = http("POST", server.url + "/videos", {"model": "bytedance/seedance-2.0", "prompt": "x"})
            load("submit", server.url + "/videos", count=99, concurrency=8)  # something to draw
            poll = f"{server.url}/videos/{job['id']}"
            figures[mode] = load("open", poll, rate=300, seconds=sizes.seconds * 2, concurrency=8)["p50_ms"]
        finally:
            server.stop()
    results["dashboard"] = {
        "p50_off_ms": figures["off"],
        "p50_on_ms": figures["on"],
        "ratio": figures["on"] / figures["off"],
    }


def download(sizes: Sizes, results: dict) -> None:
    folder = Path(tempfile.mkdtemp())
    figures = {}
    for megabytes in sorted({max(1, sizes.download_mb // 10), sizes.download_mb}):
        clip = folder / f"clip-{megabytes}.mp4"
        clip.write_bytes(os.urandom(megabytes * 1024 * 1024))
        path = folder / f"s-{megabytes}.toml"
        path.write_text(f'[default]\ntimeline = [{{ status = "completed", content = "{clip.name}" }}]\n')
        server = ormock(path)
        try:
            _, job = http("POST", server.url + "/videos", {"model": "bytedance/seedance-2.0", "prompt": "x"})
            http("GET", f"{server.url}/videos/{job['id']}")
            before = server.rss_kb("VmHWM")
            request = urllib.request.Request(f"{server.url}/videos/{job['id']}/content", headers=KEY)
            began = time.perf_counter()
            received = 0
            with urllib.request.urlopen(request) as response:
                while chunk := response.read(1 << 20):
                    received += len(chunk)
            took = time.perf_counter() - began
            assert received == megabytes * 1024 * 1024
            figures[megabytes] = {
                "mb_per_s": megabytes / took,
                "peak_growth_mb": (server.rss_kb("VmHWM") - before) / 1024,
            }
        finally:
            server.stop()
    results["download"] = figures


# --- the report ---------------------------------------------------------------------------------


def machine() -> str:
    cpu = "unknown CPU"
    info = Path("/proc/cpuinfo")
    if info.exists():
        match = re.search(r"model name\s*:\s*(.+)", info.read_text())
        cpu = match.group(1).strip() if match else cpu
    memory = Path("/proc/meminfo").read_text().split("\n", 1)[0].split()[1] if Path("/proc/meminfo").exists() else "?"
    return (
        f"{os.cpu_count()} cores, {cpu}, {int(memory) // 1024 // 1024 if memory != '?' else '?'} GiB, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def why(name: str, results: dict) -> str:
    """What the profile and the references in the same run say about a missed target."""
    t, lat, sc = results["throughput"], results["latency"], results["scale"]
    if name == "poll throughput":
        pairs = zip(t["ormock_runs"], t["bare_runs"], strict=False)
        spread = "this run's interleaved pairs gave " + ", ".join(f"{o / b:.2f}x" for o, b in pairs)
        return (
            f"{t['ratio']:.2f}x against 0.7x ({spread}: the machine's speed drifts from run to run). "
            "Profiling (py-spy) puts most of a poll's time in Hypercorn's h11 and "
            "asyncio transport work, which the bare app pays too; ormock's own share is the journal entry, the "
            "log line and the JSON it renders. A Quart route would cost far more (a minimal Quart app reaches "
            "about 0.4x here), which is why the video API is plain ASGI (`ormock/web/api.py`)."
        )
    if name == "poll latency":
        bare = lat["bare"]["p99_ms"] / lat["bare"]["p50_ms"]
        mine = lat["ormock"]["p99_ms"] / lat["ormock"]["p50_ms"]
        share = lat["offered"] / t["ormock"]
        return (
            f"p99 is {mine:.1f}x p50 against 3x. The offered load, half the bare app's capacity, is {share:.0%} "
            "of ormock's own measured capacity, where queueing alone stretches the tail of any server; the bare "
            f"app at the same load shows {bare:.1f}x, its tail coming from the Python event loop and the "
            "generator's scheduling on two cores. Well under its capacity (the scale rows, at most 1000 req/s), "
            f"ormock's p99 was at most {max(p['p99_ms'] for p in sc['points'].values()):.1f} ms."
        )
    if name == "scale: latency":
        return (
            f"{sc['p50_ratio']:.2f}x against 1.2x. Nothing on the poll path grows with the number of jobs (one "
            "dictionary lookup; the status watcher visits only due or polled jobs); the difference follows the "
            "larger heap (memory traffic and garbage collection over more live objects)."
        )
    if name == "scale: memory":
        return (
            f"{sc['bytes_per_job'] / 1024:.2f} KB per job against 2 KB: each job keeps its submit body for the "
            "control API and the journal, plus its submission, output and timeline position."
        )
    if name == "dashboard cost":
        return (
            f"{results['dashboard']['ratio']:.2f}x against 1.10x: drawing a frame takes the interpreter lock "
            "from the event loop for a few milliseconds, twice a second."
        )
    return "see the raw figures below."


def report(results: dict, quick: bool, command: str) -> str:
    t, lat, sc = results["throughput"], results["latency"], results["scale"]
    first, last = min(sc["points"]), max(sc["points"])
    dl = results["download"]
    big, small = max(dl), min(dl)
    rows = [
        (
            "poll throughput",
            f"closed loop, 32 connections, median of {len(t['ormock_runs'])} interleaved runs: "
            f"{t['ormock']:.0f} req/s vs bare Hypercorn {t['bare']:.0f} req/s",
            "≥ 0.7x bare",
            f"{t['ratio']:.2f}x",
            t["ratio"] >= 0.7,
        ),
        (
            "poll latency",
            f"open loop at {lat['offered']:.0f} req/s (half the bare app's capacity), the median "
            f"of {len(lat['runs']['ormock'])} interleaved runs: "
            f"p50 {lat['ormock']['p50_ms']:.2f} ms, p99 {lat['ormock']['p99_ms']:.2f} ms "
            f"(bare: {lat['bare']['p50_ms']:.2f} / {lat['bare']['p99_ms']:.2f} ms)",
            "p99 ≤ 3x p50",
            f"{lat['ormock']['p99_ms'] / lat['ormock']['p50_ms']:.1f}x",
            lat["ormock"]["p99_ms"] <= 3 * lat["ormock"]["p50_ms"],
        ),
        (
            "scale: latency",
            "the same poll load on a server with "
            + ", ".join(f"{n:,}" for n in sc["points"])
            + " live jobs: p50 "
            + ", ".join(f"{p['p50_ms']:.2f}" for p in sc["points"].values())
            + " ms, each set "
            f"against a server holding {first:,} jobs measured in turn with it (median of {len(t['ormock_runs'])})",
            f"p50 at {last:,} ≤ 1.2x p50 at {first:,}",
            f"{sc['p50_ratio']:.2f}x",
            sc["p50_ratio"] <= 1.2,
        ),
        (
            "scale: memory",
            f"resident memory from {first:,} to {last:,} jobs: "
            f"{(sc['points'][last]['rss_kb'] - sc['bytes_per_job'] * (last - first) / 1024) / 1024:.0f} → "
            f"{sc['points'][last]['rss_kb'] / 1024:.0f} MB",
            "≤ 2 KB per job",
            f"{sc['bytes_per_job'] / 1024:.2f} KB",
            sc["bytes_per_job"] <= 2048,
        ),
        (
            "start-up",
            "launching `ormock serve` to the first 202 answered (median)",
            "≤ 1 s",
            f"{results['startup']['median_s']:.2f} s",
            results["startup"]["median_s"] <= 1.0,
        ),
        (
            "timeline accuracy",
            "at --speed 1, when each status change is first seen vs when it is scheduled "
            "(polling back to back on one connection)",
            "within 25 ms",
            f"{results['accuracy']['max_ms']:.1f} ms worst",
            results["accuracy"]["max_ms"] <= 25,
        ),
        (
            "fast clock",
            "a 120 s timeline at --speed 1000, submit to `completed` seen",
            "≤ 0.3 s",
            f"{results['fast_clock']['worst_s']:.3f} s worst",
            results["fast_clock"]["worst_s"] <= 0.3,
        ),
        (
            "dashboard cost",
            f"poll p50 at 300 req/s with the dashboard on (in a pseudo-terminal) "
            f"{results['dashboard']['p50_on_ms']:.2f} ms vs off {results['dashboard']['p50_off_ms']:.2f} ms",
            "within 10%",
            f"{results['dashboard']['ratio']:.2f}x",
            results["dashboard"]["ratio"] <= 1.10,
        ),
        (
            "download",
            f"a {big} MB content file over loopback; peak memory growth {dl[big]['peak_growth_mb']:.1f} MB "
            f"({dl[small]['peak_growth_mb']:.1f} MB for {small} MB)",
            "≥ 200 MB/s, memory flat",
            f"{dl[big]['mb_per_s']:.0f} MB/s",
            dl[big]["mb_per_s"] >= 200 and dl[big]["peak_growth_mb"] < 16,
        ),
    ]
    lines = [
        "# Performance",
        "",
        "Measured by `bench/run.py` in one run"
        + (" (QUICK mode: tiny sizes, figures not meaningful)" if quick else "")
        + ". Timings are set against references measured in the same run.",
        "",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {machine()}",
        f"- command: `{command}`",
        "",
        "| measure | how, and the figures | target | result | verdict |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [f"| {a} | {b} | {c} | {d} | {verdict(ok)} |" for a, b, c, d, ok in rows]
    missed = [name for name, *_, ok in rows if not ok]
    if missed:
        lines += ["", "## Where a target is missed, by how much and why", ""]
        lines += [f"- **{name}**: {why(name, results)}" for name in missed]
    lines += [
        "",
        "The load generator (`bench/loadgen.py`, raw asyncio streams in its own process) drove the "
        f"bare app at {t['bare']:.0f} req/s and ormock at {t['ormock']:.0f} req/s; while it drove ormock, "
        f"ormock used {t['ormock_cpu']:.0%} of a core and the generator {t['generator_cpu']:.0%}, so the "
        "server, not the generator, set the pace.",
        "",
    ]
    lines += [
        "<details><summary>raw figures</summary>",
        "",
        "```json",
        json.dumps(results, indent=1, default=str),
        "```",
        "",
        "</details>",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "performance.md")
    parser.add_argument("--render-only", action="store_true", help="rewrite the report from its own raw figures")
    args = parser.parse_args()
    if args.render_only:
        text = args.output.read_text()
        results = json.loads(re.search(r"```json\n(.*?)```", text, re.S).group(1))
        for key in ("scale",):
            results[key]["points"] = {int(k): v for k, v in results[key]["points"].items()}
        results["download"] = {int(k): v for k, v in results["download"].items()}
        date = re.search(r"- date: (.+)", text).group(1)
        command = re.search(r"- command: `(.+)`", text).group(1)
        args.output.write_text(
            report(results, "--quick" in command, command).replace(
                re.search(r"- date: (.+)", report(results, False, command)).group(1), date
            )
        )
        return
    sizes = QUICK if args.quick else FULL
    results: dict = {}
    for step in (throughput_latency_scale, startup, timeline_accuracy, fast_clock, dashboard_cost, download):
        began = time.perf_counter()
        step(sizes, results)
        print(f"{step.__name__}: {time.perf_counter() - began:.1f} s", file=sys.stderr, flush=True)
    command = "python bench/run.py" + (" --quick" if args.quick else "")
    # bench/compare.py's section (between its markers) is its own: keep it
    old = args.output.read_text() if args.output.exists() else ""
    kept = old[old.index(SERVERS) :] if SERVERS in old else ""
    args.output.write_text(report(results, args.quick, command) + ("\n" + kept if kept else ""))
    print(f"wrote {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
