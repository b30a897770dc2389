"""Developer tasks: `nox -s tests` (what CI runs), `nox -s package`, `nox -s clients`, `nox -s lint`."""

import tempfile
from pathlib import Path

import nox

ROOT = Path(__file__).parent

nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite, in-process and end-to-end against real `ormock serve` processes: once under
    Hypercorn (the default server), then the whole suite again under Granian (`--server granian`)."""
    session.install("-e", ".[test,fast]")
    # two workers, each test file whole on one (its module-scoped servers start once); no file
    # relies on its tests' order: the suite also passes with every file's tests reversed
    parallel = ("-n", "2", "--dist", "loadfile")
    session.run("pytest", *parallel, *session.posargs, env={"ORMOCK_SERVER": "hypercorn"})
    session.run("pytest", *parallel, *session.posargs, env={"ORMOCK_SERVER": "granian"})


@nox.session(reuse_venv=False)
def package(session: nox.Session) -> None:
    """Build the sdist and the wheel and check them as a package index would (`twine check`), install
    the wheel alone (plus the official SDK, the client) into a fresh virtual environment, and from an
    empty folder run what a new user types first (tests/package_check.py)."""
    session.install("build", "twine")
    with tempfile.TemporaryDirectory() as dist:
        session.run("python", "-m", "build", "--outdir", dist, str(ROOT))
        (wheel,) = Path(dist).glob("ormock-*.whl")
        (sdist,) = Path(dist).glob("ormock-*.tar.gz")
        session.run("twine", "check", "--strict", str(wheel), str(sdist))
        session.install(str(wheel), "openrouter==1.3.84")
        session.run("python", str(ROOT / "tests" / "package_check.py"))


@nox.session
def clients(session: nox.Session) -> None:
    """The official TypeScript SDK and TanStack AI against real ormock servers (needs Node 20+ and
    the npm registry; the packages go into a temporary folder)."""
    session.install("-e", ".[test,fast]")
    for server in ("hypercorn", "granian"):
        session.run(
            "pytest", "tests/clients", *session.posargs, env={"ORMOCK_NODE_CLIENTS": "1", "ORMOCK_SERVER": server}
        )


@nox.session
def bench(session: nox.Session) -> None:
    """Every performance measurement in one go; writes docs/performance.md (`-- --quick` to try)."""
    session.install("-e", ".[fast]")
    session.run("python", "bench/run.py", *session.posargs)
    session.run("python", "bench/compare.py", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint and format) and mypy."""
    session.install("-e", ".[lint,fast]", "pytest")  # mypy reads the servers and the plugin against what they import
    session.run("ruff", "check", "ormock", "tests", "bench", "tools", "noxfile.py")
    session.run("ruff", "format", "--check", "ormock", "tests", "bench", "tools", "noxfile.py")
    session.run("mypy")
