"""AssistantService: the one object the API, the widget, the bot and the CLI call."""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from assistant.composer import AnswerComposer, Composed
from assistant.conversation import ConversationStore, Turn
from assistant.errors import QueryError
from assistant.grounding import GroundingCheck, TermStatistics
from assistant.models import Answer, Filters, Hit, StreamEvent
from assistant.retrieval.hits import to_hit
from assistant.retrieval.searcher import MAX_QUERY_CHARS, Retrieved, Searcher
from assistant.understanding import Understanding, tram_allows, understand
from index_config import Settings

log = logging.getLogger(__name__)

# A result is listed next to the best one when its fused score is at least this share.
RELATIVE_CUTOFF = 0.55
MAX_RESOURCES = 4
MAX_ARTICLES = 3


@dataclass
class Plan:
    """What to answer and with which sources, before any wording."""

    composed: Composed
    grounded: bool
    search_query: str
    context: list[Hit]


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
        self.composer = AnswerComposer(
            self.searcher.analyzer, settings.contact, idf=lambda term: self._term_stats().idf(term)
        )
        self.grounding = GroundingCheck(self.searcher.analyzer)
        self.conversations: ConversationStore | None = None
        self._stats: tuple[str, TermStatistics] | None = None
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
        return self._today or dt.date.today()

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
        """Hybrid search; raises FilterError / QueryError on bad input."""
        if not 1 <= top_k <= 50:
            raise QueryError("El nombre de resultats (top_k) ha de ser entre 1 i 50.")
        return self.searcher.search(query, Filters.parse(filters), top_k)

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
    ) -> Answer:
        """Answer a question (a follow-up when conversation_id names an earlier one)."""
        answer: Answer | None = None
        for event in self.ask_stream(question, conversation_id, filters):
            if event.event == "sources":
                answer = Answer.model_validate(event.data)
        assert answer is not None
        return answer

    def ask_stream(
        self,
        question: str,
        conversation_id: str | None = None,
        filters: dict[str, Any] | None = None,
    ) -> Iterator[StreamEvent]:
        """The same answer as events: start, delta..., sources (see StreamEvent)."""
        question = self._validate_question(question)
        parsed = Filters.parse(filters)
        store = self._store
        cid = store.ensure(conversation_id)
        history = store.history(cid)
        plan = self._plan(question, parsed, history)
        message_id = uuid.uuid4().hex
        yield StreamEvent(event="start", data={"conversation_id": cid, "message_id": message_id})
        text, cited, grounded = plan.composed.text, plan.composed.cited, plan.grounded
        if self.llm is not None and grounded:
            llm_text = yield from self._llm_stream(question, plan, history)
            if llm_text is not None:
                text, cited = llm_text, self._llm_sources(plan)
            else:
                yield StreamEvent(event="delta", data={"text": text})
        else:
            for piece in _pieces(text):
                yield StreamEvent(event="delta", data={"text": piece})
        store.add_turn(cid, question, plan.search_query, text, grounded, cited, turn_id=message_id)
        answer = Answer(
            answer=text,
            grounded=grounded,
            sources=cited,
            conversation_id=cid,
            message_id=message_id,
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
        # Computed by the ingest and stored with the version; loaded when it was opened.
        assert self.searcher.index is not None
        return self.searcher.index.get().term_stats

    def _plan(self, question: str, filters: Filters, history: list[Turn]) -> Plan:
        today = self.today()
        u = understand(question, bool(history), today)
        last = history[-1] if history else None
        focus = [h for h in (last.sources if last else []) if h.kind == "recurs"]

        if u.small_talk:
            return Plan(
                self.composer.refusal(
                    "Només puc respondre preguntes sobre el Pla XGL: els recursos del Catàleg de "
                    "serveis, el Programa general d'inversions i la seva normativa."
                ),
                False,
                question,
                [],
            )

        # 1. A short follow-up about one field of the resource in focus.
        content = self.searcher.analyzer.tokens(question)
        if u.follow_up and u.facets and focus and len(content) <= 4:
            for facet in u.facets:
                composed = self.composer.facet(question, facet, focus[0], today)
                if composed is not None:
                    return Plan(composed, True, last.search_query if last else question, focus)

        # 2. Retrieve, with the previous questions as context for follow-ups.
        search_query = question
        context = ""
        if u.follow_up and history:
            context = " ".join(t.question for t in history[-2:][::-1])
            search_query = f"{question} {context}"
        if u.recipient:
            # "Som un consell comarcal, podem...?" asks who may receive the support.
            search_query += " destinataris"
        effective = filters
        if u.open_on and filters.obert_a is None:
            effective = filters.merged(Filters(obert_a=u.open_on))
        retrieved = self.searcher.retrieve(search_query, effective, top_k=30)
        if context:
            # A follow-up may turn from a resource to the rules ("...com ho justifiquem?"):
            # when the question alone points at an article or FAQ entry, follow it, and
            # keep the resource in focus as related.
            alone = self.searcher.retrieve(question, effective, top_k=30)
            if alone and alone[0].hit.kind != "recurs" and retrieved[0].hit.kind == "recurs":
                own = self.grounding.coverage(
                    question, [r.document for r in alone[:3]], self._term_stats()
                )
                if own.score >= self.settings.min_coverage:
                    retrieved, search_query = alone, question
        retrieved = self._rerank(retrieved, u, history if u.follow_up else [])
        if not retrieved:
            if u.open_on:
                return Plan(
                    self.composer.refusal(
                        f"Avui ({today.strftime('%d/%m/%Y')}) no hi ha cap recurs del catàleg amb el "
                        "termini de sol·licitud obert que coincideixi amb la consulta."
                    ),
                    False,
                    search_query,
                    [],
                )
            return Plan(self.composer.refusal(), False, search_query, [])

        # 3. Is the question really answered by these sources?
        coverage = self.grounding.coverage(
            search_query, [r.document for r in retrieved[:3]], self._term_stats()
        )
        if coverage.unknown_years:
            years = ", ".join(str(y) for y in coverage.unknown_years)
            return Plan(
                self.composer.refusal(
                    f"No tinc informació sobre {years}: les fonts que consulto són el Pla XGL "
                    "2020-2023 i el Catàleg de serveis 2022."
                ),
                False,
                search_query,
                [],
            )
        if coverage.score < self.settings.min_coverage:
            log.info(
                "refused (coverage %.2f, missing %s): %s",
                coverage.score,
                coverage.missing,
                question,
            )
            return Plan(self.composer.refusal(), False, search_query, [])

        # 4. Word the answer from the best sources.
        top = retrieved[0].hit.score or 1e-9
        close = [r.hit for r in retrieved if (r.hit.score or 0) >= RELATIVE_CUTOFF * top]
        resources = [h for h in close if h.kind == "recurs"][:MAX_RESOURCES]
        articles = _diverse([h for h in close if h.kind != "recurs"])[:MAX_ARTICLES]
        if retrieved[0].hit.kind == "recurs" and not self._purpose_exists(u, resources):
            return Plan(
                self.composer.refusal(
                    f"No he trobat cap recurs del Catàleg de serveis per a «{u.named_purpose}»."
                ),
                False,
                search_query,
                [],
            )
        if retrieved[0].hit.kind == "recurs":
            extra = [a for a in articles[:1] if (a.score or 0) >= 0.75 * top]
            return Plan(
                self.composer.resources(question, u, resources, today, extra),
                True,
                search_query,
                resources,
            )
        composed = self.composer.regulation(question, articles, context=context)
        related = [h for h in resources if (h.score or 0) >= 0.75 * top][:1]
        if u.follow_up and focus and not related:
            related = focus[:1]
        for hit in related:
            n = len(composed.cited) + 1
            extra_text = f"Recurs relacionat: **{hit.title}** (codi {hit.codi}) [{n}]"
            if hit.metadata.get("import"):
                extra_text += f", import: {str(hit.metadata['import']).rstrip('.')}"
            composed = Composed(composed.text + "\n\n" + extra_text + ".", [*composed.cited, hit])
        return Plan(composed, True, search_query, articles)

    def _purpose_exists(self, u: Understanding, resources: list[Hit]) -> bool:
        """When the question names a support "per a X", one of the resources found must
        be about X: every informative word of X in its name, keywords or actions."""
        if not u.named_purpose:
            return True
        words = [
            t
            for t in self.searcher.analyzer.tokens(u.named_purpose)
            if t not in self.grounding.fillers and not t.isdigit()
        ]
        if not words:
            return True
        for hit in resources:
            m = hit.metadata
            topic = " ".join([hit.title, *(m.get("etiquetes") or []), *(m.get("actuacions") or [])])
            if all(self.grounding.mentions(word, topic) for word in words):
                return True
        return False

    def _rerank(
        self, retrieved: list[Retrieved], u: Understanding, history: list[Turn]
    ) -> list[Retrieved]:
        """Apply what the question told us: eligibility (population band, type of body)
        removes resources; a preferred type of support and the conversation's sources
        only nudge the order."""
        previous = {h.id for t in history[-1:] for h in t.sources}
        out = []
        for r in retrieved:
            hit, meta = r.hit, r.hit.metadata
            if hit.kind == "recurs":
                if u.population and not tram_allows(
                    str(meta.get("tram_poblacio", "")), u.population
                ):
                    continue
                if u.recipient and u.recipient not in (meta.get("destinataris") or []):
                    continue
            bonus = 0.0
            if u.prefers_tipologia and meta.get("tipologia") == u.prefers_tipologia:
                bonus += 0.08
            if hit.id in previous:
                bonus += 0.1
            out.append(
                Retrieved(hit.model_copy(update={"score": round(hit.score + bonus, 6)}), r.document)
                if bonus
                else r
            )
        out.sort(key=lambda r: r.hit.score or 0, reverse=True)
        return out

    # LLM path ----------------------------------------------------------------------
    def _llm_sources(self, plan: Plan) -> list[Hit]:
        return plan.composed.cited or plan.context

    def _llm_stream(self, question: str, plan: Plan, history: list[Turn]) -> Any:
        """Stream the LLM's answer; returns its checked text, or None to fall back."""
        from assistant.llm import LLMError, is_refusal

        sources = self._llm_sources(plan)
        pairs = [(t.question, t.answer) for t in history[-3:]]
        parts: list[str] = []
        try:
            for delta in self.llm.stream(question, sources, pairs):
                parts.append(delta)
                yield StreamEvent(event="delta", data={"text": delta})
        except LLMError as exc:
            log.warning("LLM failed, using the composer: %s", exc)
            return None
        text = "".join(parts).strip()
        problems = self.llm.check(text, sources)
        if is_refusal(text):
            return None
        if problems:
            log.warning("LLM answer rejected (%s), using the composer", "; ".join(problems))
            return None
        return text


def _diverse(hits: list[Hit], per_doc: int = 2) -> list[Hit]:
    counts: dict[str, int] = {}
    out = []
    for hit in hits:
        if counts.get(hit.doc_id, 0) < per_doc:
            out.append(hit)
            counts[hit.doc_id] = counts.get(hit.doc_id, 0) + 1
    return out


def _pieces(text: str, size: int = 6) -> Iterator[str]:
    """Split a composed answer into word groups for streaming (spaces kept)."""
    words = re.split(r"(?<=\s)", text)
    for start in range(0, len(words), size):
        yield "".join(words[start : start + size])
