"""Congruence: Qdrant Edge (the embedded engine) and qdrant-client's local mode (the
reference implementation of a Qdrant server's semantics, standing in for the server path)
return the same chunks in the same order for the same points, filters and queries.

Both hold the session index's points (real model vectors, Catalan sparse vectors with the
IDF modifier): copied from the Edge version into a local-mode collection."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from qdrant_client import QdrantClient

from assistant.evaluation.questions import load_questions
from assistant.models import Filters
from assistant.retrieval.filters import to_haystack
from assistant.retrieval.retriever import HybridChunkRetriever
from index_config import Settings
from index_config.chunk_store import ChunkStore, EngineFusion, VectorQuery
from index_config.edge_store import EdgeChunkStore
from index_config.embedders import text_embedder
from index_config.points import ScoredChunk
from index_config.server_store import ServerChunkStore
from index_config.settings import FusionMethod
from index_config.sparse_text_embedder import CatalanSparseTextEmbedder
from index_config.versions import index_versions
from tests.conftest import PROJECT_DIR

pytestmark = pytest.mark.integration

QUESTIONS = [q.question for q in load_questions(PROJECT_DIR / "data" / "questions-dev.jsonl")][:25]
FILTERS = {
    "none": None,
    "kind": Filters(kind="normativa"),
    "tipologia": Filters(tipologia="econòmic"),
    "dest+obert": Filters.parse({"destinataris": "Consells comarcals", "obert_a": "2022-03-15"}),
    "any+classe": Filters.parse({"any": 2022, "classe": "Fons de prestació"}),
}
FUSIONS = [
    EngineFusion("rrf", 0.35, 0.65, rrf_k=60),
    EngineFusion("dbsf"),
    EngineFusion("formula", 0.35, 0.65, sparse_scale=10.0),
]
TOP = 10


@pytest.fixture(scope="module")
def engines(indexed_settings: Settings) -> Iterator[tuple[EdgeChunkStore, ServerChunkStore]]:
    versions = index_versions(indexed_settings)
    current = versions.current()
    assert current is not None
    opened = versions.open(current)
    edge = opened.store
    assert isinstance(edge, EdgeChunkStore)
    client = QdrantClient(":memory:")
    reference = ServerChunkStore(client, "reference", opened.manifest.embedding_dim)
    ids = [str(p["id"]) for p in edge.scan([])]
    for start in range(0, len(ids), 100):
        reference.upsert_points(edge.export_points(ids[start : start + 100]))
    assert reference.count_documents() == edge.count_documents() == opened.count
    yield edge, reference
    opened.close()
    client.close()


@pytest.fixture(scope="module")
def queries(indexed_settings: Settings) -> list[tuple[list[float], object]]:
    dense = text_embedder(indexed_settings)
    dense.warm_up()
    sparse = CatalanSparseTextEmbedder(analyzer=indexed_settings.analyzer.model_dump())
    return [
        (dense.run(text=q)["embedding"], sparse.run(text=q)["sparse_embedding"]) for q in QUESTIONS
    ]


def haystack_filters(name: str) -> dict | None:
    chosen = FILTERS[name]
    return to_haystack(chosen) if chosen is not None else None


def comparable(results: list[ScoredChunk], n: int) -> list[ScoredChunk]:
    """The first n results, minus a tie that the limit cuts through (engines may keep
    either member of a tie at the boundary)."""
    head = results[:n]
    if len(results) > n and abs(results[n].score - head[-1].score) < 1e-6:
        tied = head[-1].score
        head = [r for r in head if abs(r.score - tied) >= 1e-6]
    return head


def assert_same(mine: list[ScoredChunk], theirs: list[ScoredChunk], what: str) -> None:
    expected = comparable(theirs, TOP)
    got = mine[: len(expected)]
    assert [r.chunk_id for r in got] == [r.chunk_id for r in expected], what
    assert [r.score for r in got] == pytest.approx([r.score for r in expected], rel=1e-4, abs=1e-5)


@pytest.mark.parametrize("name", list(FILTERS))
def test_dense_and_sparse_searches_agree(
    engines: tuple[ChunkStore, ChunkStore], queries: list, name: str
) -> None:
    edge, reference = engines
    filters = haystack_filters(name)
    compared = 0
    for question, (dense, sparse) in zip(QUESTIONS, queries, strict=True):
        asked = [
            VectorQuery("dense", dense, 2 * TOP, filters),
            VectorQuery("sparse", sparse, 2 * TOP, filters),
        ]
        for mine, theirs, side in zip(
            edge.search(asked, ["meta.unit_id"]),
            reference.search(asked, ["meta.unit_id"]),
            ("dense", "sparse"),
            strict=True,
        ):
            assert_same(mine, theirs, f"{side} {name}: {question}")
            compared += len(theirs) > 0
    assert compared >= len(QUESTIONS)  # the filters leave something to compare


@pytest.mark.parametrize("fusion", FUSIONS, ids=[f.method for f in FUSIONS])
@pytest.mark.parametrize("name", ["none", "dest+obert"])
def test_engine_fusions_over_prefetches_agree(
    engines: tuple[ChunkStore, ChunkStore], queries: list, fusion: EngineFusion, name: str
) -> None:
    edge, reference = engines
    filters = haystack_filters(name)
    for question, (dense, sparse) in zip(QUESTIONS, queries, strict=True):
        asked = [
            VectorQuery("dense", dense, 50, filters),
            VectorQuery("sparse", sparse, 50, filters),
        ]
        assert_same(
            edge.fused_search(asked, fusion, 2 * TOP),
            reference.fused_search(asked, fusion, 2 * TOP),
            f"{fusion.method} {name}: {question}",
        )


@pytest.mark.parametrize("fusion", ["dbsf", "weighted"])
@pytest.mark.parametrize("name", list(FILTERS))
def test_the_hybrid_retriever_ranks_alike_on_both_engines(
    engines: tuple[ChunkStore, ChunkStore], queries: list, name: str, fusion: FusionMethod
) -> None:
    edge, reference = engines
    filters = haystack_filters(name)
    for question, (dense, sparse) in zip(QUESTIONS, queries, strict=True):
        mine, theirs = (
            HybridChunkRetriever(store, fusion=fusion).run(dense, sparse, filters, top_k=TOP)[
                "documents"
            ]
            for store in (edge, reference)
        )
        assert [d.id for d in mine] == [d.id for d in theirs], question
        assert [d.meta["_sparse_score"] for d in mine] == pytest.approx(
            [d.meta["_sparse_score"] for d in theirs], rel=1e-4
        )


def test_filter_documents_agree(engines: tuple[ChunkStore, ChunkStore]) -> None:
    edge, reference = engines
    for name in FILTERS:
        haystack = haystack_filters(name)
        mine = sorted(d.id for d in edge.filter_documents(haystack))
        theirs = sorted(d.id for d in reference.filter_documents(haystack))
        assert mine == theirs and mine, name
    codi = {"field": "meta.codi", "operator": "in", "value": ["22133", "22426"]}
    assert sorted(d.id for d in edge.filter_documents(codi)) == [
        "recurs:22133#0",
        "recurs:22426#0",
    ]
