"""AnswerComposer: grounded Catalan answers without an LLM.

Every sentence it writes is either fixed wording of ours or a fact copied from a source's
metadata or text, with a [n] citation; so it cannot state a code, date or amount that is
not in its sources.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from assistant.models import Hit
from assistant.understanding import Understanding
from index_config.analyzer import CatalanAnalyzer

_SENTENCE = re.compile(r"(?<=[.;!?])\s+(?=[A-ZÀ-Ú0-9«(])|\n+")
_DATE = re.compile(
    r"\b\d{1,2} (?:de |d')(?:gener|febrer|març|abril|maig|juny|juliol|agost|setembre|octubre|novembre|desembre)|\b\d{4}-\d{2}-\d{2}\b",
    re.I,
)
_AMOUNT = re.compile(r"\d[\d.]*\s?(?:€|euros|%)|\bpercentatge\b", re.I)
_DAYS = re.compile(r"\b(dies|mesos|setmanes|anys?)\b", re.I)
_ROLE = re.compile(r"interventor|secretari|alcalde|president|òrgan|signa", re.I)
_FORM = re.compile(r"\bC4-\d{3}\b")
_DURATION = re.compile(r"\b(mesos|setmanes|dies|anys)\b", re.I)


@dataclass
class Composed:
    text: str
    cited: list[Hit]


def _clean(value: object) -> str:
    return str(value).strip().rstrip(".") if value else ""


def window_status(hit: Hit, today: dt.date) -> str:
    meta = hit.metadata
    termini = _clean(meta.get("termini"))
    start, end = meta.get("termini_inici"), meta.get("termini_fi")
    if not start or not end:
        return termini
    opens, closes = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    if opens <= today <= closes:
        state = "obert ara"
    elif today < opens:
        state = "encara no s'ha obert"
    else:
        state = "ara tancat"
    return f"{termini} ({state})"


def resource_card(hit: Hit, n: int, today: dt.date, lead: str | None = None) -> str:
    """The facts an official needs about one resource, as a bold title and bullet lines."""
    m = hit.metadata
    lines = [f"**{hit.title}** (codi {hit.codi}) [{n}]"]
    if lead:
        lines.append(lead)
    kind = f"{_clean(m.get('tipologia')).capitalize()} · {_clean(m.get('classe'))}"
    lines.append(f"- Tipus: {kind} · {_clean(m.get('area'))}")
    who = ", ".join(m.get("destinataris") or [])
    if who:
        lines.append(f"- Qui el pot demanar: {who} ({_clean(m.get('tram_poblacio')).lower()})")
    status = window_status(hit, today)
    if status:
        lines.append(f"- Termini de sol·licitud: {status}")
    if m.get("import"):
        amount = f"- Import: {_clean(m['import'])}"
        if m.get("aportacio_local"):
            amount += f" · Aportació local: {_clean(m['aportacio_local'])}"
        lines.append(amount)
    contact = ", ".join(x for x in (m.get("telefon"), m.get("email")) if x)
    unit = _clean(m.get("unitat_prestadora"))
    if contact or unit:
        lines.append(f"- Contacte: {unit}{' — ' if unit and contact else ''}{contact}")
    if hit.url:
        lines.append(f"- [Fitxa del recurs {hit.codi}]({hit.url})")
    return "\n".join(lines)


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if len(s.strip()) > 2]


def _first_sentence(text: str) -> str:
    parts = _sentences(text)
    return parts[0] if parts else ""


class AnswerComposer:
    def __init__(
        self,
        analyzer: CatalanAnalyzer,
        contact: str,
        idf: Callable[[str], float] | None = None,
    ) -> None:
        self.analyzer = analyzer
        self.contact = contact
        # Rare words decide which sentence answers; "PGI" or "línia" appear everywhere.
        self.idf = idf or (lambda term: 1.0)

    # Passage selection -------------------------------------------------------------
    def _question_bonus(self, question: str, sentence: str) -> float:
        q = question.lower()
        bonus = 0.0
        if re.search(r"fins quan|quan |termini|data|hasta cu|plazo", q) and _DATE.search(sentence):
            bonus += 1.5
        if re.search(r"quant|import|percentatge|diners|cuánto|euros", q) and _AMOUNT.search(
            sentence
        ):
            bonus += 1.0
        if re.search(
            r"quants dies|dies|quant de temps|triga|mesos|termini|cuánto tiempo", q
        ) and _DAYS.search(sentence):
            bonus += 1.0
        if re.search(r"\bqui\b|quién", q) and _ROLE.search(sentence):
            bonus += 1.0
        if _FORM.search(sentence):
            # Procedures go through a form: officials need its code whenever they ask
            # how to justify, extend or change something.
            procedural = r"model|formulari|justific|allarg|ampli|prorrog|modific|com ho|com es"
            bonus += 1.0 if re.search(procedural, q) else 0.3
        return bonus

    def best_passage(
        self, question: str, text: str, max_chars: int = 560, context: str = ""
    ) -> str:
        """The one to three sentences of `text` that answer the question best.
        `context` (earlier questions of a follow-up) adds topic words at half weight."""
        sentences = _sentences(text)
        if not sentences:
            return ""
        q_terms = {t: w * self.idf(t) for t, w in self.analyzer.query_terms(question).items()}
        if context:
            for t, w in self.analyzer.query_terms(context).items():
                q_terms.setdefault(t, 0.5 * w * self.idf(t))
        top_weight = max(q_terms.values(), default=1.0) or 1.0
        scored = []
        for i, sentence in enumerate(sentences):
            terms = self.analyzer.term_weights(sentence)
            overlap = sum(w for t, w in q_terms.items() if t in terms) / top_weight
            scored.append((overlap + self._question_bonus(question, sentence), -i, i))
        scored.sort(reverse=True)
        best = scored[0][2]
        picked = {best} | {s[2] for s in scored[1:3] if s[0] >= max(0.8, scored[0][0] * 0.6)}
        # A sentence that announces a list ("... són els següents:") needs its items.
        if sentences[best].endswith(":") and best + 1 < len(sentences):
            picked.add(best + 1)
        chosen = sorted(picked)
        passage = ""
        for i in chosen:
            if len(passage) + len(sentences[i]) > max_chars and passage:
                break
            passage = f"{passage} {sentences[i]}".strip()
        return passage

    # Answers -----------------------------------------------------------------------
    def resources(
        self, question: str, u: Understanding, hits: list[Hit], today: dt.date, extra: list[Hit]
    ) -> Composed:
        """'What support exists for X': the best resources with their facts."""
        intro = "He trobat aquests recursos del Catàleg de serveis que hi poden encaixar:"
        if len(hits) == 1:
            intro = "He trobat aquest recurs del Catàleg de serveis que hi pot encaixar:"
        notes = []
        if u.population:
            notes.append(f"per a un municipi de {u.population:,} habitants".replace(",", "."))
        if u.recipient:
            notes.append(f"que pot demanar un ens del tipus «{u.recipient.lower()}»")
        if notes:
            intro = intro[:-1] + f" ({'; '.join(notes)}):"
        blocks = [intro]
        for n, hit in enumerate(hits, start=1):
            lead = _first_sentence(str(hit.metadata.get("descripcio") or hit.snippet))
            blocks.append(resource_card(hit, n, today, lead))
        cited = list(hits)
        for hit in extra:
            n = len(cited) + 1
            label = hit.article if hit.kind == "faq" else f"{hit.article or hit.title}"
            blocks.append(
                f"Sobre la tramitació, vegeu també «{label}» ({hit.metadata.get('doc_title', hit.source)}) [{n}]."
            )
            cited.append(hit)
        if len(hits) == 1:
            blocks.append(
                "Les sol·licituds es presenten pel Portal de tràmits dels ens locals (PMT); "
                "confirmeu les condicions a la fitxa del recurs."
            )
        else:
            blocks.append(
                "Les sol·licituds es presenten pel Portal de tràmits dels ens locals (PMT); "
                "confirmeu les condicions a la fitxa de cada recurs."
            )
        return Composed("\n\n".join(blocks), cited)

    def regulation(self, question: str, hits: list[Hit], context: str = "") -> Composed:
        """Quote the passage of each article or FAQ entry that answers the question."""
        blocks = []
        for n, hit in enumerate(hits, start=1):
            text = str(hit.metadata.get("text") or hit.snippet)
            if hit.kind == "faq" and len(text) <= 700:
                passage = text  # a FAQ answer is written to be read whole
            else:
                passage = self.best_passage(question, text, context=context) or hit.snippet
            doc_title = hit.metadata.get("doc_title") or hit.source
            if hit.kind == "faq":
                head = f"Segons les preguntes freqüents («{hit.article}») [{n}]:"
            elif hit.article:
                article = "la" if hit.article.lower().startswith("disposició") else "l'"
                space = " " if article == "la" else ""
                head = f"Segons {article}{space}**{hit.title}** del {doc_title} [{n}]:"
            elif hit.title and hit.title != doc_title:
                head = f"Segons «{hit.title}» ({doc_title}) [{n}]:"
            else:
                head = f"Segons el document «{doc_title}» [{n}]:"
            if n == 1:
                blocks.append(f"{head}\n«{passage}»")
            else:
                blocks.append(f"També hi fa referència: {head[0].lower()}{head[1:]}\n«{passage}»")
        if hits:
            link = next((h.url for h in hits if h.url), None)
            if link:
                blocks.append(f"[Consulteu el text complet]({link})")
        return Composed("\n\n".join(blocks), list(hits))

    def facet(self, question: str, facet: str, hit: Hit, today: dt.date) -> Composed | None:
        """A follow-up about one field of the resource in focus ("i l'import?")."""
        m = hit.metadata
        name = f"**{hit.title}** (codi {hit.codi})"
        value: str | None = None
        if facet == "import":
            if m.get("import"):
                value = f"L'import de {name} és: {_clean(m['import'])}"
                if m.get("aportacio_local"):
                    value += f". Aportació local: {_clean(m['aportacio_local'])}"
            elif m.get("tipologia") != "econòmic":
                value = f"{name} és un recurs {m.get('tipologia')} ({m.get('classe')}): no té import econòmic, la Diputació presta directament el suport"
        elif facet == "aportacio":
            if m.get("aportacio_local"):
                value = f"Per a {name} l'aportació local és: {_clean(m['aportacio_local'])}"
            else:
                value = f"La fitxa de {name} no demana cap aportació local"
        elif facet == "termini":
            value = f"Termini de sol·licitud de {name}: {window_status(hit, today)}"
        elif facet == "contacte":
            contact = ", ".join(x for x in (m.get("telefon"), m.get("email")) if x)
            value = f"Contacte de {name}: {_clean(m.get('unitat_prestadora'))} — {contact}"
        elif facet == "requisits" and m.get("requisits"):
            value = f"Requisits de {name}:\n" + "\n".join(f"- {_clean(r)}" for r in m["requisits"])
        elif facet == "documentacio" and m.get("documentacio"):
            value = f"Documentació per a {name}:\n" + "\n".join(
                f"- {_clean(r)}" for r in m["documentacio"]
            )
        elif facet == "destinataris":
            value = (
                f"{name} el poden demanar: {', '.join(m.get('destinataris') or [])} "
                f"({_clean(m.get('tram_poblacio')).lower()})"
            )
        elif facet == "durada":
            text = str(m.get("descripcio") or "")
            passage = self.best_passage(question, text)
            if passage and _DURATION.search(passage):
                value = f"Segons la fitxa de {name}: «{passage}»"
        if value is None:
            return None
        text = f"{value} [1]."
        if text.endswith(".. [1]."):
            text = text[:-6] + " [1]."
        if hit.url:
            text += f"\n\n[Fitxa del recurs {hit.codi}]({hit.url})"
        return Composed(text, [hit])

    def refusal(self, reason: str | None = None) -> Composed:
        lead = reason or (
            "No he trobat informació sobre això al Catàleg de serveis, al Protocol general "
            "ni als règims reguladors del Pla XGL, i prefereixo no donar-vos una resposta inventada."
        )
        return Composed(
            f"{lead}\n\nPodeu adreçar la consulta a {self.contact}, o reformular la pregunta "
            "amb altres paraules (per exemple, el tipus de suport o el tema).",
            [],
        )
