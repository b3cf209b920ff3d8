"""SECURITY.md AL3: scan every log record and every audit entry the test suite produces for
image bytes, base64 images, embedding vectors and full ID numbers.

A pytest plugin (registered by tests/conftest.py). At start it attaches a handler to the
root logger that copies every record of level INFO and above (the ``proctor`` and ``api``
loggers are lowered to INFO so their records are really emitted) into
var/artifacts/security/suite-logs.txt, including exception tracebacks and the ``args``
of each record. At the end it reads that file plus the ``audit_entry`` rows of every
SQLite database under the session's temporary directory, scans them, writes
var/artifacts/security/log_scan.md and fails the run on any finding.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from pathlib import Path

import pytest

from .artifacts import ARTIFACTS

LOG_FILE = ARTIFACTS / "suite-logs.txt"
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID = re.compile(
    r"(?<![0-9])[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[0-9Xx]"
)
_FLOATS = re.compile(r"(?:-?\d+\.\d{3,}(?:[eE]-?\d+)?[,\s]+){16,}")
_B64_RUN = re.compile(r"[A-Za-z0-9+/]{512,}={0,2}")
PATTERNS: dict[str, re.Pattern[str]] = {
    "jpeg magic": re.compile(r"\xff\xd8\xff|\\xff\\xd8\\xff", re.IGNORECASE),
    "png magic": re.compile(r"\x89PNG|\\x89PNG"),
    "base64 image": re.compile(r"/9j/4|iVBORw0KGgo|UklGR[A-Za-z0-9+/]{4}V0VCU"),
    "long base64 run": _B64_RUN,
    "embedding-like float vector": _FLOATS,
}


def _id_checksum_ok(s: str) -> bool:
    total = sum(int(c) * w for c, w in zip(s[:17], _ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == s[17].upper()


def scan_text(text: str, source: str) -> list[tuple[str, str, str]]:
    """(source, kind, excerpt) for each finding."""
    found = []
    for kind, pattern in PATTERNS.items():
        for m in pattern.finditer(text):
            found.append((source, kind, m.group(0)[:40].encode("unicode_escape").decode()))
    for m in _ID.finditer(text):
        if _id_checksum_ok(m.group(0)):
            found.append((source, "ID number", m.group(0)[:6] + "…"))
    return found


class _Copy(logging.Handler):
    def __init__(self, path: Path) -> None:
        super().__init__(logging.INFO)
        self._path = path
        self._fh = path.open("w", encoding="utf-8", errors="backslashreplace")

    def emit(self, record: logging.LogRecord) -> None:
        try:
            msg = record.getMessage()
        except Exception:  # a broken format string is still scanned raw
            msg = f"{record.msg!r} {record.args!r}"
        try:
            if self._fh.closed:  # reopened after a logging.config reset (uvicorn's dictConfig)
                self._fh = self._path.open("a", encoding="utf-8", errors="backslashreplace")
            self._fh.write(f"{record.name} {record.levelname} {msg} args={record.args!r}\n")
            if record.exc_info:
                self._fh.write(logging.Formatter().formatException(record.exc_info) + "\n")
            self.records += 1
        except Exception:  # a log copy must never fail the code that logs
            self.handleError(record)

    records = 0

    def flush(self) -> None:
        if not self._fh.closed:
            self._fh.flush()

    def close(self) -> None:
        # logging.config.dictConfig (uvicorn starts with one) closes every handler it knows
        # while ours stays attached to the root logger: keep the copy going until finish().
        self.flush()

    def finish(self) -> None:
        self._fh.close()
        super().close()


_handler: _Copy | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _handler
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    _handler = _Copy(LOG_FILE)
    logging.getLogger().addHandler(_handler)
    for name in ("proctor", "api"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)


def _audit_texts(base: Path) -> list[tuple[str, str]]:
    out = []
    for db in base.rglob("*.db"):
        try:
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            rows = con.execute("SELECT actor, action, subject, details FROM audit_entry").fetchall()
            con.close()
        except sqlite3.Error:
            continue
        out.append((str(db.relative_to(base)), "\n".join(" ".join(map(str, r)) for r in rows)))
    return out


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _handler is None:
        return
    logging.getLogger().removeHandler(_handler)
    records = _handler.records
    _handler.finish()
    findings = scan_text(LOG_FILE.read_text(encoding="utf-8", errors="replace"), "logs")
    audits = 0
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is not None:
        for source, text in _audit_texts(factory.getbasetemp()):
            audits += text.count("\n") + bool(text)
            findings += scan_text(text, f"audit {source}")
    lines = [
        "# Log and audit scan of this test run (AL3)",
        "",
        f"Scanned {records:,} log records and {audits:,} audit entries: {len(findings)} findings.",
        "",
    ] + [f"- {src}: {kind}: `{excerpt}`" for src, kind, excerpt in findings[:50]]
    (ARTIFACTS / "log_scan.md").write_text("\n".join(lines) + "\n")
    if findings:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"AL3 log scan: {len(findings)} findings, see {ARTIFACTS}/log_scan.md", red=True
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
