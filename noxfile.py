"""Development sessions: tests, tests_all, lint, typecheck, docs, bench, fuzz, soak."""

from __future__ import annotations

import glob
import os

import nox

nox.options.sessions = ["tests", "lint", "typecheck", "docs"]
nox.options.reuse_existing_virtualenvs = True

ALL_PYTHONS = ["3.10", "3.11", "3.12", "3.13"]

# pyenv's shims only answer for the selected versions: put every installed one on PATH
for _version in ALL_PYTHONS:
    for _bin in sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{_version}.*/bin"))):
        os.environ["PATH"] = _bin + os.pathsep + os.environ.get("PATH", "")
PASSTHROUGH = ("SSHWIRE_REQUIRE_OPENSSH",)


def _env() -> dict[str, str]:
    return {k: os.environ[k] for k in PASSTHROUGH if k in os.environ}


@nox.session(python="3.11")
def tests(session: nox.Session) -> None:
    """The whole test suite on Python 3.11."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs, env=_env())


@nox.session(python=ALL_PYTHONS)
def tests_all(session: nox.Session) -> None:
    """The whole test suite on every supported Python."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs, env=_env())


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", "src", "tests", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "noxfile.py")


@nox.session(python="3.11")
def typecheck(session: nox.Session) -> None:
    session.install("-e", ".", "mypy", "pytest")  # pytest: the sshwire.testing plugin
    session.run("mypy", "--strict", "src/sshwire")


@nox.session(python="3.11")
def docs(session: nox.Session) -> None:
    session.install("-e", ".[docs]")
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html")


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Micro-benchmarks, then the comparative suite; writes its tables into docs/performance.md."""
    session.install("-e", ".[test]")
    session.run("python", "tests/benchmarks/bench_framing.py", *session.posargs)
    session.run("python", "tests/benchmarks/bench_window.py", *session.posargs)
    session.run("python", "tests/benchmarks/bench_sftp.py", *session.posargs)
    session.install("matplotlib")
    session.run(
        "python",
        "tests/benchmarks/bench_compare.py",
        "--write-docs",
        "docs/performance.md",
        *session.posargs,
    )


@nox.session(python="3.11")
def fuzz(session: nox.Session) -> None:
    """Long fuzz run of the sans-IO core (docs/reliability.md); posargs go to run_fuzz.py."""
    session.install("-e", ".[test]")
    session.run("python", "tests/fuzz/run_fuzz.py", *(session.posargs or ["--cases", "100000"]))


@nox.session(python="3.11")
def soak(session: nox.Session) -> None:
    """Mixed workload against sshd and the embedded server; fails on any error or RSS growth."""
    session.install("-e", ".[test]")
    session.run("python", "tests/soak/run_soak.py", "--minutes", "10", *session.posargs, env=_env())
