"""GroundingCheck: does the best source actually speak about what was asked?

Fused scores are relative (the top hit is always near 1.0), so they cannot tell an
answerable question from an out-of-scope one. Instead we measure how much of the
question's *informative* vocabulary the best source covers: each question word weighs its
IDF in the index, so "platja" (never in the corpus) outweighs "subvenció" (everywhere).
"""

from __future__ import annotations

from dataclasses import dataclass

from haystack import Document

from index_config.analyzer import DATA_DIR, CatalanAnalyzer, SynonymMap, fold

# Term statistics moved to index_config (the ingest computes and stores them with each
# index version); still importable from here for the ask path.
from index_config.term_stats import TermStatistics

__all__ = ["Coverage", "GroundingCheck", "TermStatistics"]


def _fillers() -> frozenset[str]:
    text = (DATA_DIR / "query_fillers.txt").read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if not ln.startswith("#")]
    return frozenset(fold(w) for ln in lines for w in ln.split())


@dataclass
class Coverage:
    score: float
    unknown_years: list[int]
    missing: list[str]


class GroundingCheck:
    def __init__(self, analyzer: CatalanAnalyzer, synonyms: SynonymMap | None = None) -> None:
        self.analyzer = analyzer
        self.synonyms = synonyms or SynonymMap.load()
        self.fillers = _fillers()

    def _token_terms(self, token: str) -> set[str]:
        return {term for term, _ in self.analyzer._terms_of(token)}

    def mentions(self, token: str, text: str) -> bool:
        """Whether `text` has the word `token` (any inflection we conflate) or a synonym."""
        terms = set(self.analyzer.term_weights(text))
        if self._token_terms(token) & terms:
            return True
        return any(
            set(self.analyzer.term_weights(phrase)) & terms
            for phrase in self.synonyms.expansions(fold(token))
        )

    def coverage(self, question: str, sources: list[Document], stats: TermStatistics) -> Coverage:
        """The best single source's IDF-weighted share of the question's words."""
        tokens = list(dict.fromkeys(self.analyzer.tokens(question)))
        unknown_years = [
            int(t)
            for t in tokens
            if len(t) == 4 and t.isdigit() and t.startswith("20") and not stats.df.get(t)
        ]
        # Population figures and amounts say who asks, not what about.
        tokens = [t for t in tokens if t not in self.fillers and not t.isdigit()]
        if not tokens or not sources:
            return Coverage(0.0, unknown_years, tokens)
        weights: dict[str, float] = {}
        alternatives: dict[str, set[str]] = {}
        for token in tokens:
            terms = self._token_terms(token)
            weights[token] = max(stats.idf(t) for t in terms)
            alt: set[str] = set()
            for phrase in self.synonyms.expansions(fold(token)):
                alt |= set(self.analyzer.term_weights(phrase))
            alternatives[token] = alt
        total = sum(weights.values()) or 1.0
        best, best_missing = 0.0, tokens
        for doc in sources:
            doc_terms = set(
                self.analyzer.term_weights(f"{doc.meta.get('title', '')} {doc.content or ''}")
            )
            got, missing = 0.0, []
            for token in tokens:
                if self._token_terms(token) & doc_terms:
                    got += weights[token]
                elif alternatives[token] & doc_terms:
                    got += 0.7 * weights[token]
                else:
                    missing.append(token)
            if got / total > best:
                best, best_missing = got / total, missing
        return Coverage(round(best, 4), unknown_years, best_missing)
