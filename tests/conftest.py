"""Shared fixtures. The model must never be fetched from a hub: everything is offline."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from collections.abc import Iterator
from pathlib import Path

import pytest

from index_config.settings import PROJECT_DIR, Settings

SAMPLE_DIR = PROJECT_DIR / "data" / "sample"


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings isolated from the developer's environment and data folder."""
    return Settings(data_dir=data_dir, **overrides)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def indexed_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A data folder holding the sample corpus ingested with the real model and a local
    Qdrant; built once per test session."""
    from ingest.job import IngestJob

    settings = make_settings(tmp_path_factory.mktemp("concerta-index"))
    report = IngestJob(settings).run(settings.resolved_sources())
    assert report.failed == 0, report.failures
    return settings


@pytest.fixture(scope="session")
def assistant_service(indexed_settings: Settings) -> Iterator[object]:
    """A warmed AssistantService on the session index (shared: do not close it)."""
    from assistant.service import AssistantService

    service = AssistantService(indexed_settings)
    service.warm_up()
    yield service
    service.close()


HOSTILE_DIR = PROJECT_DIR / "tests" / "data" / "hostile"


@pytest.fixture(scope="session")
def hostile_settings(
    indexed_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """The session index plus the hostile records of tests/data/hostile (markup, script
    and phishing links, prompt injections), in a copy of its own with an empty SQLite."""
    import shutil

    from ingest.job import IngestJob

    data_dir = tmp_path_factory.mktemp("concerta-hostile") / "data"
    shutil.copytree(
        indexed_settings.data_dir, data_dir, ignore=shutil.ignore_patterns("concerta.sqlite3*")
    )
    settings = indexed_settings.model_copy(update={"data_dir": data_dir})
    report = IngestJob(settings).run([str(HOSTILE_DIR / "cataleg-hostil.jsonl")])
    assert (report.added, report.failed) == (6, 0), report.failures
    return settings


@pytest.fixture(scope="session")
def hostile_service(hostile_settings: Settings) -> Iterator[object]:
    """A warmed AssistantService on the hostile index (shared: do not close it)."""
    from assistant.service import AssistantService

    service = AssistantService(hostile_settings)
    service.warm_up()
    yield service
    service.close()
