"""Prometheus metrics of one app (GET /metrics), in a registry of its own.

Two kinds: what this process counts as it serves (requests, latency, rate limiting), and
what is read at scrape time from where it already lives: answers and ratings from the
conversation store (so the in-process Telegram bot and restarts are counted right), LLM
calls from the service's LLMAnswerer, the served index version, and the last ingest run
from the status file its own process writes.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

# Seconds: a search takes ~30 ms, an answer ~35 ms, an LLM answer seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
INGEST_CHANGES = ("added", "updated", "unchanged", "deleted", "failed")
INGEST_RESULTS = ("ok", "partial", "error")
LLM_FALLBACKS = ("error", "rejected", "refusal")


class ApiMetrics:
    """The registry and the counters the API's own code updates."""

    def __init__(self, service: Any) -> None:
        # No auto_describe: it would read the service and the data folder at start-up.
        self.registry = CollectorRegistry(auto_describe=False)
        self.requests = Counter(
            "concerta_http_requests",
            "HTTP requests by route template, method and status code.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "concerta_http_request_duration_seconds",
            "Time to the end of the response body, by route template and method.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        # Incremented by the rate limiter (assistant/api), once per request refused with 429.
        self.rate_limited = Counter(
            "concerta_rate_limited",
            "Requests refused because their client was over its rate limit.",
            registry=self.registry,
        )
        self.registry.register(ServiceCollector(service))

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(seconds)


class ServiceCollector(Collector):
    """Figures read at scrape time from the service and the data folder."""

    def __init__(self, service: Any) -> None:
        self.service = service

    def collect(self) -> Iterator[Metric]:
        settings = self.service.settings
        sections = (
            lambda: _index_metrics(getattr(self.service, "searcher", None)),
            lambda: _answer_metrics(settings.sqlite_path),
            lambda: _llm_metrics(getattr(self.service, "llm", None)),
            lambda: _ingest_metrics(settings.ingest_status_path),
        )
        for section in sections:
            # One unreadable source must not take the whole scrape (and the rest) down.
            try:
                yield from list(section())
            except Exception:
                log.exception("metrics: a collector section failed")


def _index_metrics(searcher: Any) -> Iterator[Metric]:
    handle = getattr(searcher, "index", None)
    opened = handle.peek() if handle is not None else None
    info = GaugeMetricFamily(
        "concerta_index_info", "The index version being served (value 1).", labels=["version"]
    )
    chunks = GaugeMetricFamily("concerta_index_chunks", "Chunks in the served index version.")
    if opened is not None:
        info.add_metric([opened.version], 1)
        chunks.add_metric([], opened.count)
    else:
        chunks.add_metric([], 0)
    ready = GaugeMetricFamily("concerta_index_ready", "1 when a non-empty index is served.")
    ready.add_metric([], 1 if opened is not None and opened.count > 0 else 0)
    yield from (info, chunks, ready)


def _answer_metrics(sqlite_path: Path) -> Iterator[Metric]:
    answers = CounterMetricFamily(
        "concerta_answers",
        "Answers given, by outcome; refusals by reason (unknown when none was stored).",
        labels=["outcome", "reason"],
    )
    ratings = CounterMetricFamily(
        "concerta_feedback", "Ratings of answers (up, down).", labels=["rating"]
    )
    outcomes, votes = _stored_counts(sqlite_path)
    answers.add_metric(["answered", ""], outcomes.pop(("answered", ""), 0))
    for (outcome, reason), n in sorted(outcomes.items()):
        answers.add_metric([outcome, reason], n)
    for name in ("up", "down"):
        ratings.add_metric([name], votes.get(name, 0))
    yield from (answers, ratings)


def _stored_counts(path: Path) -> tuple[dict[tuple[str, str], int], dict[str, int]]:
    outcomes: dict[tuple[str, str], int] = {}
    votes: dict[str, int] = {}
    if not path.exists():
        return outcomes, votes
    try:
        with closing(sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)) as db:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            columns = {r[1] for r in db.execute("PRAGMA table_info(turns)")}
            reason = "refusal_reason" if "refusal_reason" in columns else "NULL"
            if "turns" in tables:
                for grounded, why, n in db.execute(
                    f"SELECT grounded, {reason}, count(*) FROM turns GROUP BY 1, 2"
                ):
                    key = ("answered", "") if grounded else ("refused", why or "unknown")
                    outcomes[key] = outcomes.get(key, 0) + n
            if "feedback" in tables:
                for rating, n in db.execute("SELECT rating, count(*) FROM feedback GROUP BY 1"):
                    votes["up" if rating == 1 else "down"] = n
    except sqlite3.Error as exc:
        log.warning("metrics: cannot read the conversation store: %s", exc)
    return outcomes, votes


def _llm_metrics(llm: Any) -> Iterator[Metric]:
    counts = getattr(llm, "counters", None)
    calls = CounterMetricFamily("concerta_llm_calls", "Requests sent to the LLM server.")
    calls.add_metric([], counts.calls if counts else 0)
    fallbacks = CounterMetricFamily(
        "concerta_llm_fallbacks",
        "LLM answers replaced by the composer's: error (failed, timed out, cut), "
        "rejected (failed the grounding check), refusal (the LLM declined).",
        labels=["reason"],
    )
    for reason in LLM_FALLBACKS:
        fallbacks.add_metric([reason], getattr(counts, reason, 0) if counts else 0)
    yield from (calls, fallbacks)


def _ingest_metrics(path: Path) -> Iterator[Metric]:
    status = _read_json(path)
    runs = CounterMetricFamily(
        "concerta_ingest_runs",
        "`concerta ingest` runs on this data folder: ok, partial (some sources failed), "
        "error (the run stopped).",
        labels=["result"],
    )
    totals = status.get("runs") or {}
    for result in INGEST_RESULTS:
        runs.add_metric([result], int(totals.get(result, 0)))
    yield runs
    last = status.get("last") or {}
    if not last:
        return
    finished = GaugeMetricFamily(
        "concerta_ingest_last_run_timestamp_seconds", "When the last ingest run finished."
    )
    finished.add_metric([], float(last.get("finished_at_unix", 0)))
    duration = GaugeMetricFamily(
        "concerta_ingest_last_run_duration_seconds", "How long the last ingest run took."
    )
    duration.add_metric([], float(last.get("duration_seconds", 0)))
    success = GaugeMetricFamily(
        "concerta_ingest_last_run_success", "1 when the last ingest run had no failure."
    )
    success.add_metric([], 1 if last.get("result") == "ok" else 0)
    documents = GaugeMetricFamily(
        "concerta_ingest_last_run_documents",
        "Documents of the last ingest run, by change.",
        labels=["change"],
    )
    for change in INGEST_CHANGES:
        documents.add_metric([change], int((last.get("documents") or {}).get(change, 0)))
    yield from (finished, duration, success, documents)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("metrics: unreadable ingest status %s: %s", path, exc)
        return {}
    return value if isinstance(value, dict) else {}
