"""The Qdrant server path (CONCERTA_QDRANT_URL): versions as collections behind an alias,
ingested and searched through qdrant-client. No server runs here, so qdrant-client's local
mode, the reference implementation of the server's semantics, stands in for it; the
answers must be those of the embedded Qdrant Edge path on the same corpus."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from qdrant_client import QdrantClient
from rich.console import Console

from assistant.models import Filters
from assistant.retrieval.searcher import Searcher
from index_config import Settings
from index_config.server_versions import ServerIndexVersions
from index_config.term_stats import TermStatistics
from index_config.versions import IndexVersions
from ingest.job import IngestJob, IngestReport
from tests.conftest import make_settings

pytestmark = pytest.mark.integration

MINI = Path(__file__).resolve().parents[1] / "data" / "mini"
QUERIES = [
    ("xarxes wifi públiques a la plaça", None),
    ("legionel·la a les dutxes", None),
    ("com es justifica un ajut", None),
    ("termini", Filters(kind="normativa")),
    ("ajuts", Filters(tipologia="econòmic")),
    ("ajuts", Filters.parse({"obert_a": "2022-03-20"})),
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("server-corpus") / "corpus"
    shutil.copytree(MINI, folder)
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, IndexVersions]]:
    # A URL selects the server path; the local-mode client stands in for that server.
    settings = make_settings(
        tmp_path_factory.mktemp("server-data"), qdrant_url="http://qdrant.invalid:6333"
    )
    client = QdrantClient(":memory:")
    yield settings, ServerIndexVersions(settings, client=client, retire_grace=0.0)
    client.close()


def ingest(settings: Settings, versions: IndexVersions | None, *sources: Path) -> IngestReport:
    console = Console(file=io.StringIO())
    return IngestJob(settings, console=console, versions=versions).run([str(s) for s in sources])


def results(searcher: Searcher) -> list[list[tuple[str, float]]]:
    return [
        [(h.id, round(h.score, 4)) for h in searcher.search(query, filters, top_k=8)]
        for query, filters in QUERIES
    ]


def test_ingest_publishes_a_collection_behind_the_alias(
    server: tuple[Settings, ServerIndexVersions], corpus: Path
) -> None:
    settings, versions = server
    report = ingest(settings, versions, corpus)
    assert report.summary_line() == "added=6 updated=0 unchanged=0 deleted=0 failed=0"
    assert report.version is not None and report.version.startswith("concerta__v")
    assert versions.current() == report.version
    aliases = versions.client.get_aliases().aliases
    assert [(a.alias_name, a.collection_name) for a in aliases] == [("concerta", report.version)]
    opened = versions.open(report.version)
    try:
        assert opened.count == opened.manifest.chunks == opened.store.count_documents() > 6
        assert opened.term_stats.n == opened.count
    finally:
        opened.close()
    # Unchanged: no new collection.
    again = ingest(settings, versions, corpus)
    assert again.summary_line() == "added=0 updated=0 unchanged=6 deleted=0 failed=0"
    assert again.version == report.version and again.build is None


def test_server_and_edge_paths_answer_alike(
    server: tuple[Settings, ServerIndexVersions],
    corpus: Path,
    tmp_path: Path,
) -> None:
    settings, versions = server
    if versions.current() is None:
        ingest(settings, versions, corpus)
    edge_settings = make_settings(tmp_path / "edge")
    assert ingest(edge_settings, None, corpus).failed == 0
    on_server, on_edge = Searcher(settings, versions=versions), Searcher(edge_settings)
    try:
        on_server.warm_up()
        on_edge.warm_up()
        server_results, edge_results = results(on_server), results(on_edge)
        assert server_results == edge_results
        assert all(server_results[:3]), server_results
        assert server_results[0][0][0] == "recurs:22133#0"
        assert on_server.index is not None and on_edge.index is not None
        stats = [s.index.get().term_stats for s in (on_server, on_edge)]  # type: ignore[union-attr]
        assert stats[0] == stats[1] and isinstance(stats[0], TermStatistics)
    finally:
        on_server.close()
        on_edge.close()


def test_updates_reuse_the_retired_collection_and_prune_keeps_two(
    server: tuple[Settings, ServerIndexVersions], corpus: Path
) -> None:
    settings, versions = server
    if versions.current() is None:
        ingest(settings, versions, corpus)
    catalogue = corpus / "cataleg-mini.jsonl"
    builds = []
    for name in ("Ajuts per a xarxes wifi a les places", "Ajuts per a xarxes wifi municipals"):
        lines = []
        for line in catalogue.read_text("utf-8").splitlines():
            record = json.loads(line)
            if record["codi"] == "22133":
                record["nom"] = name
            lines.append(json.dumps(record, ensure_ascii=False))
        catalogue.write_text("\n".join(lines) + "\n", "utf-8")
        report = ingest(settings, versions, corpus)
        assert report.summary_line() == "added=0 updated=1 unchanged=5 deleted=0 failed=0"
        builds.append(report.build)
    # The first update copies the served collection; the second reuses the one the first
    # retired, writing only what differs from the served one (the renamed resource).
    assert builds == ["copied", "recycled"]
    assert report.caught_up == 1
    ours = [c.name for c in versions.client.get_collections().collections]
    assert len(ours) == 2 and versions.current() in ours
    opened = versions.open(str(versions.current()))
    try:
        (chunk,) = opened.store.filter_documents(
            {"field": "meta.codi", "operator": "==", "value": "22133"}
        )
        assert chunk.meta["title"] == "Ajuts per a xarxes wifi municipals"
    finally:
        opened.close()
