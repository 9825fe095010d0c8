"""CatalanSparseDocumentEmbedder: sparse vectors for documents, with the title boosted."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from typing import Any

from haystack import Document, component, default_from_dict, default_to_dict

from index_config.analyzer import CatalanAnalyzer
from index_config.settings import AnalyzerSettings
from index_config.sparse_vectors import bm25_document_weights, to_sparse


@component
class CatalanSparseDocumentEmbedder:
    """Adds `sparse_embedding` to each document from its title (meta) and content."""

    def __init__(
        self,
        analyzer: dict[str, Any] | None = None,
        field_boosts: dict[str, float] | None = None,
        text_cache_size: int = 0,
    ) -> None:
        """`text_cache_size`: analysed texts kept, so that `terms()` right after `run()`
        reads the same analysis (each document is embedded once: no cache by default)."""
        self.text_cache_size = text_cache_size
        self.analyzer_settings = AnalyzerSettings.model_validate(analyzer or {})
        # Extra term frequency for fields that name what a document is about: the title
        # and the catalogue's curated keywords (etiquetes).
        self.field_boosts = (
            field_boosts if field_boosts is not None else dict(self.analyzer_settings.field_boosts)
        )
        self._analyzer: CatalanAnalyzer | None = None

    def warm_up(self) -> None:
        if self._analyzer is None:
            self._analyzer = CatalanAnalyzer(
                self.analyzer_settings, text_cache_size=self.text_cache_size
            )

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(
            self,
            analyzer=self.analyzer_settings.model_dump(),
            field_boosts=self.field_boosts,
            text_cache_size=self.text_cache_size,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CatalanSparseDocumentEmbedder:
        return default_from_dict(cls, data)

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, list[Document]]:
        self.warm_up()
        assert self._analyzer is not None
        out = []
        for doc in documents:
            counts = defaultdict(float, self._analyzer.term_weights(doc.content or ""))
            for name, boost in self.field_boosts.items():
                value = doc.meta.get(name) or ""
                text = " ".join(value) if isinstance(value, list) else str(value)
                for term, tf in self._analyzer.term_weights(text).items():
                    counts[term] += tf * boost
            weights = bm25_document_weights(counts, self.analyzer_settings)
            out.append(replace(doc, sparse_embedding=to_sparse(weights)))
        return {"documents": out}

    def terms(self, doc: Document) -> set[str]:
        """The distinct analysed terms of a chunk's title and content: the terms that
        TermStatistics counts (term_stats.chunk_terms analyses "title content" at once,
        which gives the same set), read from the analysis of `run()` when it is cached."""
        self.warm_up()
        assert self._analyzer is not None
        title = self._analyzer.term_weights(str(doc.meta.get("title", "")))
        return set(title) | set(self._analyzer.term_weights(doc.content or ""))
