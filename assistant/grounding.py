"""TermStatistics: document frequencies of analysed terms over one index version.

The grounding signals weigh each question word by its IDF in the index (assistant/ask/
evidence.py), so "platja" (never in the corpus) outweighs "subvenció" (everywhere).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from haystack import Document

from index_config.analyzer import CatalanAnalyzer


class TermStatistics:
    """Document frequencies of analysed terms over the chunks of one index version."""

    def __init__(self, analyzer: CatalanAnalyzer, documents: Iterable[Document]) -> None:
        self.analyzer = analyzer
        self.df: dict[str, int] = {}
        self.n = 0
        for doc in documents:
            self.n += 1
            text = f"{doc.meta.get('title', '')} {doc.content or ''}"
            for term in set(analyzer.term_weights(text)):
                self.df[term] = self.df.get(term, 0) + 1

    def idf(self, term: str) -> float:
        df = self.df.get(term, 0)
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))
