"""Read what a question says beyond its topic: who asks (population, type of body), what
kind of support they want, whether they mean "open now", which fact they ask about, and
whether it is a follow-up of the previous turn."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from index_config.analyzer import fold

_NUMBER = r"(\d{1,3}(?:[.\s]\d{3})+|\d+)"
_POPULATION = re.compile(
    rf"{_NUMBER}\s*(?:habitants|hab\b|habitantes|veïns|vecinos|persones empadronades)", re.I
)
_RECIPIENTS = {
    "Consells comarcals": ("consell comarcal", "consells comarcals", "consejo comarcal"),
    "Entitats municipals descentralitzades": ("entitat municipal descentralitzada", "emd"),
    "Mancomunitats": ("mancomunitat", "mancomunidad"),
    "Consorcis": ("consorci", "consorcio"),
}
_OPEN_NOW = re.compile(
    r"\b(ara|ara mateix|actualment|obert(?:s|a|es)? ara|en aquest moment|ahora|abiertos?)\b"
)
_ECONOMIC = re.compile(r"\b(subvenci|ajut|ajud|diners|finan|pagar|subvencion|dinero)")
_MATERIAL = re.compile(
    r"\b(ens (?:vinguin|vingueu) a fer|prest(?:ar|ec)|deixar|cessi[oó]|material)"
)
# Facets: which field of a resource a follow-up asks about.
_FACETS: list[tuple[str, re.Pattern[str]]] = [
    ("aportacio", re.compile(r"percentatge|aportaci|cofinan|hi hem de posar|posar nosaltres")),
    ("durada", re.compile(r"quant de temps|quan(?:t)? triga|durada|quants mesos|porta fer")),
    (
        "import",
        re.compile(
            r"\bquant\b|quants diners|import|quantia|com a maxim.*(?:diner|euro|€)|\bdonarien\b|fins a quant"
        ),
    ),
    ("termini", re.compile(r"termini|fins quan|\bquan\b|data|quin dia|plazo|obert")),
    ("contacte", re.compile(r"contact|telefon|correu|e-?mail|amb qui|a qui (?:truc|pregunt)")),
    ("requisits", re.compile(r"requisit|condicions|que cal complir")),
    ("documentacio", re.compile(r"documentaci|documents|que cal presentar|que hem de presentar")),
    (
        "destinataris",
        re.compile(
            r"qui (?:ho )?pot (?:demanar|sol)|destinatari|per a (?:un|una|els) (?:consell|emd|mancomunitat|consorci)"
        ),
    ),
]
_ANAPHORA = re.compile(
    r"(^|\s)(i|y)\s|-(lo|la|los|les|ho|ne|hi)\b|\b(aquest|aquesta|aquests|això|aixo|el mateix|la mateixa|ho|en|hi)\b"
)
# Chit-chat that no source of the plan can answer (weather, jokes, greetings alone).
_SMALL_TALK = re.compile(
    r"quin temps fara|temps que fara|previsio del temps|pronostic|plourà|plourá|ploura|"
    r"\bque tal\b|com estas|explica(?:'m)? un acudit|qui ets\b|com et dius|"
    r"^(hola|bon dia|bona tarda|bones|gracies|adeu)[!. ]*$"
)
# "el fons de prestació per al transport escolar": a named kind of support and its purpose.
# Asking for it presupposes that it exists, which the answer must not confirm blindly.
_NAMED_SUPPORT = re.compile(
    r"\b(?:fons de prestacio|fons|ajuts?|subvencio|subvencions|ajudes?)\s+"
    r"per (?:a |al |als |a la |a les |a l')([a-z0-9' ]{3,40}?)(?=[?.,;!]|$| i | que | de la | del )"
)
# "hi ha" (there is) is not a pronoun pointing back at the previous turn.
_EXISTENTIAL = re.compile(r"\bhi (ha|han|havia|haura|hauria|hagi|hagues)\b")
_YEAR = re.compile(r"\b(20\d\d)\b")


def _to_int(raw: str) -> int:
    return int(re.sub(r"[.\s]", "", raw))


@dataclass
class Understanding:
    """What the assistant read from one question."""

    population: int | None = None
    recipient: str | None = None
    open_on: dt.date | None = None
    prefers_tipologia: str | None = None
    facets: list[str] = field(default_factory=list)
    years: list[int] = field(default_factory=list)
    follow_up: bool = False
    small_talk: bool = False
    named_purpose: str | None = None


def understand(question: str, has_history: bool, today: dt.date | None = None) -> Understanding:
    text = fold(question)
    u = Understanding()
    match = _POPULATION.search(question)
    if match:
        u.population = _to_int(match.group(1))
    for recipient, words in _RECIPIENTS.items():
        if any(re.search(rf"\b{re.escape(w)}\b", text) for w in words):
            u.recipient = recipient
    if _OPEN_NOW.search(text) and re.search(r"demanar|sollicitar|obert|pedir|solicitar", text):
        u.open_on = today or dt.date.today()
    if _ECONOMIC.search(text):
        u.prefers_tipologia = "econòmic"
    elif _MATERIAL.search(text):
        u.prefers_tipologia = "material"
    u.facets = [name for name, rx in _FACETS if rx.search(text)]
    u.years = [int(y) for y in _YEAR.findall(text)]
    u.small_talk = bool(_SMALL_TALK.search(text.strip()))
    named = _NAMED_SUPPORT.search(text)
    if named:
        # Shown back to the user: keep their words, without a leading article.
        purpose = re.sub(r"^(la |el |les |els |l')", "", named.group(1).strip())
        u.named_purpose = purpose or None
    all_words = re.findall(r"\w+", text)
    u.follow_up = has_history and (
        bool(re.match(r"^\s*(i|y)\b", text))
        or len(all_words) <= 6
        or (bool(_ANAPHORA.search(_EXISTENTIAL.sub(" ", text))) and len(all_words) <= 14)
    )
    return u


def tram_allows(tram: str, population: int) -> bool:
    """Whether a population band such as "Municipis de menys de 5.000 habitants" admits a
    municipality of `population` inhabitants (unknown wording: assume it does)."""
    folded = fold(tram)
    numbers = [_to_int(n) for n in re.findall(_NUMBER, folded)]
    if "menys de" in folded and numbers:
        return population < numbers[0]
    if "fins a" in folded and numbers:
        return population <= numbers[0]
    if "mes de" in folded and numbers:
        return population > numbers[0]
    if len(numbers) >= 2 and " a " in folded:
        return numbers[0] <= population <= numbers[1]
    return True
