"""AskPipeline: the stages of answering one turn, in order, with typed hand-offs.

    read (Reading: Spanish translated to Catalan) -> analyse (QueryAnalysis)
    -> search (Candidates) -> eligibility (inside the search)
    -> evidence (Evidence) -> decide (Decision) -> compose (Composed)

Where is a refusal decided? In decision.decide(), always; the composer only words it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from haystack import Document

from assistant.ask.analysis import QueryAnalysis, analyse, speaks_for_oneself
from assistant.ask.decision import Decision, decide
from assistant.ask.evidence import Evidence, EvidenceReader
from assistant.ask.language import Reading, SpanishReader
from assistant.ask.retrieval import Candidates, CandidateSearch, elliptic
from assistant.ask.spelling import SpellingMatcher, SpellingSettings
from assistant.composer import AnswerComposer, Composed, resource_facts_text
from assistant.conversation import Turn
from assistant.grounding import TermStatistics
from assistant.models import Choice, Filters, Hit
from assistant.retrieval.searcher import Searcher
from index_config import Settings
from index_config.analyzer import fold
from index_config.thesaurus import shared_thesaurus

_NOT_ABOUT_THE_PLAN = frozenset({"injection", "small_talk"})
_SPAN = re.compile(r"\b(20\d\d)\s*[-–]\s*(20\d\d)\b")
_YEAR = re.compile(r"\b(20\d\d)\b")
_FORM_TERM = re.compile(r"^([a-z]\d)(\d{3})$")


@dataclass(frozen=True)
class CorpusProfile:
    """What the served index version covers, read once per version."""

    version: str
    stats: TermStatistics
    spelling: SpellingMatcher
    covered_years: frozenset[int]
    known_forms: tuple[str, ...]

    @property
    def period(self) -> str:
        if not self.covered_years:
            return "el Pla XGL"
        low, high = min(self.covered_years), max(self.covered_years)
        return str(low) if low == high else f"el període {low}-{high}"


def covered_years(documents: Iterable[Document]) -> frozenset[int]:
    """Years the indexed documents are about: catalogue years and the years (and spans,
    "2020-2023") in document titles."""
    years: set[int] = set()
    titles: set[str] = set()
    for doc in documents:
        year = doc.meta.get("any")
        if isinstance(year, int):
            years.add(year)
        for key in ("doc_title", "title"):
            if doc.meta.get("kind") != "recurs" or key == "doc_title":
                titles.add(str(doc.meta.get(key) or ""))
    for title in titles:
        for match in _SPAN.finditer(title):
            low, high = int(match.group(1)), int(match.group(2))
            if 0 <= high - low <= 10:
                years.update(range(low, high + 1))
        years.update(int(y) for y in _YEAR.findall(_SPAN.sub(" ", title)))
    return frozenset(years)


def build_profile(
    version: str, documents: list[Document], stats: TermStatistics, searcher: Searcher
) -> CorpusProfile:
    forms = sorted(
        f"{m.group(1).upper()}-{m.group(2)}" for term in stats.df if (m := _FORM_TERM.match(term))
    )
    return CorpusProfile(
        version=version,
        stats=stats,
        spelling=SpellingMatcher(
            searcher.analyzer, stats.df, SpellingSettings(), thesaurus=shared_thesaurus()
        ),
        covered_years=covered_years(documents),
        known_forms=tuple(forms),
    )


@dataclass
class Plan:
    """What to answer and with which sources, before the front end streams it."""

    composed: Composed
    grounded: bool
    search_query: str
    context: list[Hit]
    analysis: QueryAnalysis
    decision: Decision | None = None
    # The resources a per-resource follow-up answered for (a front end may offer them).
    choices: list[Choice] = field(default_factory=list)
    # Closer resources the asker cannot get, named after the answer (an LLM answer gets
    # the same notice; it is never given them as sources to recommend).
    ineligible: list[Hit] = field(default_factory=list)

    @property
    def refusal_reason(self) -> str | None:
        if self.grounded:
            return None
        return self.decision.reason if self.decision and self.decision.reason else "no_evidence"


class AskPipeline:
    def __init__(
        self,
        settings: Settings,
        searcher: Searcher,
        composer: AnswerComposer,
        profile: Callable[[], CorpusProfile],
        reader: SpanishReader | None = None,
    ) -> None:
        """`reader`: how Spanish questions are read in Catalan (default: from the settings)."""
        self.settings = settings
        self.reader = reader or SpanishReader(settings.language)
        self.ask = settings.ask
        self.searcher = searcher
        self.composer = composer
        self.profile = profile
        self.search = CandidateSearch(searcher, settings.ask)
        self.evidence = EvidenceReader(
            searcher.analyzer,
            spelling_weight=settings.ask.spelling_weight,
            synonym_weight=settings.ask.synonym_weight,
            period_margin=settings.ask.period_margin_years,
            named_support_share=settings.ask.named_support_share,
        )

    # Stages ------------------------------------------------------------------------
    def read(self, question: str, history: list[Turn]) -> tuple[Reading, list[Turn]]:
        """The question and the earlier turns as Catalan (translated when Spanish): every
        later stage reads Catalan."""
        reading = self.reader.read(question)
        turns = [replace(t, question=self.reader.read(t.question).text) for t in history]
        return reading, turns

    def analyse(
        self,
        question: str,
        history: list[Turn],
        today: dt.date,
        spelling: SpellingMatcher | None = None,
    ) -> QueryAnalysis:
        return analyse(
            question,
            self.searcher.analyzer,
            has_history=bool(history),
            today=today,
            spelling=spelling,
        )

    def read_evidence(
        self, analysis: QueryAnalysis, candidates: Candidates, profile: CorpusProfile
    ) -> Evidence:
        return self.evidence.read(
            analysis,
            [r.document for r in candidates.results],
            [h for h in candidates.hits if h.kind == "recurs"][: self.ask.max_resources],
            candidates.dense_scores,
            candidates.sparse_scores,
            profile.stats,
            profile.covered_years,
            profile.spelling,
            tokens=candidates.tokens,
            dense_units=candidates.dense_units,
            sparse_units=candidates.sparse_units,
        )

    # The whole turn ----------------------------------------------------------------
    def plan(
        self,
        question: str,
        filters: Filters,
        history: list[Turn],
        today: dt.date,
        focus: str | None = None,
    ) -> Plan:
        """`focus`: the code of one resource of the previous answer to answer about."""
        reading, history = self.read(question, history)
        plan = self._plan(reading.text, filters, history, today, focus)
        if reading.translated:
            plan.composed = self.composer.read_as(plan.composed, reading.text)
        return plan

    def _plan(
        self,
        question: str,
        filters: Filters,
        history: list[Turn],
        today: dt.date,
        focus: str | None,
    ) -> Plan:
        profile = self.profile()
        # A turn refused as an attempt to change the instructions or as small talk was
        # about nothing in the sources: what follows it does not continue it.
        history = [t for t in history if t.refusal_reason not in _NOT_ABOUT_THE_PLAN]
        analysis = self.analyse(question, history, today, profile.spelling)
        empty = Evidence(0.0, (), 0.0, 0.0, 0.0, 0.0)
        if analysis.injection or analysis.greeting_only:
            decision = decide(analysis, empty, self.ask.decision)
            return self._refusal(analysis, decision, profile, question, [])

        candidates = self.search.run(analysis, filters, history, profile.spelling)
        # A citizen who spoke of their own affairs in the turns this one follows still
        # does in "i quant costa?": the follow-up is searched with those words.
        if (
            analysis.follow_up
            and not analysis.personal
            and candidates.context
            and speaks_for_oneself(fold(candidates.context), self.evidence.lexicon)
        ):
            analysis = replace(analysis, personal=True)
        if focus and history:
            chosen = [h for h in candidates.focus if h.codi == focus]
            if chosen:
                composed = self.composer.follow_up(analysis, chosen, today)
                if composed is None:
                    composed = self.composer.resources(analysis, chosen, today)
                return Plan(composed, True, candidates.search_text, chosen, analysis)
        follow = self._follow_up(analysis, candidates, profile, today)
        if follow is not None:
            return follow
        if not candidates.results:
            if analysis.open_on:
                return Plan(
                    self.composer.nothing_open(today), False, candidates.search_text, [], analysis
                )
            decision = decide(analysis, empty, self.ask.decision)
            return self._refusal(analysis, decision, profile, candidates.search_text, [])

        evidence = self.read_evidence(analysis, candidates, profile)
        set_aside = candidates.ineligible[: self.ask.ineligible_named]
        wider = (
            self.read_evidence(analysis, candidates.with_ineligible(), profile)
            if set_aside
            else None
        )
        # "Què podem demanar ara?" lists what the window filter found: the filter is the
        # evidence, and the model (fitted on topical questions) does not judge it.
        decision = decide(
            analysis,
            evidence,
            self.ask.decision,
            calibrated=not analysis.open_on,
            set_aside=wider,
        )
        ineligible = [r.hit for r in set_aside] if decision.set_aside else []
        if not decision.answer:
            return self._refusal(
                analysis,
                decision,
                profile,
                candidates.search_text,
                candidates.hits,
                ineligible,
            )
        plan = self._answer(analysis, candidates, decision, today)
        if ineligible:
            plan.ineligible = ineligible
            plan.composed = self.composer.with_ineligible(plan.composed, ineligible, analysis)
        return plan

    def _follow_up(
        self,
        analysis: QueryAnalysis,
        candidates: Candidates,
        profile: CorpusProfile,
        today: dt.date,
    ) -> Plan | None:
        """A follow-up about the resources just shown, or one that turns to the rules."""
        if not analysis.follow_up:
            return None
        alone = candidates.alone
        rule_turn = None
        own = 0.0
        # An elliptic turn never stands alone, however well an article covers its one word.
        if (
            alone is not None
            and alone.results
            and alone.results[0].hit.kind != "recurs"
            and not elliptic(analysis, self.ask)
        ):
            own, _, _ = self.evidence.coverage(
                analysis.informative,
                [r.document for r in alone.results[:3]],
                profile.stats,
                profile.spelling,
            )
            if own >= self.ask.rule_turn_coverage:
                rule_turn = alone
        focus = candidates.focus[: self.ask.max_resources]
        top_ids = {h.id for h in candidates.hits[:3]}
        about_focus = 0.0
        if rule_turn is not None and focus:
            # Words that asked for a field the resources have ("termini", "import") are
            # answered by that field; the rest must be covered by what the record says.
            fields = {
                f
                for name in analysis.facets
                if (facet := self.evidence.lexicon.facet(name)) is not None
                for f in facet.fields
            }
            has_field = any(h.metadata.get(f) for h in focus for f in fields)
            rest = [
                t for t in analysis.informative if not (has_field and t in analysis.facet_words)
            ]
            about_focus = (
                self.evidence.coverage(
                    rest,
                    [
                        Document(content=resource_facts_text(h), meta={"title": h.title})
                        for h in focus
                    ],
                    profile.stats,
                    profile.spelling,
                )[0]
                if rest
                else 1.0
            )
        # Whether another body may apply for what was just shown ("i el poble del costat,
        # de 2.500 habitants, també el pot demanar?"): the resource's own recipients and
        # population band answer it, whatever the rules say about recipients in general.
        asks_eligibility = (
            "destinataris" in analysis.facets
            and (analysis.population is not None or analysis.recipient is not None)
            and not analysis.instruments
        )
        # A fact of the resources just shown ("i l'import?"), unless the rules cover the
        # question's own words better ("i si no l'acceptem dins el termini?").
        if (
            focus
            and analysis.facets
            and (
                asks_eligibility
                or (
                    (top_ids & {h.id for h in focus} or len(analysis.informative) <= 1)
                    and (rule_turn is None or about_focus >= own)
                )
            )
        ):
            composed = self.composer.follow_up(analysis, focus, today, strict=True)
            if composed is not None:
                choices = (
                    [Choice(codi=h.codi or "", title=h.title) for h in focus if h.codi]
                    if len(focus) > 1
                    else []
                )
                return Plan(
                    composed, True, candidates.search_text, focus, analysis, choices=choices
                )
        if rule_turn is not None:
            evidence = self.read_evidence(analysis, rule_turn, profile)
            decision = decide(analysis, evidence, self.ask.decision, calibrated=False)
            if decision.answer:
                plan = self._answer(analysis, rule_turn, decision, today, related_focus=focus)
                return plan
        return None

    def _answer(
        self,
        analysis: QueryAnalysis,
        candidates: Candidates,
        decision: Decision,
        today: dt.date,
        related_focus: list[Hit] | None = None,
    ) -> Plan:
        s = self.ask
        results = candidates.hits
        top = max((h.score or 0.0) for h in results) or 1e-9
        # The first result (in the nudged order) is always listed; the rest when close.
        close = [
            h for i, h in enumerate(results) if i == 0 or (h.score or 0) >= s.relative_cutoff * top
        ]
        resources = [h for h in close if h.kind == "recurs"][: s.max_resources]
        articles = _diverse([h for h in close if h.kind != "recurs"])[: s.max_articles]
        if results[0].kind == "recurs":
            extra = [a for a in articles[:1] if (a.score or 0) >= s.related_ratio * top]
            composed = self.composer.resources(analysis, resources, today, extra)
            return Plan(composed, True, candidates.search_text, resources, analysis, decision)
        composed = self.composer.regulation(analysis, articles, context=candidates.context)
        related = [h for h in resources if (h.score or 0) >= s.related_ratio * top][:1]
        if not related and related_focus:
            related = related_focus[:1]
        composed = self.composer.with_related(composed, related, analysis, today)
        return Plan(composed, True, candidates.search_text, articles, analysis, decision)

    def _refusal(
        self,
        analysis: QueryAnalysis,
        decision: Decision,
        profile: CorpusProfile,
        search_text: str,
        hits: list[Hit],
        ineligible: list[Hit] | None = None,
    ) -> Plan:
        """`ineligible`: the resources that would answer the question but that the asker
        cannot get (decision reason "ineligible"): the refusal names them and says why."""
        # A false premise with a close resource (about the most specific word of what was
        # named): say what exists instead.
        alternatives: list[Hit] = []
        if decision.reason == "false_premise":
            near = set(decision.evidence.named_support_near)
            alternatives = [h for h in hits if h.kind == "recurs" and h.id in near][:2]
        # An unknown form code: name the forms that exist, from a source found that lists them.
        forms_source = None
        if decision.reason == "unknown_code":
            forms_source = max(
                (h for h in hits if h.kind != "recurs"),
                key=lambda h: sum(
                    c in str(h.metadata.get("text") or "") for c in profile.known_forms
                ),
                default=None,
            )
        composed = self.composer.refusal(
            decision,
            covered=profile.period,
            known_forms=profile.known_forms,
            alternatives=alternatives,
            forms_source=forms_source,
            ineligible=ineligible or [],
            analysis=analysis,
        )
        return Plan(composed, False, search_text, [], analysis, decision)


def _diverse(hits: list[Hit], per_doc: int = 2) -> list[Hit]:
    counts: dict[str, int] = {}
    out = []
    for hit in hits:
        if counts.get(hit.doc_id, 0) < per_doc:
            out.append(hit)
            counts[hit.doc_id] = counts.get(hit.doc_id, 0) + 1
    return out
