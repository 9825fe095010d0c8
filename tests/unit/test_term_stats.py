"""TermStatistics: the IDF formula, incremental updates equal to a recount, storage."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from haystack import Document

from index_config.analyzer import CatalanAnalyzer
from index_config.term_stats import TermStatistics


@pytest.fixture(scope="module")
def analyzer() -> CatalanAnalyzer:
    return CatalanAnalyzer()


def doc(title: str, content: str) -> Document:
    return Document(content=content, meta={"title": title})


DOCS = [
    doc("Xarxes wifi", "Ajuts per desplegar xarxes wifi a les places."),
    doc("Legionel·la", "Prevenció de la legionel·losi a les dutxes del poliesportiu."),
    doc("Camins", "Arranjament de camins municipals i ponts."),
]


def test_idf_counts_chunks_with_the_title_and_content(analyzer: CatalanAnalyzer) -> None:
    stats = TermStatistics(analyzer, DOCS)
    assert stats.n == 3
    wifi = next(t for t in analyzer.term_weights("wifi"))
    assert stats.df[wifi] == 1
    assert stats.idf(wifi) == pytest.approx(math.log(1 + (3 - 1 + 0.5) / (1 + 0.5)))
    assert stats.idf("mai-vist") == pytest.approx(math.log(1 + 3.5 / 0.5))


def test_incremental_updates_equal_a_recount(analyzer: CatalanAnalyzer) -> None:
    stats = TermStatistics(analyzer, DOCS)
    changed = doc("Camins", "Arranjament de camins rurals.")
    stats.remove(analyzer, [DOCS[2]])
    stats.add(analyzer, [changed, doc("Nou", "Un recurs nou sobre wifi.")])
    assert stats == TermStatistics(
        analyzer, [DOCS[0], DOCS[1], changed, doc("Nou", "Un recurs nou sobre wifi.")]
    )
    stats.remove(analyzer, list(DOCS[:2]))
    assert all(v > 0 for v in stats.df.values()) and stats.n == 2


def test_saved_and_loaded_unchanged(analyzer: CatalanAnalyzer, tmp_path: Path) -> None:
    stats = TermStatistics(analyzer, DOCS)
    stats.save(tmp_path / "stats.json")
    assert TermStatistics.load(tmp_path / "stats.json") == stats


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x00\xff",
        b"[]",
        b'{"format": "x"}',
        b'{"format": "concerta-term-stats-1", "n": "3", "df": {}}',
    ],
)
def test_damaged_files_are_errors(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "stats.json"
    path.write_bytes(content)
    with pytest.raises((ValueError, OSError)):
        TermStatistics.load(path)


def test_the_grounding_module_still_offers_it() -> None:
    from assistant.grounding import TermStatistics as FromGrounding

    assert FromGrounding is TermStatistics


def test_the_sparse_embedders_terms_are_the_terms_counted(analyzer: CatalanAnalyzer) -> None:
    """The ingest counts term statistics from the analysis of the sparse vectors: title
    and content analysed apart give the terms of "title content" analysed at once."""
    from index_config.sparse_document_embedder import CatalanSparseDocumentEmbedder
    from index_config.term_stats import document_terms
    from ingest.sources import convert_item, resolve
    from tests.conftest import SAMPLE_DIR

    _, items, _ = resolve([str(SAMPLE_DIR / "cataleg"), str(SAMPLE_DIR / "normativa")])
    chunks = [c for item in items for d in convert_item(item, 220, 40, "fp")[0] for c in d.chunks]
    sparse = CatalanSparseDocumentEmbedder(text_cache_size=8)
    assert len(chunks) > 200
    for chunk in chunks:
        assert sparse.terms(chunk) == document_terms(analyzer, chunk), chunk.id
