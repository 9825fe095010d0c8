"""Searcher: hybrid retrieval over the served index (dense + Catalan sparse, fused)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from haystack import Document

from assistant.errors import QueryError
from assistant.models import Filters, Hit
from assistant.retrieval.filters import to_haystack
from assistant.retrieval.fusion import WeightedScoreFusion
from assistant.retrieval.hits import to_hit
from assistant.retrieval.index import IndexHandle
from index_config import Settings
from index_config.analyzer import CatalanAnalyzer
from index_config.embedders import text_embedder
from index_config.sparse_text_embedder import CatalanSparseTextEmbedder

MAX_QUERY_CHARS = 2000


@dataclass
class Retrieved:
    """A result with the chunk it came from (the composer reads the whole text)."""

    hit: Hit
    document: Document


class Searcher:
    """Loads the query embedder once; safe to call from several threads."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.analyzer = CatalanAnalyzer(settings.analyzer)
        self._dense = text_embedder(settings)
        self._sparse = CatalanSparseTextEmbedder(analyzer=settings.analyzer.model_dump())
        weights = settings.retrieval.weights_for(settings.embedding_model)
        self.fusion = WeightedScoreFusion(weights.dense, weights.sparse)
        self.index: IndexHandle | None = None
        # Local-mode Qdrant and the tokenizer are not made for concurrent calls.
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        self._dense.warm_up()
        self._sparse.warm_up()
        backend = self._dense.embedding_backend
        dim = backend.model.get_embedding_dimension()  # type: ignore[union-attr]
        self.index = IndexHandle(self.settings, int(dim or 0))

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
        sparse_query = self._sparse.run(text=query)["sparse_embedding"]
        with self._lock:
            opened = self.index.get()
            dense_query = self._dense.run(text=query)["embedding"]
            dense = opened.dense.run(
                query_embedding=dense_query,
                filters=haystack_filters,
                top_k=candidates,
                group_by="meta.unit_id",
                group_size=1,
            )["documents"]
            sparse = (
                opened.sparse.run(
                    query_sparse_embedding=sparse_query,
                    filters=haystack_filters,
                    top_k=candidates,
                    group_by="meta.unit_id",
                    group_size=1,
                )["documents"]
                if sparse_query.indices
                else []
            )
        fusion = self.fusion if weights is None else WeightedScoreFusion(*weights)
        fused = fusion.run(dense=dense, sparse=sparse, top_k=top_k)["documents"]
        query_terms = set(self.analyzer.query_terms(query))
        return [Retrieved(to_hit(doc, query_terms, self.analyzer), doc) for doc in fused]

    def search(self, query: str, filters: Filters | None = None, top_k: int = 10) -> list[Hit]:
        return [r.hit for r in self.retrieve(query, filters, top_k)]
