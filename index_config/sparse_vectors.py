"""Sparse vectors from CatalanAnalyzer terms. Qdrant applies IDF (sparse IDF modifier);
we write BM25-saturated term frequencies so long documents do not win by length alone."""

from __future__ import annotations

import zlib

from haystack.dataclasses import SparseEmbedding

from index_config.settings import AnalyzerSettings


def term_index(term: str) -> int:
    """A stable 31-bit index for a term (the same in every process and version)."""
    return zlib.crc32(term.encode("utf-8")) & 0x7FFFFFFF


def to_sparse(weights: dict[str, float]) -> SparseEmbedding:
    merged: dict[int, float] = {}
    for term, weight in weights.items():
        if weight > 0:
            idx = term_index(term)
            merged[idx] = merged.get(idx, 0.0) + float(weight)
    indices = sorted(merged)
    return SparseEmbedding(indices=indices, values=[merged[i] for i in indices])


def bm25_document_weights(counts: dict[str, float], settings: AnalyzerSettings) -> dict[str, float]:
    length = sum(counts.values()) or 1.0
    k1, b = settings.bm25_k1, settings.bm25_b
    norm = k1 * (1 - b + b * length / settings.avg_doc_length)
    return {term: tf * (k1 + 1) / (tf + norm) for term, tf in counts.items()}
