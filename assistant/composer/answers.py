"""AnswerComposer: grounded Catalan answers without an LLM, refusals included.

Every sentence it writes is either fixed wording of ours or a fact copied from a source's
metadata or text, with a [n] citation; so it cannot state a code, date or amount that is
not in its sources. Text copied from a source is data, never markup: it is quoted and its
Markdown (links, bold) is made inert, so a hostile record cannot plant a working link.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assistant.ask.analysis import QueryAnalysis
from assistant.ask.decision import Decision
from assistant.ask.eligibility import tram_verdict
from assistant.ask.lexicon import Lexicon, default_lexicon
from assistant.cards import ResourceCard, card_for, window_for
from assistant.composer.passages import (
    PassagePicker,
    fact_kinds,
    first_sentence,
    paragraphs,
    sentences,
)
from assistant.instructions import OMITTED, drop_instructions
from assistant.links import NO_LINKS, LinkPolicy
from assistant.models import Hit
from index_config.analyzer import CatalanAnalyzer

_MD_LINK = re.compile(r"\[([^\]]*)\]\(([^)]*)\)")
_KEPT_LINK = re.compile(r"\x00(\d+)\x00")
# Where a dropped sentence was, until the brackets of the source text are made inert.
_DROPPED = "\x00-\x00"


@dataclass
class Composed:
    text: str
    cited: list[Hit]


def inert(text: object, links: LinkPolicy = NO_LINKS) -> str:
    """Source text made safe to place in an answer: no bold of its own, no links but
    those `links` allows (plain http(s) to an allowlisted host, assistant/links.py; any
    other link is left as text, "Formulari (https://phish.example/form)"), and no
    sentence addressed to the assistant or the reader (a planted instruction, see
    assistant/instructions.py), which becomes "[…]"."""
    value = drop_instructions(str(text or "").replace("\x00", ""), _DROPPED)
    kept: list[str] = []

    def link(match: re.Match[str]) -> str:
        label, url = match.group(1), match.group(2).strip()
        if not links.allows(url):
            return f"{label} ({match.group(2)})"
        label = _plain(label) or url
        kept.append(f"[{label}]({url})")
        return f"\x00{len(kept) - 1}\x00"

    value = _plain(_MD_LINK.sub(link, value)).replace(_DROPPED, OMITTED)
    return _KEPT_LINK.sub(lambda m: kept[int(m.group(1))], value)


def _plain(text: str) -> str:
    """No Markdown of its own: bold markers dropped, brackets made parentheses."""
    return text.replace("**", "").replace("[", "(").replace("]", ")")


def _thousands(value: int) -> str:
    # Catalan groups thousands with a dot: 2.500.
    return f"{value:,}".replace(",", ".")


def _clean(value: object) -> str:
    return inert(value).strip().rstrip(".") if value else ""


def window_status(hit: Hit, today: dt.date) -> str:
    """The catalogue's words for the window, after its state on `today` (assistant.cards)."""
    termini = _clean(hit.metadata.get("termini"))
    window = window_for(hit.metadata, today)
    if window.state in ("all_year", "no_application", "unknown"):
        return termini or window.text
    if not termini:
        return window.text
    return f"{window.text} ({termini[0].lower()}{termini[1:]})"


def _contact_line(card: ResourceCard) -> str:
    """Phones and e-mails of a card as tel:/mailto: links (ours, built from checked values)."""
    parts = []
    for contact in card.contacts:
        label = _clean(contact.label)
        parts.append(f"[{label}]({contact.href})" if contact.href else label)
    return ", ".join(parts)


