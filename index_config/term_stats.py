"""TermStatistics: document frequencies of analysed terms over the chunks of one version.

The grounding check and the composer weigh question words by their IDF in the index.
Counting them over every chunk at the first question took 21 s at 20,000 resources, so an
ingest computes them (incrementally when few chunks change), stores them with the index
version and readers load them when they open it.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from haystack import Document

from index_config.analyzer import CatalanAnalyzer

FORMAT = "concerta-term-stats-1"


def chunk_terms(analyzer: CatalanAnalyzer, title: str, content: str) -> set[str]:
    """The distinct analysed terms of a chunk, as the grounding check reads chunks."""
    return set(analyzer.term_weights(f"{title} {content}"))


def document_terms(analyzer: CatalanAnalyzer, doc: Document) -> set[str]:
    return chunk_terms(analyzer, str(doc.meta.get("title", "")), doc.content or "")


class TermStatistics:
    """`df[term]`: how many chunks contain the term; `n`: how many chunks there are."""

    def __init__(
        self, analyzer: CatalanAnalyzer | None = None, documents: Iterable[Document] = ()
    ) -> None:
        """Counted over `documents` (each analysed with `analyzer`); empty without them."""
        self.df: dict[str, int] = {}
        self.n = 0
        if analyzer is not None:
            self.add(analyzer, documents)

    @classmethod
    def from_counts(cls, df: dict[str, int], n: int) -> TermStatistics:
        stats = cls()
        stats.df, stats.n = dict(df), n
        return stats

    def idf(self, term: str) -> float:
        df = self.df.get(term, 0)
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))

    # Incremental updates (an ingest that changes a few documents) -----------------
    def add(self, analyzer: CatalanAnalyzer, documents: Iterable[Document]) -> None:
        for doc in documents:
            self.add_terms(document_terms(analyzer, doc))

    def remove(self, analyzer: CatalanAnalyzer, documents: Iterable[Document]) -> None:
        for doc in documents:
            self.remove_terms(document_terms(analyzer, doc))

    def add_terms(self, terms: Iterable[str]) -> None:
        self.n += 1
        for term in terms:
            self.df[term] = self.df.get(term, 0) + 1

    def remove_terms(self, terms: Iterable[str]) -> None:
        self.n -= 1
        for term in terms:
            left = self.df.get(term, 0) - 1
            if left > 0:
                self.df[term] = left
            else:
                self.df.pop(term, None)

    def copy(self) -> TermStatistics:
        return TermStatistics.from_counts(self.df, self.n)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TermStatistics) and (self.n, self.df) == (other.n, other.df)

    __hash__ = None  # type: ignore[assignment]  # mutable: not hashable

    # Storage with the index version ------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "n": self.n, "df": self.df}

    @classmethod
    def from_dict(cls, data: Any) -> TermStatistics:
        """Raises ValueError when `data` is not what to_dict wrote."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("not term statistics")
        n, df = data.get("n"), data.get("df")
        if not isinstance(n, int) or not isinstance(df, dict):
            raise ValueError("malformed term statistics")
        return cls.from_counts({str(k): int(v) for k, v in df.items()}, n)

    def save(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(self.to_dict(), fh, ensure_ascii=False, separators=(",", ":"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> TermStatistics:
        """Raises OSError or ValueError when the file is missing or damaged."""
        with open(path, encoding="utf-8") as fh:
            return cls.from_dict(json.load(fh))
