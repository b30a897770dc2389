"""ormock under each server, the same bare app under each server, and aimock, measured in one run;
start-up, `ormock validate`, the per-test cost of the pytest fixtures, and a memory soak. Writes
the section between the `servers` markers of docs/performance.md.

    python bench/compare.py                  # the full run (about 6 minutes with the soak)
    python bench/compare.py --quick          # tiny sizes: checks the harness
    python bench/compare.py --soak 0         # without the 3-minute soak

Throughput is wrk (`-t1 -c32`, from Debian's `wrk` package) when it is installed, else
bench/loadgen.py; latency at half capacity is wrk pacing 64 connections with exponential gaps (see
PACED), else loadgen's open loop; aimock (the nearest peer, Node) is installed from npm into a temporary folder
when Node is on the machine, and left out with a note otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
PY = sys.executable
KEY = {"Authorization": "Bearer sk-or-bench"}
AIMOCK = "@copilotkit/aimock@1.43.0"
LIVE = '[default]\ntimeline = [{ status = "in_progress", for = "10h" }, { status = "completed" }]\n'
START, END = "<!-- servers: written by bench/compare.py -->", "<!-- /servers -->"


def scenario_file(text: str) -> Path:
    path = Path(tempfile.mkstemp(suffix=".toml")[1])
    path.write_text(text)
    return path


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {**KEY, "Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def answered(url: str, limit: float = 30.0) -> float:
    """Seconds until `url` answers at all (any HTTP status)."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        try:
            urllib.request.urlopen(urllib.request.Request(url, headers=KEY), timeout=1).read()
            return time.perf_counter() - started
        except urllib.error.HTTPError:
            return time.perf_counter() - started
        except OSError:
            time.sleep(0.002)
    raise RuntimeError(f"{url} never answered")


class Proc:
    def __init__(self, command: list[str], cwd: Path = ROOT, env: dict | None = None) -> None:
        self.log = Path(tempfile.mkstemp(suffix=".log")[1])
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env)

    def first_line(self, limit: float = 30) -> str:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            text = self.log.read_text()
            if "\n" in text:
                return text.split("\n", 1)[0].strip()
            time.sleep(0.002)
        raise RuntimeError(f"no first line: {self.log.read_text()[-500:]}")

    def rss_mb(self) -> float:
        text = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", text).group(1)) / 1024

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def ormock(server: str, scenario: Path) -> tuple[Proc, str]:
    proc = Proc([PY, "-m", "ormock", "serve", str(scenario), "--port", "0", "--no-dashboard", "--server", server])
    return proc, proc.first_line()


def bare(server: str, body: bytes) -> tuple[Proc, str]:
    path = Path(tempfile.mkstemp(suffix=".json")[1])
    path.write_bytes(body)
    proc = Proc([PY, str(HERE / "bare.py"), str(path), server])
    return proc, proc.first_line()


def install_aimock() -> Path | None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        return None
    folder = Path(tempfile.mkdtemp(prefix="aimock-"))
    (folder / "fixtures").mkdir()
    (folder / "fixtures" / "video.json").write_text(
        json.dumps(
            {
                "fixtures": [
                    {
                        "match": {"endpoint": "video", "model": "bytedance/seedance-2.0"},
                        "response": {"video": {"status": "completed", "url": "https://example.com/v.mp4"}},
                    }
                ]
            }
        )
    )
    done = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", str(folder), AIMOCK],
        capture_output=True,
        text=True,
    )
    return folder if done.returncode == 0 else None


def aimock(folder: Path, port: int) -> tuple[Proc, str]:
    cli = folder / "node_modules" / "@copilotkit" / "aimock" / "dist" / "cli.js"
    proc = Proc(
        ["node", str(cli), "-p", str(port), "-f", str(folder / "fixtures"), "--log-level", "silent"], cwd=folder
    )
    return proc, f"http://127.0.0.1:{port}/api/v1"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def throughput(url: str, seconds: float) -> float:
    if shutil.which("wrk"):
        done = subprocess.run(
            ["wrk", "-t1", "-c32", f"-d{max(1, round(seconds))}s", "-H", f"Authorization: {KEY['Authorization']}", url],
            capture_output=True,
            text=True,
        )
        return float(re.search(r"Requests/sec:\s+([\d.]+)", done.stdout).group(1))
    return loadgen("closed", url, concurrency=32, seconds=seconds)["rate"]


