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
    ) -> None:
        self.analyzer_settings = AnalyzerSettings.model_validate(analyzer or {})
        # Extra term frequency for fields that name what a document is about: the title
        # and the catalogue's curated keywords (etiquetes).
        self.field_boosts = (
            field_boosts if field_boosts is not None else {"title": 2.0, "etiquetes": 1.0}
        )
        self._analyzer: CatalanAnalyzer | None = None

    def warm_up(self) -> None:
        if self._analyzer is None:
            # Each document is embedded once: caching texts would only hold memory.
            self._analyzer = CatalanAnalyzer(self.analyzer_settings, text_cache_size=0)

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(
            self,
            analyzer=self.analyzer_settings.model_dump(),
            field_boosts=self.field_boosts,
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
