"""AssistantService: the one object the API, the widget, the bot and the CLI call."""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import uuid
from collections.abc import Iterator
from typing import Any

from haystack import Document

from assistant.ask.analysis import analyse
from assistant.ask.language import SpanishReader
from assistant.ask.pipeline import AskPipeline, CorpusProfile, Plan, build_profile
from assistant.cards import FACET_FIELDS, Facets, facets_from_counts
from assistant.composer import AnswerComposer, Composed
from assistant.conversation import ConversationStore, Turn
from assistant.errors import IndexNotReadyError, QueryError
from assistant.grounding import TermStatistics
from assistant.links import LinkAllowlist
from assistant.models import Answer, Filters, Hit, StreamEvent
from assistant.retrieval.hits import to_hit
from assistant.retrieval.index import NOT_READY, OpenIndex
from assistant.retrieval.searcher import MAX_QUERY_CHARS, Searcher
from index_config import Settings
from index_config.store_errors import StoreError

log = logging.getLogger(__name__)


class AssistantService:
    """Searches the index and answers questions, grounded and cited, in Catalan.

    Thread-safe for concurrent requests. Construct with `AssistantService(settings)` and
    call `warm_up()` once (loads the model and opens the current index version); `close()`
    at shutdown.
    """

    def __init__(
        self, settings: Settings, today: dt.date | None = None, searcher: Searcher | None = None
    ) -> None:
        """`today` fixes the date (tests); `searcher` replaces the default one (tests)."""
        self.settings = settings
        self._today = today
        self.searcher = searcher or Searcher(settings)
        # Links copied from sources stay links only to these hosts (assistant/links.py).
        self.links = LinkAllowlist(settings.link_hosts, lambda: self.searcher.index)
        self.composer = AnswerComposer(
            self.searcher.analyzer,
            settings.contact,
            idf=lambda term: self._term_stats().idf(term),
            links=self.links.policy,
            whole_quote_chars=settings.ask.whole_quote_chars,
        )
        # Spanish questions and searches are read in Catalan (assistant/ask/language.py).
        self.reader = SpanishReader(settings.language)
        self.pipeline = AskPipeline(
            settings, self.searcher, self.composer, self._profile, reader=self.reader
        )
        self.conversations: ConversationStore | None = None
        self._corpus: CorpusProfile | None = None
        self._stats_lock = threading.Lock()
        self.llm: Any = None

    # Lifecycle ---------------------------------------------------------------------
    def warm_up(self) -> None:
        self.searcher.warm_up()
        self.conversations = ConversationStore(self.settings.sqlite_path)
        if self.settings.llm_base_url:
            from assistant.llm import LLMAnswerer

            self.llm = LLMAnswerer(self.settings)
            self.llm.warm_up()

    def close(self) -> None:
        self.searcher.close()
        self.reader.close()
        if self.conversations is not None:
            self.conversations.close()
        if self.llm is not None:
            self.llm.close()

    def is_ready(self) -> bool:
        """True when the index is loaded and non-empty (GET /ready)."""
        if self.searcher.index is None:
            return False
        opened = self.searcher.index.peek()
        return opened is not None and opened.count > 0

    def today(self) -> dt.date:
        """The reference date: fixed by a test, by CONCERTA_TODAY, or today's date."""
        return self._today or self.settings.today or dt.date.today()

    @property
    def _store(self) -> ConversationStore:
        if self.conversations is None:
            self.warm_up()
        assert self.conversations is not None
        return self.conversations

    # Search ------------------------------------------------------------------------
    def search(
        self, query: str, top_k: int = 10, filters: dict[str, Any] | None = None
    ) -> list[Hit]:
        """Hybrid search; raises FilterError / QueryError on bad input. The query is read
        as the ask path reads a question: Spanish in Catalan, and a word the index has
        never seen matched to its near spellings (a typo in a staff search finds what
        the same typo in a question to the assistant finds; bench/README.md)."""
        if not 1 <= top_k <= 50:
            raise QueryError("El nombre de resultats (top_k) ha de ser entre 1 i 50.")
        parsed = Filters.parse(filters)
        if not 0 < len((query or "").strip()) <= MAX_QUERY_CHARS:
            return self.searcher.search(query, parsed, top_k)  # it says what is wrong
        query = self.reader.read(query).text
        if self.searcher.index is None:
            self.searcher.warm_up()
        spelling = self._profile().spelling
        analysis = analyse(query, self.searcher.analyzer, spelling=spelling)
        terms = spelling.expand(analysis.terms, analysis.informative)
        found = self.searcher.run(
            query, parsed, top_k, query_terms=terms, instruments=analysis.instruments
        )
        return [r.hit for r in found.fused]

    def resource(self, codi: str) -> Hit | None:
        """The full card of one catalogue resource by code (bot 'Més detalls')."""
        if not re.fullmatch(r"\d{5}", codi or ""):
            return None
        opened = self.searcher.index.get() if self.searcher.index else None
        if opened is None:
            return None
        docs = opened.documents(extra={"codi": codi})
        return to_hit(docs[0], set(), self.searcher.analyzer) if docs else None

    def open_resources(self, on: dt.date | None = None, limit: int = 20) -> list[Hit]:
        """Catalogue resources whose application window contains `on` (default today)."""
        day = on or self.today()
        opened = self.searcher.index.get() if self.searcher.index else None
        if opened is None:
            return []
        docs = opened.documents(Filters(kind="recurs", obert_a=day))
        docs.sort(key=lambda d: (d.meta.get("termini_fi_num") or 0, d.meta.get("codi") or ""))
        return [to_hit(d, set(), self.searcher.analyzer) for d in docs[:limit]]

    def catalogue_facets(self) -> Facets:
        """The catalogue's filterable values with counts, counted by the engine from its
        payload indexes (one chunk per resource), without reading any resource."""
        opened = self.searcher.index.get() if self.searcher.index else None
        if opened is None:
            return Facets()
        recurs = {"field": "meta.kind", "operator": "==", "value": "recurs"}
        counts = {
            name: {str(k): v for k, v in opened.store.facet(f"meta.{name}", recurs).items()}
            for name in FACET_FIELDS
        }
        total = opened.store.count_filtered(recurs)
        return facets_from_counts(counts, total)

    def catalogue_resources(self) -> list[Hit]:
        """Every catalogue resource of the served index, by code (facets, cards, the
        staff page's timeline of application windows)."""
        opened = self.searcher.index.get() if self.searcher.index else None
        if opened is None:
            return []
        docs = opened.store.filter_documents(
            {"field": "meta.kind", "operator": "==", "value": "recurs"}
        )
        hits = [to_hit(d, set(), self.searcher.analyzer) for d in docs]
        return sorted(hits, key=lambda h: h.codi or "")

    # Conversation ------------------------------------------------------------------
    def feedback(
        self,
        conversation_id: str,
        rating: int,
        message_id: str | None = None,
        comment: str | None = None,
    ) -> None:
        """Store a thumbs up (1) or down (-1); raises QueryError for unknown ids or ratings."""
        self._store.add_feedback(conversation_id, rating, message_id, comment)

    def reset_conversation(self, conversation_id: str) -> None:
        """Forget a conversation's context (bot /nova, widget 'nova conversa')."""
        self._store.reset(conversation_id)

    # Answers -----------------------------------------------------------------------
    def ask(
        self,
        question: str,
        conversation_id: str | None = None,
        filters: dict[str, Any] | None = None,
        focus: str | None = None,
    ) -> Answer:
        """Answer a question (a follow-up when conversation_id names an earlier one).
        `focus`: the code of one resource of the previous answer the question is about
        (a front end's "which one?" button)."""
        answer: Answer | None = None
        for event in self.ask_stream(question, conversation_id, filters, focus):
            if event.event == "sources":
                answer = Answer.model_validate(event.data)
        assert answer is not None
        return answer

    def ask_stream(
        self,
        question: str,
        conversation_id: str | None = None,
        filters: dict[str, Any] | None = None,
        focus: str | None = None,
    ) -> Iterator[StreamEvent]:
        """The same answer as events: start, delta..., sources (see StreamEvent)."""
        question = self._validate_question(question)
        parsed = Filters.parse(filters)
        store = self._store
        cid = store.ensure(conversation_id)
        history = store.history(cid)
        plan = self.pipeline.plan(question, parsed, history, self.today(), focus=focus)
        message_id = uuid.uuid4().hex
        yield StreamEvent(event="start", data={"conversation_id": cid, "message_id": message_id})
        text, cited, grounded = plan.composed.text, plan.composed.cited, plan.grounded
        if self.llm is not None and grounded:
            # The LLM's answer is checked whole before any of it reaches the user.
            llm_text = self._llm_answer(question, plan, history)
            if llm_text is not None:
                text, cited = llm_text, self._llm_sources(plan)
                if plan.ineligible:
                    told = self.composer.with_ineligible(
                        Composed(text, cited), plan.ineligible, plan.analysis
                    )
                    text, cited = told.text, told.cited
        for piece in _pieces(text):
            yield StreamEvent(event="delta", data={"text": piece})
        reason = plan.refusal_reason
        if reason:
            # The question itself is personal data: logged only when a setting allows it.
            if self.settings.log_questions:
                log.info("refused (%s): %s", reason, question)
            else:
                log.info("refused (%s)", reason)
        store.add_turn(
            cid,
            question,
            plan.search_query,
            text,
            grounded,
            cited,
            turn_id=message_id,
            refusal_reason=reason,
        )
        answer = Answer(
            answer=text,
            grounded=grounded,
            sources=cited,
            conversation_id=cid,
            message_id=message_id,
            refusal_reason=reason,
            choices=plan.choices,
        )
        yield StreamEvent(event="sources", data=answer.model_dump(mode="json"))

    # ------------------------------------------------------------------------------
    def _validate_question(self, question: str) -> str:
        question = (question or "").strip()
        if not question:
            raise QueryError("La pregunta és buida: escriviu què voleu saber.")
        if len(question) > MAX_QUERY_CHARS:
            raise QueryError(f"La pregunta és massa llarga (màxim {MAX_QUERY_CHARS} caràcters).")
        return question

    def _term_stats(self) -> TermStatistics:
        return self._profile().stats

    def _profile(self) -> CorpusProfile:
        """What the served version covers (years, forms, vocabulary), once per version.
        Term statistics come with the version (computed by the ingest). A version that
        breaks while this is read gives way to another valid one, as a search does."""
        assert self.searcher.index is not None
        for _ in range(2):
            opened = self.searcher.index.get()
            with self._stats_lock:
                if self._corpus is not None and self._corpus.version == opened.version:
                    return self._corpus
                try:
                    self._corpus = self._read_profile(opened)
                    return self._corpus
                except StoreError as exc:
                    failure = exc
            if not self.searcher.index.report_failure(opened, failure):
                raise failure
        raise IndexNotReadyError(NOT_READY)

    def _read_profile(self, opened: OpenIndex) -> CorpusProfile:
        # The catalogue's years from the engine's payload index, and the few regulation
        # and FAQ chunks whole: reading every resource took 19 s at 100,000
        # (bench/bench_scale.py: first ask after start).
        years = opened.store.facet(
            "meta.any", {"field": "meta.kind", "operator": "==", "value": "recurs"}
        )
        documents = opened.documents(extra={"kind": ["normativa", "faq"]})
        documents += [Document(content="", meta={"kind": "recurs", "any": year}) for year in years]
        return build_profile(opened.version, documents, opened.term_stats, self.searcher)

    # LLM path ----------------------------------------------------------------------
    def _llm_sources(self, plan: Plan) -> list[Hit]:
        """What the LLM answers from: the composer's sources, less the resources the
        asker cannot get (named after its answer, never offered to it to recommend)."""
        set_aside = {h.id for h in plan.ineligible}
        return [h for h in plan.composed.cited or plan.context if h.id not in set_aside]

    def _llm_answer(self, question: str, plan: Plan, history: list[Turn]) -> str | None:
        """The LLM's whole answer once it has passed the check, or None to fall back to
        the composer. Nothing streams before the check: a rejected answer is never seen."""
        from assistant.llm import LLMError, is_refusal

        sources = self._llm_sources(plan)
        pairs = [(t.question, t.answer) for t in history[-3:]]
        try:
            text = "".join(self.llm.stream(question, sources, pairs)).strip()
        except LLMError as exc:
            log.warning("LLM failed, using the composer: %s", exc)
            return None
        if is_refusal(text):
            return None
        problems = self.llm.check(text, sources, self.links.policy())
        if problems:
            log.warning("LLM answer rejected (%s), using the composer", "; ".join(problems))
            return None
        return text


def _pieces(text: str, size: int = 6) -> Iterator[str]:
    """Split a composed answer into word groups for streaming (spaces kept)."""
    words = re.split(r"(?<=\s)", text)
    for start in range(0, len(words), size):
        yield "".join(words[start : start + size])
