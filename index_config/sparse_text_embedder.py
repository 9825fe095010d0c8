"""CatalanSparseTextEmbedder: the query side of the Catalan sparse vectors."""

from __future__ import annotations

from typing import Any

from haystack import component, default_from_dict, default_to_dict
from haystack.dataclasses import SparseEmbedding

from index_config.analyzer import CatalanAnalyzer
from index_config.settings import AnalyzerSettings
from index_config.sparse_vectors import to_sparse


@component
class CatalanSparseTextEmbedder:
    """Analyses a query (with synonym expansion) into a sparse embedding."""

    def __init__(self, analyzer: dict[str, Any] | None = None) -> None:
        self.analyzer_settings = AnalyzerSettings.model_validate(analyzer or {})
        self._analyzer: CatalanAnalyzer | None = None

    def warm_up(self) -> None:
        if self._analyzer is None:
            self._analyzer = CatalanAnalyzer(self.analyzer_settings)

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(self, analyzer=self.analyzer_settings.model_dump())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CatalanSparseTextEmbedder:
        return default_from_dict(cls, data)

    @component.output_types(sparse_embedding=SparseEmbedding)
    def run(self, text: str) -> dict[str, SparseEmbedding]:
        self.warm_up()
        assert self._analyzer is not None
        return {"sparse_embedding": to_sparse(self._analyzer.query_terms(text))}
