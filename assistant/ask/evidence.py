"""Evidence: the signals the grounding decision reads from a question and its candidates.

Fused scores are relative (the best result is always near the top of the scale), so they
cannot tell an answerable question from an out-of-scope one. These signals can:

- coverage: the IDF-weighted share of the question's informative words that the best
  source has (a word the index never saw weighs the most; near spellings count less);
- unknown_share: the share of that weight carried by words no document has;
- dense_gap: how far the best dense cosine stands above the crowd of the question's other
  candidates (multilingual-e5 cosines sit in a narrow band, so the level says little and
  the margin says more);
- sparse_top: the raw best sparse score (more, and rarer, question words found together);
- named things that must exist: years the indexed documents cover, form and resource codes,
  the purpose of a named support ("el fons de prestació per al X"), and another
  administration named by the question and by no source found.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from haystack import Document

from assistant.ask.analysis import QueryAnalysis
from assistant.ask.lexicon import Lexicon, default_lexicon
from assistant.ask.spelling import SpellingMatcher
from assistant.grounding import TermStatistics
from assistant.models import Hit
from index_config.analyzer import CatalanAnalyzer, SynonymMap, fold

# Ranks whose cosines make "the crowd" the best dense result is compared with.
_CROWD = slice(10, 50)


@dataclass(frozen=True)
class Evidence:
    coverage: float
    missing: tuple[str, ...]
    unknown_share: float
    dense_top: float
    dense_gap: float
    sparse_top: float
    unknown_years: tuple[int, ...] = ()
    unknown_codes: tuple[str, ...] = ()
    # None when the question names no support; else whether a resource found is about it.
    named_support_found: bool | None = None
    # The resources found (ids) that are about the most specific word of that support:
    # what a false-premise refusal may name instead.
    named_support_near: tuple[str, ...] = ()
    # Another administration named by the question and by none of the best sources.
    foreign_unmatched: bool = False
    candidates: int = 0
    # Share of the covered weight among the words the index knows at all.
    known_coverage: float = 0.0
    # The same share over what the best sources are about (title, keywords, actions), not
    # everything they mention: a need named in a title is the need they serve.
    topic_coverage: float = 0.0
    # The best fused result is among the first five of both rankings.
    agreement: bool = False
    informative: int = 0

    @property
    def log_sparse(self) -> float:
        return math.log1p(max(self.sparse_top, 0.0))


def _doc_text(doc: Document) -> str:
    return f"{doc.meta.get('title', '')} {doc.content or ''}"


def _topic_text(doc: Document) -> str:
    meta = doc.meta
    parts = [str(meta.get("title") or "")]
    for name in ("etiquetes", "actuacions"):
        values = meta.get(name) or []
        parts.extend(str(v) for v in values if isinstance(values, list))
    return " ".join(parts)


class EvidenceReader:
    """Computes Evidence; holds the analyzer, synonyms and the lexicon, nothing per request."""

    def __init__(
        self,
        analyzer: CatalanAnalyzer,
        synonyms: SynonymMap | None = None,
        lexicon: Lexicon | None = None,
        spelling_weight: float = 0.7,
        synonym_weight: float = 0.7,
        period_margin: int = 5,
        named_support_share: float = 0.5,
    ) -> None:
        self.analyzer = analyzer
        self.synonyms = synonyms or SynonymMap.load()
        self.lexicon = lexicon or default_lexicon()
        self.spelling_weight = spelling_weight
        self.synonym_weight = synonym_weight
        self.period_margin = period_margin
        self.named_support_share = named_support_share

    # Words -------------------------------------------------------------------------
    def _terms(self, token: str) -> set[str]:
        return {term for term, _ in self.analyzer._terms_of(token)}

    def weight(
        self, token: str, stats: TermStatistics, spelling: SpellingMatcher | None = None
    ) -> float:
        """How specific a word is: the IDF of its rarest form the index has (a word is
        indexed under its stem and a lighter one, and a form no chunk has would weigh as
        much as an unknown word). A typo weighs as the word it stands for: its near
        spellings' IDF, not the top IDF that no document gives it ("mantenimnet" is as
        general as "manteniment"). Of any form when the index has neither."""
        idfs = [stats.idf(t) for t in self._terms(token) if stats.df.get(t)]
        if not idfs and spelling is not None:
            idfs = [stats.idf(t) for t in spelling.corrections(token) if stats.df.get(t)]
        return max(idfs) if idfs else max(stats.idf(t) for t in self._terms(token))

    def _alternatives(
        self, token: str, spelling: SpellingMatcher | None, read_as: str | None = None
    ) -> tuple[set[str], set[str]]:
        """(synonyms' terms, near spellings) of a word; a typo read as a word of the
        lexicon or the synonyms (`QueryAnalysis.read_as`) has that word's, as the sparse
        query does."""
        synonyms: set[str] = set()
        phrases = self.synonyms.expansions(fold(token))
        if read_as:
            phrases = [read_as, *phrases, *self.synonyms.expansions(read_as)]
        for phrase in phrases:
            synonyms |= set(self.analyzer.term_weights(phrase))
        near = set(spelling.corrections(token)) if spelling else set()
        return synonyms, near

    def mentions(self, token: str, text: str) -> bool:
        """Whether `text` has the word `token` (an inflection we conflate) or a synonym."""
        terms = set(self.analyzer.term_weights(text))
        if self._terms(token) & terms:
            return True
        return any(
            set(self.analyzer.term_weights(phrase)) & terms
            for phrase in self.synonyms.expansions(fold(token))
        )

    def coverage(
        self,
        tokens: Sequence[str],
        sources: Sequence[Document],
        stats: TermStatistics,
        spelling: SpellingMatcher | None = None,
        read_as: Mapping[str, str] | None = None,
    ) -> tuple[float, tuple[str, ...], float]:
        """(best single source's covered share, its missing words, unknown share)."""
        covered, missing, unknown, _ = self._coverage(tokens, sources, stats, spelling, read_as)
        return covered, missing, unknown

    def _coverage(
        self,
        tokens: Sequence[str],
        sources: Sequence[Document],
        stats: TermStatistics,
        spelling: SpellingMatcher | None = None,
        read_as: Mapping[str, str] | None = None,
    ) -> tuple[float, tuple[str, ...], float, float]:
        if not tokens:
            return 0.0, (), 0.0, 0.0
        read_as = read_as or {}
        weights: dict[str, float] = {}
        alternatives: dict[str, tuple[set[str], set[str]]] = {}
        unknown = 0.0
        for token in tokens:
            terms = self._terms(token)
            weights[token] = self.weight(token, stats)
            alternatives[token] = self._alternatives(token, spelling, read_as.get(token))
            synonyms, near = alternatives[token]
            # A word the index never saw is unknown unless a near spelling or a synonym of
            # it is there ("arreglar" -> "arranjament", Spanish "ayuda" -> "ajut").
            if (
                not any(stats.df.get(t) for t in terms)
                and not near
                and not any(stats.df.get(t) for t in synonyms)
            ):
                unknown += weights[token]
        total = sum(weights.values()) or 1.0
        known_total = (total - unknown) or 1.0
        best, best_missing = 0.0, tuple(tokens)
        for doc in sources:
            doc_terms = set(self.analyzer.term_weights(_doc_text(doc)))
            got, missing = 0.0, []
            for token in tokens:
                synonyms, near = alternatives[token]
                if self._terms(token) & doc_terms:
                    got += weights[token]
                elif synonyms & doc_terms:
                    got += self.synonym_weight * weights[token]
                elif near & doc_terms:
                    got += self.spelling_weight * weights[token]
                else:
                    missing.append(token)
            if got / total > best:
                best, best_missing = got / total, tuple(missing)
        known_share = min(1.0, best * total / known_total)
        return round(best, 4), best_missing, round(unknown / total, 4), round(known_share, 4)

    # Named things ------------------------------------------------------------------
    def named_support_found(
        self,
        analysis: QueryAnalysis,
        resources: Sequence[Hit],
        stats: TermStatistics,
        spelling: SpellingMatcher | None = None,
    ) -> bool | None:
        """When the question names a support "per a X", one of the resources found must be
        about X: its name, keywords or actions mention at least `named_support_share` of
        X's words, each weighted by its IDF (a specific word counts more than a general
        one). One word missing is not a false premise when the rest are there: "el
        carrer" of "colònies de gats del carrer" is not in "colònies felines", whose
        resource the question asks for."""
        about = self._named_support_mentions(analysis, resources, stats, spelling)
        if about is None:
            return None
        weight, mentioned = about
        needed = self.named_support_share * sum(weight.values())
        return any(sum(weight[t] for t in words) >= needed for words in mentioned)

    def named_support_near(
        self,
        analysis: QueryAnalysis,
        resources: Sequence[Hit],
        stats: TermStatistics,
        spelling: SpellingMatcher | None = None,
    ) -> tuple[str, ...]:
        """The resources (ids, in order) that a refusal of a named support may offer
        instead: those about the most specific word of X (its highest IDF; "bombers" of
        "comprar un camió de bombers", not "comprar"). A resource that shares only a
        general word with X is not what the official is after."""
        about = self._named_support_mentions(analysis, resources, stats, spelling)
        if about is None:
            return ()
        weight, mentioned = about
        top = max(weight.values())
        specific = {t for t, w in weight.items() if w >= top}
        return tuple(
            hit.id for hit, words in zip(resources, mentioned, strict=True) if words & specific
        )

    def _named_support_mentions(
        self,
        analysis: QueryAnalysis,
        resources: Sequence[Hit],
        stats: TermStatistics,
        spelling: SpellingMatcher | None,
    ) -> tuple[dict[str, float], list[set[str]]] | None:
        """The weights of the known words of the named purpose X, and which of them each
        resource's name, keywords or actions mention; None when no support is named or
        none of X's words is known."""
        if not analysis.named_support:
            return None
        purpose = analysis.named_support[1]
        words = [t for t in self.analyzer.tokens(purpose) if t in analysis.informative]
        if not words:
            return None
        # Words no document has are the decision's business (unknown_share), not a sign
        # that the named support is about something else.
        known = [
            t
            for t in words
            if any(stats.df.get(x) for x in self._terms(t))
            or (spelling and spelling.corrections(t))
        ]
        if not known:
            return None
        weight = {t: self.weight(t, stats, spelling) for t in known}
        near = {t: set(spelling.corrections(t)) if spelling else set() for t in known}
        mentioned = []
        for hit in resources:
            m = hit.metadata
            topic = " ".join([hit.title, *(m.get("etiquetes") or []), *(m.get("actuacions") or [])])
            topic_terms = set(self.analyzer.term_weights(topic))
            mentioned.append({t for t in known if self.mentions(t, topic) or near[t] & topic_terms})
        return weight, mentioned

    def foreign_unmatched(self, analysis: QueryAnalysis, sources: Sequence[Document]) -> bool:
        """The question names another administration and the best source does not: it
        asks about that administration's programme or procedure, not about this plan."""
        if not analysis.other_administration or not sources:
            return analysis.other_administration
        named = self.lexicon.other_administrations.all(analysis.folded)
        text = fold(_doc_text(sources[0]))
        return not any(n in text for n in named)

    # All signals -------------------------------------------------------------------
    def read(
        self,
        analysis: QueryAnalysis,
        sources: Sequence[Document],
        resources: Sequence[Hit],
        dense_scores: Sequence[float],
        sparse_scores: Sequence[float],
        stats: TermStatistics,
        covered_years: frozenset[int],
        spelling: SpellingMatcher | None = None,
        tokens: Sequence[str] | None = None,
        dense_units: Sequence[str] = (),
        sparse_units: Sequence[str] = (),
    ) -> Evidence:
        """`tokens`: the informative words to cover (default: the question's own).
        `dense_units`/`sparse_units`: the unit ids of the two rankings, best first."""
        words = list(tokens if tokens is not None else analysis.informative)
        read_as = analysis.read_as
        coverage, missing, unknown, known = self._coverage(
            words, sources[:3], stats, spelling, read_as
        )
        topics = [Document(content=_topic_text(d), meta={}) for d in sources[:3]]
        topic, _, _, _ = self._coverage(words, topics, stats, spelling, read_as)
        crowd = list(dense_scores[_CROWD]) or list(dense_scores[1:])
        dense_top = float(dense_scores[0]) if dense_scores else 0.0
        gap = dense_top - (sum(crowd) / len(crowd)) if crowd else 0.0
        best_text = " ".join(fold(_doc_text(d)) for d in sources[:3])
        top_unit = str(sources[0].meta.get("unit_id", sources[0].id)) if sources else None
        top_agrees = top_unit in set(dense_units[:5]) and top_unit in set(sparse_units[:5])
        # Years long before the covered period are the town's history ("normes del 1985"),
        # not a question about another plan or catalogue.
        # A later year that the sources found also name is a deadline of this plan
        # ("fins al 31 de març de 2024"); an earlier one is another catalogue.
        earliest = min(covered_years, default=0) - self.period_margin
        latest = max(covered_years, default=0)
        unknown_years = tuple(
            y
            for y in analysis.years
            if y >= earliest and y not in covered_years and not (y > latest and str(y) in best_text)
        )
        unknown_codes = tuple(
            code
            for code in (*analysis.form_codes, *analysis.resource_codes)
            if not stats.df.get(code.lower().replace("-", ""))
        )
        return Evidence(
            coverage=coverage,
            missing=missing,
            unknown_share=unknown,
            dense_top=round(dense_top, 4),
            dense_gap=round(gap, 4),
            sparse_top=round(float(sparse_scores[0]) if sparse_scores else 0.0, 4),
            unknown_years=unknown_years,
            unknown_codes=unknown_codes,
            named_support_found=self.named_support_found(analysis, resources, stats, spelling),
            named_support_near=self.named_support_near(analysis, resources, stats, spelling),
            foreign_unmatched=self.foreign_unmatched(analysis, sources),
            candidates=len(sources),
            known_coverage=known,
            topic_coverage=topic,
            agreement=bool(top_agrees),
            informative=len(words),
        )
