"""pytest plugin: list every skipped test with its reason; on CI, fail the run on a required skip.

Loaded by `tests/conftest.py`. At the end of every run the terminal summary gets a section
"skipped tests" naming each skipped test and why (or saying that none was skipped). When the
environment has `OMNIEVAL_CI=1` (`.ci/run` sets it), every skip must be on `ALLOWED_ON_CI`;
any other skip makes the run fail, so a test CI is supposed to run can never skip silently
(a missing system program or Python package shows up as a failed CI run, not as a dot less).
"""

from __future__ import annotations

import os

import pytest

CI_ENV = "OMNIEVAL_CI"

# Node-id prefixes CI may skip, each with the reason it is acceptable. Keep it empty unless a
# test truly cannot run on the CI machine (then say why here).
ALLOWED_ON_CI: dict[str, str] = {}

_skipped: list[tuple[str, str]] = []


def _reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
    else:
        reason = str(longrepr)
    return reason.removeprefix("Skipped: ")


def _allowed(nodeid: str) -> bool:
    return any(nodeid.startswith(prefix) for prefix in ALLOWED_ON_CI)


def _on_ci() -> bool:
    return os.environ.get(CI_ENV, "") == "1"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _skipped.append((report.nodeid, _reason(report)))


def pytest_collectreport(report: pytest.CollectReport) -> None:
    # A module-level skip (pytest.importorskip at import time) skips at collection.
    if report.skipped:
        _skipped.append((report.nodeid, _reason(report)))  # type: ignore[arg-type]


def _required() -> list[tuple[str, str]]:
    return [(nodeid, reason) for nodeid, reason in _skipped if not _allowed(nodeid)]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _on_ci() and _required() and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    tr = terminalreporter
    tr.section(f"skipped tests ({len(_skipped)})")
    if not _skipped:
        tr.write_line("none")
    for nodeid, reason in _skipped:
        mark = "allowed on CI" if _allowed(nodeid) else "required on CI"
        tr.write_line(f"SKIPPED {nodeid}: {reason} [{mark}]")
    required = _required()
    if _on_ci() and required:
        tr.write_line(
            f"FAILED: {len(required)} test(s) that CI must run were skipped "
            f"({CI_ENV}=1); install what they need, or add them to ALLOWED_ON_CI in "
            "tests/skip_report.py with the reason",
            red=True,
            bold=True,
        )
