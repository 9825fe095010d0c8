"""Choosing what to quote: the sentences of a source that answer the question.

A sentence scores by the question's words it shares (each weighted by its IDF in the
index, so rare words decide) and by stating the kind of fact the question asks for (a
date for "fins quan", an amount for "quant", a duration for "quant de temps", a role for
"qui signa", a measure for "quin espai", what it costs for "quant"
when no amount applies). Kinds of fact are read by assistant/llm/facts.py
(amounts, dates, forms, phones, e-mails) and the lexicon (durations, roles, measures,
costs).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

from assistant.ask.lexicon import Lexicon, default_lexicon
from assistant.llm.facts import extract_facts
from index_config.analyzer import CatalanAnalyzer, fold

_SENTENCE = re.compile(r"(?<=[.;!?])\s+(?=[A-ZÀ-Ú0-9«(])|\n+")
# A quoted sentence asked for by its fact wins over one that only shares words.
FACT_BONUS = 1.5
# A line that is an item of the list its paragraph announces ("a. Aquest Protocol ...",
# "b) ...", "- ..."): it belongs to that paragraph, and its marker to its sentence.
_ITEM = re.compile(r"^\s*(?:([a-z]|[ivx]{1,4})[.)]|[-\u2022\u2013])\s+")


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text or "") if len(s.strip()) > 2]


def paragraphs(text: str) -> list[list[str]]:
    """The lines of `text` grouped into paragraphs: a list item joins the paragraph that
    announces it, its marker written "a)" so that it stays at the head of its sentence."""
    out: list[list[str]] = []
    for line in (text or "").split("\n"):
        if not line.strip():
            continue
        item = _ITEM.match(line)
        if item and out:
            marker = f"{item.group(1)})" if item.group(1) else "-"
            out[-1].append(f"{marker} {line[item.end() :].strip()}")
        else:
            out.append([line])
    return out


def first_sentence(text: str) -> str:
    parts = sentences(text)
    return parts[0] if parts else ""


def fact_kinds(sentence: str, lexicon: Lexicon | None = None) -> set[str]:
    """The kinds of fact a sentence states."""
    lex = lexicon or default_lexicon()
    kinds: set[str] = {f.kind for f in extract_facts(sentence)}
    folded = fold(sentence)
    if lex.duration.search(folded):
        kinds.add("duration")
    if lex.roles.found(folded):
        kinds.add("role")
    if lex.measures.found(folded) and re.search(r"\d", sentence):
        kinds.add("measure")
    if lex.costs.found(folded):
        kinds.add("cost")
    return kinds


class PassagePicker:
    def __init__(
        self,
        analyzer: CatalanAnalyzer,
        idf: Callable[[str], float] | None = None,
        lexicon: Lexicon | None = None,
    ) -> None:
        self.analyzer = analyzer
        self.idf = idf or (lambda term: 1.0)
        self.lexicon = lexicon or default_lexicon()

    def wanted_facts(self, facets: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for name in facets:
            facet = self.lexicon.facet(name)
            if facet:
                out.update(facet.facts)
        return out

    def score(self, question_terms: dict[str, float], sentence: str, wanted: set[str]) -> float:
        top = max(question_terms.values(), default=1.0) or 1.0
        terms = self.analyzer.term_weights(sentence)
        overlap = sum(w for t, w in question_terms.items() if t in terms) / top
        bonus = FACT_BONUS if wanted and wanted & fact_kinds(sentence, self.lexicon) else 0.0
        return overlap + bonus

    def weighted_terms(
        self, query_terms: Mapping[str, float], context: str = ""
    ) -> dict[str, float]:
        """The question's terms (analysed once, QueryAnalysis.terms) weighted by IDF."""
        terms = {t: w * self.idf(t) for t, w in query_terms.items()}
        if context:
            for t, w in self.analyzer.query_terms(context).items():
                terms.setdefault(t, 0.5 * w * self.idf(t))
        return terms

    def best(
        self,
        query_terms: Mapping[str, float],
        text: str,
        facets: Iterable[str] = (),
        context: str = "",
        max_chars: int = 560,
    ) -> str:
        """The sentences of `text` that answer the question best, in order: the best one
        with the rest of its paragraph when the paragraph fits (a numbered paragraph of an
        article is one rule: its second sentence often states the figure the first one
        introduces), and up to two more that score close to it."""
        paragraph_of: list[int] = []
        parts: list[str] = []
        for n, paragraph in enumerate(paragraphs(text)):
            for line in paragraph:
                for sentence in sentences(line):
                    parts.append(sentence)
                    paragraph_of.append(n)
        if not parts:
            return ""
        terms = self.weighted_terms(query_terms, context)
        wanted = self.wanted_facts(facets)
        scored = sorted(
            ((self.score(terms, s, wanted), -i, i) for i, s in enumerate(parts)), reverse=True
        )
        best = scored[0][2]
        wanted_order = [best]
        # A sentence that announces a list ("... són els següents:") needs its items.
        if parts[best].endswith(":"):
            items = [
                i for i in range(best + 1, len(parts)) if paragraph_of[i] == paragraph_of[best]
            ]
            if not items and best + 1 < len(parts):
                items = [best + 1]  # items without markers: the next line at least
            wanted_order += items
        same = [i for i, n in enumerate(paragraph_of) if n == paragraph_of[best]]
        if sum(len(parts[i]) + 1 for i in same) <= max_chars:
            wanted_order += same
        wanted_order += [s[2] for s in scored[1:3] if s[0] >= max(0.8, scored[0][0] * 0.6)]
        picked: set[int] = set()
        used = 0
        for i in dict.fromkeys(wanted_order):
            if picked and used + len(parts[i]) + 1 > max_chars:
                if paragraph_of[i] == paragraph_of[best] and i > best:
                    break  # the rest of a list does not fit: no item after a gap
                continue
            picked.add(i)
            used += len(parts[i]) + 1
        return " ".join(parts[i] for i in sorted(picked))

    def stating(
        self, query_terms: Mapping[str, float], text: str, facets: Iterable[str]
    ) -> str | None:
        """The best sentence that states a fact the question asks for, or None."""
        wanted = self.wanted_facts(facets)
        if not wanted:
            return None
        terms = self.weighted_terms(query_terms)
        best: tuple[float, str] | None = None
        for sentence in sentences(text):
            if wanted & fact_kinds(sentence, self.lexicon):
                score = self.score(terms, sentence, wanted)
                if best is None or score > best[0]:
                    best = (score, sentence)
        return best[1] if best else None
