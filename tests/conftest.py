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
