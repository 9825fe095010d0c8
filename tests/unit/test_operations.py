"""Operator plumbing offline: the ingest status file, LLM counters, JSON log lines."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from assistant.api.logs import JsonFormatter, configure_logging
from assistant.llm import REFUSAL, LLMAnswerer, LLMError
from assistant.models import Hit
from index_config import Settings
from ingest.run_status import IngestRun, read_status

SOURCE = Hit(id="22133#0", doc_id="22133", kind="recurs", title="Wifi", snippet="",
             score=1.0, source="cataleg.jsonl", codi="22133")  # fmt: skip


@dataclass
class Summary:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    version: str | None = "v1"
    failures: int = 0

    @property
    def failed(self) -> int:
        return self.failures


def test_ingest_runs_accumulate_and_keep_the_last_summary(tmp_path: Path) -> None:
    path = tmp_path / "data" / "ingest-status.json"
    with IngestRun(path) as run:
        run.finished(Summary(added=148))
    with IngestRun(path) as run:
        run.finished(Summary(updated=1, unchanged=146, failures=1, version="v2"))
    with pytest.raises(RuntimeError), IngestRun(path):
        raise RuntimeError("disk full")
    status = read_status(path)
    assert status["runs"] == {"ok": 1, "partial": 1, "error": 1}
    last = status["last"]
    assert last["result"] == "error" and last["error"] == "RuntimeError: disk full"
    assert last["documents"] == {} and last["finished_at_unix"] > 0
    with IngestRun(path) as run:
        run.finished(Summary(unchanged=148, version="v3"))
    last = read_status(path)["last"]
    assert last["result"] == "ok" and last["version"] == "v3"
    assert last["documents"] == {
        "added": 0,
        "updated": 0,
        "unchanged": 148,
        "deleted": 0,
        "failed": 0,
    }
    assert [p.name for p in path.parent.iterdir() if p.suffix == ".tmp"] == []


def test_llm_counters_follow_calls_and_fallback_reasons() -> None:
    # Nothing listens on port 9 of the loopback: the call fails at once, offline.
    answerer = LLMAnswerer(Settings(llm_base_url="http://127.0.0.1:9/v1", llm_timeout=2))
    answerer.warm_up()
    with pytest.raises(LLMError):
        list(answerer.stream("Hi ha ajuts per al wifi?", [SOURCE], []))
    assert (answerer.counters.calls, answerer.counters.error) == (1, 1)
    assert answerer.check(REFUSAL, [SOURCE]) == []
    assert answerer.check("L'import és de 99.999 EUR [7].", [SOURCE])
    assert answerer.check("Hi ha el recurs 22133 [1].", [SOURCE]) == []
    assert (answerer.counters.refusal, answerer.counters.rejected) == (1, 1)
    answerer.close()


def test_json_lines_carry_the_request_fields() -> None:
    record = logging.LogRecord(
        "concerta.requests", logging.INFO, __file__, 1, "GET %s", ("/x",), None
    )
    record.request = {"method": "GET", "route": "/x", "status": 200, "duration_ms": 1.5,
                      "request_id": "ab" * 16, "client": "127.0.0.1"}  # fmt: skip
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "GET /x" and line["level"] == "INFO"
    assert line["request_id"] == "ab" * 16 and line["status"] == 200 and line["route"] == "/x"


@pytest.fixture
def clean_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    service = logging.getLogger("assistant.service")
    service_level = service.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    service.setLevel(service_level)


@pytest.mark.usefixtures("clean_logging")
def test_json_logging_installs_one_json_handler() -> None:
    configure_logging(Settings(log_format="json"))
    (handler,) = logging.getLogger().handlers
    assert isinstance(handler.formatter, JsonFormatter)


@pytest.mark.parametrize("placeholder", ["changeme", "  Secret ", ""])
def test_a_placeholder_operator_token_is_refused(placeholder: str) -> None:
    with pytest.raises(ValueError, match="placeholder secret"):
        Settings(admin_token=SecretStr(placeholder))


def test_operator_settings_that_cannot_work_are_refused() -> None:
    with pytest.raises(ValueError, match="metrics_require_token needs CONCERTA_ADMIN_TOKEN"):
        Settings(metrics_require_token=True, admin_token=None)
    with pytest.raises(ValueError, match="unknown time zone"):
        Settings(report_timezone="Europe/Vic")
    settings = Settings(admin_token=SecretStr("a-real-operator-token"), metrics_require_token=True)
    assert settings.admin_token is not None
    assert settings.admin_token.get_secret_value() == "a-real-operator-token"
    assert "a-real-operator-token" not in repr(settings)
