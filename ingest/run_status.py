"""The summary of each `concerta ingest` run, kept in the data folder for /metrics.

An ingest runs in its own process, so the server cannot count it in its own registry: the
run writes a small JSON file (Settings.ingest_status_path) that /metrics reads at scrape
time. It holds the run totals by result and the last run's figures:

    {"runs": {"ok": 12, "partial": 1, "error": 0},
     "last": {"result": "ok", "started_at": "...", "finished_at": "...",
              "finished_at_unix": 1764600000.0, "duration_seconds": 0.8, "version": "v...",
              "documents": {"added": 0, "updated": 1, "unchanged": 147, "deleted": 0,
                            "failed": 0},
              "error": null}}
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol


class RunSummary(Protocol):
    """What a run reports (ingest.job.IngestReport): documents by change, failures."""

    added: int
    updated: int
    unchanged: int
    deleted: int
    version: str | None

    @property
    def failed(self) -> int: ...


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    # Two runs may finish close together (the second one refused by the ingest lock):
    # the read-modify-write of the totals must not lose either.
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class IngestRun:
    """Times one run and records its outcome: `with IngestRun(path) as run: ...`, then
    `run.finished(report)`; an exception escaping the block is recorded as an error."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._started = dt.datetime.now(dt.UTC)
        self._clock = time.monotonic()
        self._recorded = False

    def __enter__(self) -> IngestRun:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if exc is not None and not self._recorded and not isinstance(exc, SystemExit):
            self.failed(f"{type(exc).__name__}: {exc}")

    def finished(self, report: RunSummary) -> None:
        documents = {
            "added": report.added,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "deleted": report.deleted,
            "failed": report.failed,
        }
        self._write("partial" if report.failed else "ok", documents, report.version, None)

    def failed(self, reason: str) -> None:
        self._write("error", {}, None, reason)

    def _write(
        self, result: str, documents: dict[str, int], version: str | None, error: str | None
    ) -> None:
        self._recorded = True
        finished = dt.datetime.now(dt.UTC)
        with _locked(self.path):
            status = read_status(self.path)
            runs = {"ok": 0, "partial": 0, "error": 0, **(status.get("runs") or {})}
            runs[result] = int(runs.get(result, 0)) + 1
            status = {
                "runs": runs,
                "last": {
                    "result": result,
                    "started_at": self._started.isoformat(timespec="seconds"),
                    "finished_at": finished.isoformat(timespec="seconds"),
                    "finished_at_unix": finished.timestamp(),
                    "duration_seconds": round(time.monotonic() - self._clock, 3),
                    "version": version,
                    "documents": documents,
                    "error": error,
                },
            }
            _replace(self.path, json.dumps(status, ensure_ascii=False, indent=2))


def read_status(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _replace(path: Path, text: str) -> None:
    """Write atomically: a scrape never reads half a file."""
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=".ingest-status-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