def resource_card(
    hit: Hit, n: int, today: dt.date, lead: str | None = None, links: LinkPolicy = NO_LINKS
) -> str:
    """The facts an official needs about one resource, as a bold title and bullet lines."""
    card = card_for(hit, today)
    lines = [f"**{_clean(hit.title)}** (codi {hit.codi}) [{n}]"]
    if lead:
        lines.append(inert(lead, links))
    kind = f"{_clean(card.tipologia).capitalize()} · {_clean(card.classe)}"
    lines.append(f"- Tipus: {kind} · {_clean(card.area)}")
    who = ", ".join(_clean(w) for w in card.destinataris)
    if who:
        lines.append(f"- Qui el pot demanar: {who} ({_clean(card.tram_poblacio).lower()})")
    status = window_status(hit, today)
    if status:
        lines.append(f"- Termini de sol·licitud: {status}")
    if card.import_:
        amount = f"- Import: {_clean(card.import_)}"
        if card.aportacio_local:
            amount += f" · Aportació local: {_clean(card.aportacio_local)}"
        lines.append(amount)
    contact = _contact_line(card)
    unit = _clean(card.unitat)
    if contact or unit:
        lines.append(f"- Contacte: {unit}{' — ' if unit and contact else ''}{contact}")
    if hit.url:
        lines.append(f"- [Fitxa del recurs {hit.codi}]({hit.url})")
    return "\n".join(lines)


MAX_REQUIREMENTS = 3
# A description sentence is quoted next to the best resource's card when it shares at
# least half the weight of the question's rarest word (PassagePicker.score) and more
# than the lead sentence the card already shows.
ANSWERING_SENTENCE_MIN = 0.5


def requirements(hit: Hit) -> str:
    """The record's first few requirements, as one line."""
    values = [_clean(v).rstrip(".") for v in hit.metadata.get("requisits") or [] if v]
    return "; ".join(values[:MAX_REQUIREMENTS])


def resource_text(hit: Hit) -> str:
    """Everything a resource's record says in prose, for facts not in a field."""
    m = hit.metadata
    parts = [str(m.get("descripcio") or hit.snippet)]
    for name in ("actuacions", "requisits", "documentacio", "criteris_valoracio"):
        values = m.get(name) or []
        if isinstance(values, list):
            parts.extend(f"{v.rstrip('.')}." for v in values if v)
    return "\n".join(parts)


def resource_facts_text(hit: Hit) -> str:
    """The record's prose and its fields (window, amount, recipients, contact) as one text."""
    m = hit.metadata
    fields = [
        str(m.get(k) or "")
        for k in ("termini", "import", "aportacio_local", "tram_poblacio", "unitat_prestadora")
    ]
    fields.extend(str(w) for w in m.get("destinataris") or [])
    return "\n".join([resource_text(hit), *[f for f in fields if f]])


# A citation marker of ours: "[3]". Source text never carries one (inert() turns its
# brackets into parentheses); a link kept from a source is "[label](url)", not followed.
_CITATION = re.compile(r"\[(\d+)\](?!\()")


def shift_citations(text: str, by: int) -> str:
    """The text's citation numbers moved up by `by` (sources put ahead of its own)."""
    return _CITATION.sub(lambda m: f"[{int(m.group(1)) + by}]", text)


# The facts asked that a resource's card keeps in a field of its own, as a related
# resource under a rules answer names them. Not "termini": the card's is the application
# window, while a rule's deadline may be another (justifying, accepting).
_CARD_FIELD_LABELS = {
    "documentacio": "La seva fitxa demana",
    "requisits": "Requisits de la fitxa",
    "destinataris": "Qui el pot demanar",
    "aportacio": "Aportació local",
    "contacte": "Contacte",
}


def asker(analysis: QueryAnalysis) -> str:
    """Who asks, as eligibility read it: "un municipi de 25.000 habitants"."""
    if analysis.population:
        return f"un municipi de {_thousands(analysis.population)} habitants"
    if analysis.recipient:
        return f"un ens del tipus «{analysis.recipient.lower()}»"
    return "el vostre ens"