# Each wrk connection waits an exponentially distributed gap before its next request, so together
# they offer a Poisson-like load of CONNECTIONS / MEAN_MS * 1000 requests a second (wrk's delays are
# whole milliseconds: rounded, not cut, to keep the mean). wrk times each request from its sending.
PACED = """
local mean = tonumber(os.getenv("MEAN_MS"))
function init(args) math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16)) end
function delay() return math.floor(-mean * math.log(1 - math.random()) + 0.5) end
"""
PACED_CONNECTIONS = 64


def _wrk_ms(text: str, percentile: str) -> float:
    value, unit = re.search(rf"^\s*{percentile}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def paced(url: str, rate: float, seconds: float) -> dict:
    """p50 and p99 at `rate` requests a second offered: wrk with PACED when it is installed, else
    bench/loadgen.py's open loop (a Python generator sharing the cores, which inflates the tail)."""
    if not shutil.which("wrk"):
        return {
            "tool": "bench/loadgen.py open loop",
            **loadgen("open", url, rate=rate, seconds=seconds, concurrency=64),
        }
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(PACED)
    done = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{PACED_CONNECTIONS}",
            f"-d{max(1, round(seconds))}s",
            "--latency",
            "-s",
            str(script),
            "-H",
            f"Authorization: {KEY['Authorization']}",
            url,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "MEAN_MS": str(PACED_CONNECTIONS / rate * 1000)},
    )
    return {
        "tool": f"wrk -t1 -c{PACED_CONNECTIONS}, exponential gaps",
        "p50_ms": _wrk_ms(done.stdout, "50"),
        "p99_ms": _wrk_ms(done.stdout, "99"),
        "rate": float(re.search(r"Requests/sec:\s+([\d.]+)", done.stdout).group(1)),
    }  # type: ignore[union-attr]


def loadgen(mode: str, url: str, **options: float) -> dict:
    args = [PY, str(HERE / "loadgen.py"), mode, url] + [f"--{k}={v}" for k, v in options.items()]
    return json.loads(subprocess.run(args, capture_output=True, text=True, check=True).stdout)


def compile_bytecode() -> None:
    """Compiles ormock's modules, as installing its wheel does: start-up is measured as a user
    meets it. (Python only writes bytecode as it goes where PYTHONDONTWRITEBYTECODE is not set;
    where it is, every module would be compiled from source at every start.)"""
    subprocess.run([PY, "-m", "compileall", "-q", str(ROOT / "ormock")], check=True)


def startup(command: list[str], url: str, cwd: Path = ROOT) -> float:
    started = time.perf_counter()
    proc = Proc(command, cwd=cwd)
    try:
        answered(url)
        return time.perf_counter() - started
    finally:
        proc.stop()


# --- the measurements ---------------------------------------------------------------------------


