"""The retrieval stage: the index searched for one analysed question, then eligibility.

A follow-up ("i fins quan es pot demanar?") is searched with the previous questions as
context, at half weight, so "it" finds what the conversation is about; when the question
alone clearly points at an article or FAQ entry, that wins (a follow-up may turn from a
resource to the rules). The preferred type of support and the previous turn's sources only
nudge the order; eligibility removes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from assistant.ask.analysis import QueryAnalysis, informative_tokens
from assistant.ask.eligibility import eligible
from assistant.ask.lexicon import default_lexicon
from assistant.ask.spelling import SpellingMatcher
from assistant.conversation import Turn
from assistant.models import Filters, Hit
from assistant.retrieval.searcher import Retrieved, Searcher, SearchResult
from index_config.analyzer import fold
from index_config.settings import AskSettings


@dataclass
class Candidates:
    """What the index returned for one turn, ready for the decision and the composer."""

    search_text: str
    results: list[Retrieved]
    dense_scores: list[float]
    sparse_scores: list[float]
    filters: Filters
    dense_units: list[str] = field(default_factory=list)
    sparse_units: list[str] = field(default_factory=list)
    # Earlier questions used as context (follow-ups), and the previous turn's resources.
    context: str = ""
    focus: list[Hit] = field(default_factory=list)
    # Resources that match the question better than anything it may receive, set aside
    # by eligibility (its population band or recipients leave the asker out), best first.
    ineligible: list[Retrieved] = field(default_factory=list)
    # The informative words the sources must cover (the question's, plus the context's
    # for a follow-up searched with its context).
    tokens: tuple[str, ...] = ()
    # A follow-up is also searched without its context: it may turn to the rules.
    alone: Candidates | None = None

    @property
    def hits(self) -> list[Hit]:
        return [r.hit for r in self.results]

    def with_ineligible(self) -> Candidates:
        """The same candidates as if eligibility had kept everyone: would the question be
        answerable for another body? (The best match being one the asker cannot get.)"""
        merged = sorted(
            [*self.ineligible, *self.results],
            key=lambda r: r.hit.score or 0.0,
            reverse=True,
        )
        return replace(self, results=merged, ineligible=[], alone=None)


def _context_text(history: list[Turn], max_chars: int) -> str:
    """The last questions, newest first, cut to a budget: a follow-up never fails because
    earlier turns were long."""
    out = ""
    for turn in reversed(history[-2:]):
        piece = turn.question.strip()
        if len(out) + len(piece) + 1 > max_chars:
            piece = piece[: max(0, max_chars - len(out) - 1)].rsplit(" ", 1)[0]
        out = f"{out} {piece}".strip()
        if len(out) >= max_chars:
            break
    return out


def turn_instruments(analysis: QueryAnalysis, context: str, focus: list[Hit]) -> tuple[str, ...]:
    """The instruments a turn is about: those it names; for a follow-up, those its
    conversation named, or the catalogue when it follows catalogue resources."""
    if analysis.instruments or not analysis.follow_up:
        return analysis.instruments
    lexicon = default_lexicon()
    named = lexicon.instruments_named(fold(context))
    if named:
        return named
    if focus and lexicon.resource_instrument:
        return (lexicon.resource_instrument,)
    return ()


def elliptic(analysis: QueryAnalysis, settings: AskSettings) -> bool:
    """A turn that names only what changes ("i al PGI?", "i per a una EMD?"): it asks the
    earlier question again about that, so it is searched with its context at full weight
    and never answered on its own words alone."""
    return analysis.follow_up and len(analysis.informative) < settings.rule_turn_min_words


def without_other_instruments(context: str, named: tuple[str, ...]) -> str:
    """The context without the phrases that name instruments other than `named`: a
    follow-up that names another instrument ("i al PGI?" after a question about the
    catalogue) asks the earlier question about that one, so the earlier instrument's name
    must not pull the search back to it."""
    lexicon = default_lexicon()
    folded_chars = [fold(ch) for ch in context]
    if all(len(ch) == 1 for ch in folded_chars):
        text, folded = context, "".join(folded_chars)  # one folded char per char
    else:
        text = folded = fold(context)
    spans = sorted(
        span
        for name, (said, _) in lexicon.instruments.items()
        if name not in named
        for span in said.spans(folded)
    )
    kept, position = [], 0
    for start, end in spans:
        if start >= position:
            kept.append(text[position:start])
        position = max(position, end)
    kept.append(text[position:])
    return " ".join("".join(kept).split())


class CandidateSearch:
    def __init__(self, searcher: Searcher, settings: AskSettings) -> None:
        self.searcher = searcher
        self.settings = settings

    def _terms(
        self, analysis: QueryAnalysis, spelling: SpellingMatcher | None, context: str = ""
    ) -> dict[str, float]:
        terms = (
            spelling.expand(analysis.terms, analysis.informative)
            if spelling
            else dict(analysis.terms)
        )
        if context:
            share = 1.0 if elliptic(analysis, self.settings) else self.settings.context_weight
            # The earlier turns' typos get their near spellings too, as the question's do.
            analyzer = self.searcher.analyzer
            earlier = analyzer.query_terms(context)
            if spelling:
                earlier = spelling.expand(earlier, tuple(analyzer.tokens(context)))
            for term, weight in earlier.items():
                terms.setdefault(term, share * weight)
        return terms

    def run(
        self,
        analysis: QueryAnalysis,
        filters: Filters,
        history: list[Turn],
        spelling: SpellingMatcher | None = None,
    ) -> Candidates:
        s = self.settings
        effective = filters
        if analysis.open_on and filters.obert_a is None:
            effective = filters.merged(Filters(obert_a=analysis.open_on))
        last = history[-1] if history else None
        focus = [h for h in (last.sources if last else []) if h.kind == "recurs"]
        context = _context_text(history, s.max_context_chars) if analysis.follow_up else ""
        if context and analysis.instruments:
            context = without_other_instruments(context, analysis.instruments)
        search_text = f"{analysis.text} {context}".strip()
        result = self.searcher.run(
            search_text,
            effective,
            top_k=s.candidates,
            query_terms=self._terms(analysis, spelling, context),
            instruments=turn_instruments(analysis, context, focus),
        )
        tokens = analysis.informative
        alone: Candidates | None = None
        if context:
            # The earlier turns' words of asking weigh as little as the question's.
            analyzer = self.searcher.analyzer
            context_tokens = [
                t for t in informative_tokens(analyzer.tokens(context), analyzer) if t not in tokens
            ]
            tokens = (*tokens, *dict.fromkeys(context_tokens))
            plain = self.searcher.run(
                analysis.text,
                effective,
                top_k=s.candidates,
                query_terms=self._terms(analysis, spelling),
                instruments=analysis.instruments,
            )
            alone = self._candidates(
                analysis, plain, analysis.text, effective, last, focus, "", analysis.informative
            )
        out = self._candidates(
            analysis, result, search_text, effective, last, focus, context, tokens
        )
        out.alone = alone
        return out

    def _candidates(
        self,
        analysis: QueryAnalysis,
        result: SearchResult,
        search_text: str,
        filters: Filters,
        last: Turn | None,
        focus: list[Hit],
        context: str,
        tokens: tuple[str, ...],
    ) -> Candidates:
        s = self.settings
        previous = {h.id for h in (last.sources if last and analysis.follow_up else [])}
        ranked: list[tuple[float, Retrieved]] = []
        ineligible: list[Retrieved] = []
        for r in result.fused:
            if not eligible(r.hit, analysis):
                # Only those ahead of every result the asker may receive: the question's
                # best matches. One further down is not what the question is about.
                if not ranked:
                    ineligible.append(r)
                continue
            # Nudges change the order only; scores stay comparable across kinds.
            bonus = 0.0
            tipologia = r.hit.metadata.get("tipologia")
            if analysis.prefers_tipologia and tipologia == analysis.prefers_tipologia:
                bonus += s.tipologia_bonus
            if r.hit.id in previous:
                bonus += s.previous_source_bonus
            ranked.append(((r.hit.score or 0.0) + bonus, r))
        ranked.sort(key=lambda pair: pair[0], reverse=True)
        kept = [r for _, r in ranked]
        return Candidates(
            search_text=search_text,
            results=kept,
            dense_scores=result.dense_scores,
            sparse_scores=result.sparse_scores,
            filters=filters,
            dense_units=result.dense_units,
            sparse_units=result.sparse_units,
            context=context,
            focus=focus,
            ineligible=ineligible,
            tokens=tokens,
        )