def why_not_for(hit: Hit, analysis: QueryAnalysis) -> str:
    """Why eligibility set a resource aside, in its card's own words."""
    m = hit.metadata
    reasons = []
    tram = _clean(m.get("tram_poblacio"))
    if analysis.population and tram_verdict(tram, analysis.population) is False:
        reasons.append(f"és per a {tram[:1].lower()}{tram[1:]}")
    recipients = [str(w) for w in m.get("destinataris") or []]
    if analysis.recipient and analysis.recipient not in recipients:
        who = ", ".join(_clean(w).lower() for w in recipients)
        reasons.append(f"el poden demanar {who}" if who else "no hi consta qui el pot demanar")
    return " i ".join(reasons) or "no hi podeu accedir"


class AnswerComposer:
    def __init__(
        self,
        analyzer: CatalanAnalyzer,
        contact: str,
        idf: Callable[[str], float] | None = None,
        lexicon: Lexicon | None = None,
        links: Callable[[], LinkPolicy] | None = None,
        whole_quote_chars: int = 700,
    ) -> None:
        """`links`: the policy for links quoted from sources (assistant/links.py); none
        by default, so every link copied from a source is text. `whole_quote_chars`: an
        article or FAQ answer up to this long is quoted whole (AskSettings)."""
        self.whole_quote_chars = whole_quote_chars
        self.analyzer = analyzer
        self.contact = contact
        self._links = links or (lambda: NO_LINKS)
        self.lexicon = lexicon or default_lexicon()
        # Rare words decide which sentence answers; "PGI" or "línia" appear everywhere.
        self.passages = PassagePicker(analyzer, idf, self.lexicon)

    # Resources ---------------------------------------------------------------------
    def resources(
        self,
        analysis: QueryAnalysis,
        hits: Sequence[Hit],
        today: dt.date,
        extra: Sequence[Hit] = (),
    ) -> Composed:
        """'What support exists for X': the best resources with their facts."""
        one = len(hits) == 1
        intro = (
            "He trobat aquest recurs del Catàleg de serveis que hi pot encaixar:"
            if one
            else "He trobat aquests recursos del Catàleg de serveis que hi poden encaixar:"
        )
        notes = []
        if analysis.population:
            notes.append(f"per a un municipi de {_thousands(analysis.population)} habitants")
        if analysis.recipient:
            notes.append(f"que pot demanar un ens del tipus «{analysis.recipient.lower()}»")
        if notes:
            intro = intro[:-1] + f" ({'; '.join(notes)}):"
        blocks = [intro]
        links = self._links()
        for n, hit in enumerate(hits, start=1):
            text = resource_text(hit)
            lead = first_sentence(str(hit.metadata.get("descripcio") or hit.snippet))
            card = resource_card(hit, n, today, lead, links)
            stated = self._asked_fact(analysis, hit, text, lead)
            if not stated and n == 1:
                stated = self._answering_sentence(analysis, hit, lead)
            if stated:
                card += f"\n- Sobre el que demaneu, la fitxa diu: «{inert(stated, links)}»"
            # The best match's conditions (notice to give, what to return, who may not
            # apply) decide whether it fits at all: shown even when not asked for.
            conditions = requirements(hit)
            if n == 1 and conditions and not (stated and stated in conditions):
                card += f"\n- Requisits: {inert(conditions, links)}"
            blocks.append(card)
        cited = list(hits)
        for hit in extra:
            n = len(cited) + 1
            label = hit.title if hit.kind == "faq" else (hit.article or hit.title)
            doc_title = hit.metadata.get("doc_title", hit.source)
            text = str(hit.metadata.get("text") or hit.snippet)
            passage = self.passages.best(analysis.terms, text, analysis.facets, max_chars=360)
            line = f"Sobre la tramitació, vegeu també «{_clean(label)}» ({_clean(doc_title)}) [{n}]"
            blocks.append(f"{line}:\n«{inert(passage, links)}»" if passage else f"{line}.")
            cited.append(hit)
        blocks.append(
            "Les sol·licituds es presenten pel Portal de tràmits dels ens locals (PMT); "
            + (
                "confirmeu les condicions a la fitxa del recurs."
                if one
                else "confirmeu les condicions a la fitxa de cada recurs."
            )
        )
        return Composed("\n\n".join(blocks), cited)

    def _answering_sentence(self, analysis: QueryAnalysis, hit: Hit, lead: str) -> str | None:
        """The sentence of the best resource's description that shares most of the
        question's rare words, when it shares more than the lead the card shows ("i
        exposicions, també en porten?": the sentence about its exhibitions)."""
        description = str(hit.metadata.get("descripcio") or "")
        terms = self.passages.weighted_terms(analysis.terms)
        if not terms or not description:
            return None
        lead_score = self.passages.score(terms, lead, set())
        best: tuple[float, str] | None = None
        for sentence in sentences(description):
            if sentence == lead:
                continue
            score = self.passages.score(terms, sentence, set())
            if best is None or score > best[0]:
                best = (score, sentence)
        if best is None or best[0] < ANSWERING_SENTENCE_MIN or best[0] <= lead_score:
            return None
        return best[1]

    def _asked_fact(self, analysis: QueryAnalysis, hit: Hit, text: str, lead: str) -> str | None:
        """A sentence stating the fact asked for, when the card's fields do not state it."""
        missing = [
            name
            for name in analysis.facets
            if (facet := self.lexicon.facet(name)) is not None
            and not any(hit.metadata.get(field) for field in facet.fields)
        ]
        if not missing:
            return None
        sentence = self.passages.stating(analysis.terms, text, missing)
        return sentence if sentence and sentence != lead else None

    # Rules -------------------------------------------------------------------------
    def regulation(
        self, analysis: QueryAnalysis, hits: Sequence[Hit], context: str = ""
    ) -> Composed:
        """Quote the passage of each article or FAQ entry that answers the question."""
        blocks = []
        links = self._links()
        for n, hit in enumerate(hits, start=1):
            text = str(hit.metadata.get("text") or hit.snippet)
            if len(text) <= self.whole_quote_chars:
                passage = " ".join(" ".join(lines) for lines in paragraphs(text))
            else:
                passage = (
                    self.passages.best(analysis.terms, text, analysis.facets, context)
                    or hit.snippet
                )
            doc_title = _clean(hit.metadata.get("doc_title") or hit.source)
            title = _clean(hit.title)
            if hit.kind == "faq":
                head = f"Segons les preguntes freqüents («{_clean(hit.article)}») [{n}]:"
            elif hit.article:
                article = "la " if hit.article.lower().startswith("disposició") else "l'"
                head = f"Segons {article}**{title}** del {doc_title} [{n}]:"
            elif hit.title and title != doc_title:
                head = f"Segons «{title}» ({doc_title}) [{n}]:"
            else:
                head = f"Segons el document «{doc_title}» [{n}]:"
            quoted = f"«{inert(passage, links)}»"
            if n == 1:
                blocks.append(f"{head}\n{quoted}")
            else:
                blocks.append(f"També hi fa referència: {head[0].lower()}{head[1:]}\n{quoted}")
        link = next((h.url for h in hits if h.url), None)
        if link:
            blocks.append(f"[Consulteu el text complet]({link})")
        return Composed("\n\n".join(blocks), list(hits))

    def read_as(self, composed: Composed, catalan: str) -> Composed:
        """An answer to a question translated from Spanish says how it was read, so that
        a wrong translation can be seen (and the question asked again in other words)."""
        note = f"He llegit la vostra pregunta en català així: «{inert(catalan)}»"
        return Composed(f"{note}\n\n{composed.text}", composed.cited)

    def with_related(
        self,
        composed: Composed,
        related: Sequence[Hit],
        analysis: QueryAnalysis,
        today: dt.date,
    ) -> Composed:
        """A rules answer with the catalogue resources it is about. A rule often gives way
        to the resource's own card ("excepte que la fitxa del recurs estableixi un període
        diferent"): when the question asks a fact and the card's prose states it in the
        question's words, that sentence is quoted too."""
        links = self._links()
        for hit in related:
            n = len(composed.cited) + 1
            extra_text = f"Recurs relacionat: **{_clean(hit.title)}** (codi {hit.codi}) [{n}]"
            # A fact the card keeps in a field of its own ("quina documentació hem de
            # presentar?"): the rule says what applies to all, the field what this one asks.
            own = next(
                (
                    (label, value)
                    for facet in analysis.facets
                    if (label := _CARD_FIELD_LABELS.get(facet))
                    and (value := self._facet_value(analysis, facet, hit, today))
                ),
                None,
            )
            if own:
                extra_text += f". {own[0]}: {own[1]}"
            elif hit.metadata.get("import"):
                extra_text += f", import: {_clean(hit.metadata['import'])}"
            stated = None if own else self._card_statement(analysis, hit)
            if stated:
                extra_text += f". Sobre el que demaneu, la fitxa diu: «{inert(stated, links)}»"
            composed = Composed(composed.text + "\n\n" + extra_text + ".", [*composed.cited, hit])
        return composed

    def with_ineligible(
        self, composed: Composed, ineligible: Sequence[Hit], analysis: QueryAnalysis
    ) -> Composed:
        """An answer whose best matches the asker cannot get names them first, with why,
        so that an official does not read the resources listed as all there is. They
        become sources [1]..[k] and the answer's own citations move up by k."""
        one = len(ineligible) == 1
        lead = (
            f"El recurs del Catàleg de serveis que més s'hi acosta no és per a {asker(analysis)}:"
            if one
            else "Els recursos del Catàleg de serveis que més s'hi acosten no són per a "
            f"{asker(analysis)}:"
        )
        lines, cited = self._ineligible_lines(ineligible, analysis, 0)
        shifted = shift_citations(composed.text, len(cited))
        return Composed("\n".join([lead, *lines]) + "\n\n" + shifted, [*cited, *composed.cited])

    def _ineligible_lines(
        self, ineligible: Sequence[Hit], analysis: QueryAnalysis, numbered: int
    ) -> tuple[list[str], list[Hit]]:
        lines, cited = [], []
        for hit in ineligible:
            cited.append(hit)
            lines.append(
                f"- **{_clean(hit.title)}** (codi {hit.codi}) [{numbered + len(cited)}]: "
                f"{why_not_for(hit, analysis)}."
            )
        return lines, cited

    def _card_statement(self, analysis: QueryAnalysis, hit: Hit) -> str | None:
        """The card's sentence that states the fact asked for and shares a question word."""
        sentence = self.passages.stating(analysis.terms, resource_text(hit), analysis.facets)
        terms = self.passages.weighted_terms(analysis.terms)
        if not sentence or self.passages.score(terms, sentence, set()) <= 0:
            return None
        return sentence.rstrip(".")

    # Follow-ups about facts of the resources just shown --------------------------------
    def _facet_value(
        self, analysis: QueryAnalysis, facet: str, hit: Hit, today: dt.date
    ) -> str | None:
        m = hit.metadata
        if facet == "import":
            if m.get("import"):
                value = _clean(m["import"])
                if m.get("aportacio_local"):
                    value += f". Aportació local: {_clean(m['aportacio_local'])}"
                return value
            if m.get("tipologia") != "econòmic":
                value = (
                    f"és un recurs {_clean(m.get('tipologia'))} ({_clean(m.get('classe'))}): "
                    "no té import econòmic, la Diputació presta directament el suport"
                )
                cost = self._cost_statement(hit)
                return f"{value}. La fitxa diu: «{cost}»" if cost else value
            return None
        if facet == "aportacio":
            if m.get("aportacio_local"):
                return _clean(m["aportacio_local"])
            cost = self._cost_statement(hit)
            if cost:
                return f"la fitxa no demana cap aportació local i diu: «{cost}»"
            return "la fitxa no demana cap aportació local"
        if facet == "termini":
            return window_status(hit, today) or None
        if facet == "contacte":
            contact = ", ".join(_clean(x) for x in (m.get("telefon"), m.get("email")) if x)
            unit = _clean(m.get("unitat_prestadora"))
            return f"{unit} — {contact}" if contact else unit or None
        if facet == "requisits" and m.get("requisits"):
            return "; ".join(_clean(r) for r in m["requisits"])
        if facet == "documentacio" and m.get("documentacio"):
            return "; ".join(_clean(r) for r in m["documentacio"])
        if facet == "destinataris":
            recipients = m.get("destinataris") or []
            who = ", ".join(_clean(w) for w in recipients)
            if not who:
                return None
            value = f"{who} ({_clean(m.get('tram_poblacio')).lower()})"
            # The body the question names, measured against the record's own lists.
            if analysis.recipient:
                listed = analysis.recipient in recipients
                value += (
                    f"; la fitxa {'sí que' if listed else 'no'} inclou "
                    f"{analysis.recipient.lower()} entre els destinataris"
                )
            if analysis.population:
                verdict = tram_verdict(str(m.get("tram_poblacio") or ""), analysis.population)
                if verdict is not None:
                    value += (
                        f"; un municipi de {_thousands(analysis.population)} habitants "
                        f"{'sí que hi pot accedir' if verdict else 'no hi pot accedir'}"
                    )
            return value
        return None

    def _cost_statement(self, hit: Hit) -> str | None:
        """The record's sentence saying what the support costs the local body when no
        amount applies ("sense cost per als centres", "el préstec és gratuït")."""
        for sentence in sentences(resource_text(hit)):
            if "cost" in fact_kinds(sentence, self.passages.lexicon):
                return inert(sentence, self._links()).rstrip(".")
        return None

    def _about(
        self, analysis: QueryAnalysis, hit: Hit, today: dt.date, strict: bool = False
    ) -> str | None:
        """What the record says about the asked fact: its field, or the sentence stating
        it; unless `strict`, else the sentence sharing most of the question's words."""
        for facet in analysis.facets:
            value = self._facet_value(analysis, facet, hit, today)
            if value:
                return value
        text = resource_text(hit)
        stated = self.passages.stating(analysis.terms, text, analysis.facets)
        if stated:
            return f"«{inert(stated, self._links())}»"
        if analysis.informative and not strict:
            best = self.passages.best(analysis.terms, text, max_chars=320)
            terms = self.passages.weighted_terms(analysis.terms)
            if best and self.passages.score(terms, best, set()) > 0:
                return f"«{inert(best, self._links())}»"
        return None

    def follow_up(
        self, analysis: QueryAnalysis, focus: Sequence[Hit], today: dt.date, strict: bool = False
    ) -> Composed | None:
        """A follow-up about a fact of the resources just shown ("i l'import?"): the fact
        for each of them, never silently for the first one only."""
        answers = [(hit, self._about(analysis, hit, today, strict)) for hit in focus]
        found = [(hit, value) for hit, value in answers if value]
        if not found:
            return None
        if len(focus) == 1:
            hit, fact = found[0]
            name = f"**{_clean(hit.title)}** (codi {hit.codi})"
            text = f"Sobre {name} [1]: {fact}"
            text = text if text.endswith((".", "»")) else text + "."
            if hit.url:
                text += f"\n\n[Fitxa del recurs {hit.codi}]({hit.url})"
            return Composed(text, [hit])
        lines = ["Per a cada recurs de la resposta anterior:"]
        cited: list[Hit] = []
        for hit, stated in answers:
            cited.append(hit)
            name = f"**{_clean(hit.title)}** (codi {hit.codi}) [{len(cited)}]"
            lines.append(f"- {name}: {stated or 'la fitxa no ho especifica'}")
        return Composed("\n".join(lines), cited)

    # Refusals ----------------------------------------------------------------------
    def refusal(
        self,
        decision: Decision | None = None,
        covered: str = "",
        known_forms: Sequence[str] = (),
        alternatives: Sequence[Hit] = (),
        forms_source: Hit | None = None,
        ineligible: Sequence[Hit] = (),
        analysis: QueryAnalysis | None = None,
    ) -> Composed:
        """Why the assistant does not answer, what exists instead, and where to ask.
        `ineligible`: the resources that would answer, but not for who asks (`analysis`)."""
        reason = decision.reason if decision else None
        detail = decision.detail if decision else ()
        scope = (
            "Només puc respondre preguntes sobre el Pla XGL: els recursos del Catàleg de "
            "serveis, el Programa general d'inversions, el Protocol general i la seva normativa."
        )
        if reason == "injection":
            lead = f"No puc seguir aquesta petició. {scope}"
        elif reason == "small_talk":
            lead = scope
        elif reason == "out_of_period":
            years = ", ".join(detail)
            lead = f"No tinc informació sobre {years}: les fonts que consulto cobreixen {covered}."
        elif reason == "unknown_code":
            codes = ", ".join(detail)
            lead = f"No he trobat {codes} a les fonts del Pla XGL."
        elif reason == "false_premise" and len(detail) == 2:
            kind, purpose = detail
            kind = self.lexicon.support_kinds.get(kind, kind)
            lead = f"No he trobat cap {kind} per a «{purpose}» al Catàleg de serveis."
        elif reason == "ineligible" and ineligible and analysis is not None:
            lead = f"El Catàleg de serveis té recursos sobre això, però no per a {asker(analysis)}:"
        elif reason == "other_administration":
            lead = (
                "Sembla una qüestió d'una altra administració: les fonts que consulto són les "
                "del Pla XGL de la Diputació, i no en parlen."
            )
        else:
            lead = (
                "No he trobat informació sobre això al Catàleg de serveis, al Protocol general "
                "ni als règims reguladors del Pla XGL, i prefereixo no donar-vos una resposta "
                "inventada."
            )
        blocks = [lead]
        cited: list[Hit] = []
        if reason == "ineligible" and ineligible and analysis is not None:
            lines, cited = self._ineligible_lines(ineligible, analysis, 0)
            blocks[0] = "\n".join([lead, *lines])
        if reason == "unknown_code" and forms_source is not None:
            # The forms that do exist, from a source that lists them (cited like any fact).
            text = (
                f"{forms_source.title} {forms_source.metadata.get('text') or forms_source.snippet}"
            )
            forms = [c for c in known_forms if c in text]
            if forms:
                cited.append(forms_source)
                blocks.append(f"Els models que hi consten són: {', '.join(forms)} [1].")
        if alternatives:
            lines = ["El que sí que hi ha i s'hi acosta:"]
            for hit in alternatives:
                cited.append(hit)
                lines.append(f"- **{_clean(hit.title)}** (codi {hit.codi}) [{len(cited)}]")
            blocks.append("\n".join(lines))
        blocks.append(
            f"Podeu adreçar la consulta a {self.contact}, o reformular la pregunta amb altres "
            "paraules (per exemple, el tipus de suport o el tema)."
        )
        return Composed("\n\n".join(blocks), cited)

    def nothing_open(self, today: dt.date) -> Composed:
        return Composed(
            f"A data de {today.strftime('%d/%m/%Y')} no hi ha cap recurs del catàleg amb el "
            "termini de sol·licitud obert que coincideixi amb la consulta.\n\n"
            f"Podeu adreçar la consulta a {self.contact}.",
            [],
        )


__all__ = ["AnswerComposer", "Composed", "inert", "resource_card", "sentences", "window_status"]