def servers(seconds: float, repeats: int, results: dict) -> None:
    targets: dict[str, tuple[Proc, str]] = {}
    scenario = scenario_file(LIVE)
    for name in ("hypercorn", "granian"):
        proc, base = ormock(name, scenario)
        job = post(base + "/videos", {"model": "bytedance/seedance-2.0", "prompt": "x"})
        poll = f"{base}/videos/{job['id']}"
        targets[f"ormock/{name}"] = (proc, poll)
        body = urllib.request.urlopen(urllib.request.Request(poll, headers=KEY)).read()
        reference, bare_base = bare(name, body)
        targets[f"bare/{name}"] = (reference, bare_base + "/x")
    folder = install_aimock()
    results["aimock"] = AIMOCK if folder else "not measured: Node.js and npm are not on this machine"
    if folder:
        proc, base = aimock(folder, free_port())
        answered(base + "/videos/none")
        job = post(base + "/videos", {"model": "bytedance/seedance-2.0", "prompt": "x"})
        targets["aimock"] = (proc, f"{base}/videos/{job['id']}")
    try:
        for _, url in targets.values():
            throughput(url, 1)  # warm up
        runs: dict[str, list[float]] = {name: [] for name in targets}
        for _ in range(repeats):  # interleaved: drift in the machine's speed hits all alike
            for name, (_, url) in targets.items():
                runs[name].append(throughput(url, seconds))
        results["throughput"] = {name: {"median": statistics.median(r), "runs": r} for name, r in runs.items()}
        latency = {}
        for name in ("ormock/hypercorn", "ormock/granian"):
            rate = results["throughput"][name]["median"] / 2
            found = [paced(targets[name][1], rate, seconds) for _ in range(repeats)]
            middle = sorted(found, key=lambda r: r["p99_ms"])[len(found) // 2]
            latency[name] = {
                "offered": rate,
                "achieved": middle["rate"],
                "p50_ms": middle["p50_ms"],
                "p99_ms": middle["p99_ms"],
                "tool": middle["tool"],
            }
        results["latency"] = latency
    finally:
        for proc, _ in targets.values():
            proc.stop()
    # start-up to the first answered request: the median of at least 7 interleaved starts (a start
    # takes a fifth of a second, and three of them left the ratio to aimock's swinging by ±0.05x)
    compile_bytecode()
    starts: dict[str, list[float]] = {}
    seedance = str(ROOT / "scenarios" / "seedance.toml")
    for _ in range(max(7, repeats) if repeats > 1 else 1):
        for name in ("hypercorn", "granian"):
            port = free_port()
            command = [PY, "-m", "ormock", "serve", seedance, "--port", str(port), "--no-dashboard", "--server", name]
            starts.setdefault(f"ormock/{name}", []).append(startup(command, f"http://127.0.0.1:{port}/api/v1/videos/x"))
        if folder:
            port = free_port()
            cli = str(folder / "node_modules" / "@copilotkit" / "aimock" / "dist" / "cli.js")
            command = ["node", cli, "-p", str(port), "-f", str(folder / "fixtures"), "--log-level", "silent"]
            starts.setdefault("aimock", []).append(startup(command, f"http://127.0.0.1:{port}/api/v1/videos/x", folder))
    results["startup"] = {name: statistics.median(found) for name, found in starts.items()}
    results["startup_runs"] = starts
    validate = []
    for _ in range(max(3, repeats)):
        started = time.perf_counter()
        subprocess.run([PY, "-m", "ormock", "validate", "seedance"], capture_output=True, check=True)
        validate.append(time.perf_counter() - started)
    results["validate"] = statistics.median(validate)


def fixtures(repeats: int, results: dict) -> None:
    """The per-test cost of the pytest fixtures: a fresh `Simulator` (what `ormock` makes for each
    test) started and stopped, and the reset `ormock_session` does before each test."""
    import httpx

    from ormock import Simulator

    found: dict[str, dict[str, float]] = {}
    for server in ("hypercorn", "granian"):
        starts = []
        for _ in range(repeats * 3):
            started = time.perf_counter()
            with Simulator("ci-fast", server=server):  # type: ignore[arg-type]
                pass
            starts.append(time.perf_counter() - started)
        with Simulator("ci-fast", server=server) as sim, httpx.Client(base_url=sim.url) as http:  # type: ignore[arg-type]
            resets = []
            for _ in range(200):
                started = time.perf_counter()
                http.post("/__ormock/reset")
                resets.append(time.perf_counter() - started)
        found[server] = {"simulator_ms": statistics.median(starts) * 1000, "reset_ms": statistics.median(resets) * 1000}
    results["fixtures"] = found


def report_cost(quick: bool, results: dict) -> None:
    """The client report of 10,000 jobs polled 20 times each (bench/report_bench.py)."""
    args = ["--jobs", "500", "--polls", "5"] if quick else []
    done = subprocess.run([PY, str(HERE / "report_bench.py"), *args], capture_output=True, text=True, check=True)
    results["report"] = json.loads(done.stdout)


def soak(seconds: float, results: dict) -> None:
    """50 pollers over long time-based steps: resident memory after warm-up must stay flat."""
    text = '[default]\ntimeline = [{ status = "pending", for = "1h" }, { status = "in_progress", for = "5h" }, { status = "completed" }]\n'
    proc, base = ormock("hypercorn", scenario_file(text))
    jobs = [post(base + "/videos", {"model": "bytedance/seedance-2.0", "prompt": f"p{n}"})["id"] for n in range(50)]
    stop = threading.Event()

    def poller(job_id: str) -> None:
        import httpx

        with httpx.Client(headers=KEY) as http:
            while not stop.is_set():
                http.get(f"{base}/videos/{job_id}")
                time.sleep(0.05)

    threads = [threading.Thread(target=poller, args=(job,), daemon=True) for job in jobs]
    for thread in threads:
        thread.start()
    samples = []
    started = time.monotonic()
    try:
        while time.monotonic() - started < seconds:
            time.sleep(min(5.0, seconds / 10))
            samples.append((round(time.monotonic() - started, 1), round(proc.rss_mb(), 1)))
    finally:
        stop.set()
        for thread in threads:
            thread.join(5)
        proc.stop()
    warm = [rss for at, rss in samples if at >= min(30.0, seconds / 3)]
    results["soak"] = {
        "seconds": seconds,
        "pollers": 50,
        "samples": samples,
        "after_warmup": [min(warm), max(warm)],
        "growth": max(warm) / min(warm) - 1,
    }


# --- the report ---------------------------------------------------------------------------------


def report(results: dict, command: str) -> str:
    t = results["throughput"]
    rows = []

    def ratio(a: str, b: str) -> str:
        return f"{t[a]['median'] / t[b]['median']:.2f}x" if a in t and b in t else "-"

    for name in t:
        rows.append(f"| {name} | {t[name]['median']:,.0f} | {', '.join(f'{r:,.0f}' for r in t[name]['runs'])} |")
    lines = [
        START,
        "## Servers, side by side",
        "",
        f"Measured by `{command}` on {results['machine']}, {results['date']}. Throughput: "
        f"{results['tool']}, one poll URL, the median of {len(next(iter(t.values()))['runs'])} interleaved runs "
        f"of {results['seconds']:g} s. aimock: {results['aimock']}. Start-up: from launching the process to the "
        f"first answered request, the median of {len(next(iter(results['startup_runs'].values())))} interleaved "
        "starts, with ormock's bytecode compiled as installing it does (`compile_bytecode`).",
        "",
        "| server | polls/s (median) | runs |",
        "| --- | --- | --- |",
        *rows,
        "",
        "| target | figures | result | verdict |",
        "| --- | --- | --- | --- |",
    ]
    if "aimock" in t:
        got = t["ormock/granian"]["median"] / t["aimock"]["median"]
        lines.append(
            f"| `--server granian` ≥ 1.5x aimock's polls/s | {ratio('ormock/granian', 'aimock')} | "
            f"{got:.2f}x | {'met' if got >= 1.5 else '**missed**'} |"
        )
    g = results["latency"]["ormock/granian"]
    spread = g["p99_ms"] / g["p50_ms"]
    lines.append(
        f"| granian: p99 ≤ 3x p50 at half its capacity | {g['offered']:,.0f} req/s offered ({g['tool']}), "
        f"{g['achieved']:,.0f} done: "
        f"p50 {g['p50_ms']:.2f} ms, p99 {g['p99_ms']:.2f} ms | {spread:.1f}x | {'met' if spread <= 3 else '**missed**'} |"
    )
    h = t["ormock/hypercorn"]["median"] / t["bare/hypercorn"]["median"]
    lines.append(
        f"| Hypercorn: ≥ 0.9x the bare Hypercorn app | {ratio('ormock/hypercorn', 'bare/hypercorn')} | "
        f"{h:.2f}x | {'met' if h >= 0.9 else '**missed**'} |"
    )
    hl = results["latency"]["ormock/hypercorn"]
    lines.append(
        f"| (Hypercorn latency at half its capacity, for reference) | p50 {hl['p50_ms']:.2f} ms, "
        f"p99 {hl['p99_ms']:.2f} ms | {hl['p99_ms'] / hl['p50_ms']:.1f}x | - |"
    )
    s = results["startup"]
    for name in ("ormock/hypercorn", "ormock/granian"):
        if "aimock" in s:
            r = s[name] / s["aimock"]
            lines.append(
                f"| start-up ({name}) ≤ 1.5x aimock's | {s[name]:.2f} s vs aimock {s['aimock']:.2f} s | "
                f"{r:.2f}x | {'met' if r <= 1.5 else '**missed**'} |"
            )
        else:
            lines.append(f"| start-up ({name}) | {s[name]:.2f} s | - | aimock not measured |")
    v = results["validate"]
    lines.append(
        f"| `ormock validate` on one file ≤ 0.3 s | {v:.3f} s | {v:.2f} s | {'met' if v <= 0.3 else '**missed**'} |"
    )
    for server, f in results["fixtures"].items():
        lines.append(
            f"| per-test cost under {server}: no worse than before (35 ms, 1.25 ms; 10% allowed for the "
            "machine's run-to-run spread) | fresh `Simulator` "
            f"{f['simulator_ms']:.1f} ms, `POST /__ormock/reset` {f['reset_ms']:.2f} ms | - | "
            f"{'met' if f['simulator_ms'] <= 35 * 1.1 and f['reset_ms'] <= 1.25 * 1.1 else '**missed**'} |"
        )
    if "report" in results:
        r = results["report"]
        lines.append(
            f"| the client report of {r['jobs']:,} jobs polled {r['polls_each']} times each in under 1 s | "
            f"{r['journal_entries']:,} journal entries, in process; polls meanwhile {r['per_poll_us']:.1f} µs each | "
            f"{r['report_seconds']:.2f} s | {'met' if r['report_seconds'] < 1 else '**missed**'} |"
        )
    if "soak" in results:
        k = results["soak"]
        lines.append(
            f"| memory flat within 10% after warm-up: {k['pollers']} pollers over long timed steps for "
            f"{k['seconds']:g} s | {k['after_warmup'][0]:.1f} → {k['after_warmup'][1]:.1f} MB | "
            f"{k['growth'] * 100:+.1f}% | {'met' if k['growth'] <= 0.10 else '**missed**'} |"
        )
    lines += [
        "",
        "<details><summary>raw figures</summary>",
        "",
        "```json",
        json.dumps(results, indent=1),
        "```",
        "",
        "</details>",
        END,
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--soak", type=float, default=180.0, help="seconds of the memory soak (0: none)")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "performance.md")
    parser.add_argument("--only", choices=["soak", "report"], help="run just this part and print it")
    args = parser.parse_args()
    if args.only:
        part: dict = {}
        soak(args.soak, part) if args.only == "soak" else report_cost(args.quick, part)
        print(json.dumps(part, indent=1))
        return
    seconds, repeats = (1.0, 1) if args.quick else (8.0, 3)
    import platform
    from datetime import UTC, datetime

    results: dict = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}",
        "seconds": seconds,
        "tool": "wrk -t1 -c32" if shutil.which("wrk") else "bench/loadgen.py (closed loop, 32 connections)",
    }
    servers(seconds, repeats, results)
    fixtures(repeats, results)
    report_cost(args.quick, results)
    if args.soak > 0:
        soak(10.0 if args.quick else args.soak, results)
    section = report(results, "python bench/compare.py" + (" --quick" if args.quick else ""))
    text = args.output.read_text() if args.output.exists() else ""
    if START in text:
        text = text.split(START)[0] + section + text.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    args.output.write_text(text)
    print(section.split("<details>")[0])


if __name__ == "__main__":
    main()
