"""ResourceCard: one catalogue resource as every front end shows it.

The application window's state and its Catalan wording are computed here, once, against
the reference date (AssistantService.today(): CONCERTA_TODAY or today's date). The
composer, the API (/api/cards), the staff page, the widget and the Telegram bot all read
these cards, so a window that has not opened yet says "s'obre el ..." everywhere, never
"tancat". Contacts become tel: and mailto: links only when they look like a phone number
or an e-mail address; anything else stays plain text.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, Field

from assistant.models import Hit

WindowState = Literal["open", "upcoming", "closed", "all_year", "no_application", "unknown"]
# The states in which an application can be made on the reference date ("Obert ara").
OPEN_STATES: frozenset[str] = frozenset({"open", "all_year"})
NO_APPLICATION_CLASS = "Fons de prestació"
FACET_FIELDS = ("area", "tipologia", "classe", "destinataris")

_MONTHS = (
    "de gener", "de febrer", "de març", "d'abril", "de maig", "de juny", "de juliol",
    "d'agost", "de setembre", "d'octubre", "de novembre", "de desembre",
)  # fmt: skip
_PHONE = re.compile(r"^\+?[\d][\d .]{7,16}\d$")
_EMAIL = re.compile(r"^[\w.+-]+@[\w-]+(?:\.[\w-]+)+$")


# Catalan dates --------------------------------------------------------------------------


def catalan_date(day: dt.date) -> str:
    """ "1 de març de 2022", "13 d'abril de 2022"."""
    return f"{day.day} {_MONTHS[day.month - 1]} de {day.year}"


def _elides(day: dt.date) -> bool:
    # The article elides before "u" and "onze": l'1, l'11 (but el 21, el 31).
    return day.day in (1, 11)


def with_article(day: dt.date) -> str:
    """ "el 15 de març de 2022", "l'1 de març de 2022"."""
    return ("l'" if _elides(day) else "el ") + catalan_date(day)


def fins_a(day: dt.date) -> str:
    """ "fins al 13 de maig de 2022", "fins a l'1 de juny de 2022"."""
    return ("fins a l'" if _elides(day) else "fins al ") + catalan_date(day)


def des_de(day: dt.date) -> str:
    """ "des del 31 de març de 2022", "des de l'11 de març de 2022"."""
    return ("des de l'" if _elides(day) else "des del ") + catalan_date(day)


# The model ------------------------------------------------------------------------------


class ContactLink(BaseModel):
    """A phone number or an e-mail address, as written in the catalogue and as a link."""

    kind: Literal["phone", "email"]
    label: str
    href: str | None = Field(description="tel: o mailto:; null quan no té forma d'enllaç.")


class ApplicationWindow(BaseModel):
    """When a resource can be applied for, and where the reference date falls."""

    state: WindowState
    opens: dt.date | None = None
    closes: dt.date | None = None
    # For people: "obert fins al 13 de maig de 2022", "s'obre el 15 de març de 2022",
    # "tancat des del 31 de març de 2022", "tot l'any", "no cal sol·licitud".
    text: str
    open_now: bool


class ResourceCard(BaseModel):
    """The facts an official needs about one catalogue resource, window state included."""

    codi: str
    title: str
    url: str | None = None
    year: int | None = None
    tipologia: str | None = None
    classe: str | None = None
    area: str | None = None
    unitat: str | None = None
    destinataris: list[str] = Field(default_factory=list)
    tram_poblacio: str | None = None
    # The catalogue's own words for the window ("Del 15 de març de 2022 al 13 de maig de 2022").
    termini: str | None = None
    window: ApplicationWindow
    # "import" on the wire, as in the catalogue's metadata (a Python keyword here).
    import_: str | None = Field(
        default=None,
        validation_alias=AliasChoices("import", "import_"),
        serialization_alias="import",
    )
    aportacio_local: str | None = None
    contacts: list[ContactLink] = Field(default_factory=list)
    # Where the card comes from, for people (never a file name): "Catàleg de serveis 2022".
    source_title: str
    reference_date: dt.date


class ReferenceDate(BaseModel):
    """The date that "open now" and the answers use."""

    date: dt.date
    text: str = Field(description="La data en català: «1 de març de 2022».")
    fixed: bool = Field(description="Cert quan la fixa CONCERTA_TODAY (demostracions, proves).")


class CardList(BaseModel):
    """Cards and the reference date they were computed for (GET /api/cards)."""

    reference_date: ReferenceDate
    cards: list[ResourceCard]


class FacetValue(BaseModel):
    value: str
    count: int


class Facets(BaseModel):
    """The values of the catalogue's filterable fields in the served index, with counts."""

    area: list[FacetValue] = Field(default_factory=list)
    tipologia: list[FacetValue] = Field(default_factory=list)
    classe: list[FacetValue] = Field(default_factory=list)
    destinataris: list[FacetValue] = Field(default_factory=list)
    resources: int = 0


# Building cards -------------------------------------------------------------------------


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _dates(meta: Mapping[str, Any]) -> tuple[dt.date | None, dt.date | None]:
    # Ingest writes termini_inici/termini_fi (the catalogue year for all-year resources);
    # a raw catalogue record has termini_sollicitud {inici, fi}.
    opens, closes = _date(meta.get("termini_inici")), _date(meta.get("termini_fi"))
    raw = meta.get("termini_sollicitud")
    if (opens is None or closes is None) and isinstance(raw, Mapping):
        opens, closes = _date(raw.get("inici")), _date(raw.get("fi"))
    if (opens is None or closes is None) and meta.get("sollicitud_tot_l_any") is True:
        year = meta.get("any")
        if isinstance(year, int):
            opens, closes = dt.date(year, 1, 1), dt.date(year, 12, 31)
    return opens, closes


def window_for(meta: Mapping[str, Any], today: dt.date) -> ApplicationWindow:
    """The application window of a resource's metadata, as seen on `today`."""
    opens, closes = _dates(meta)
    if opens is None or closes is None:
        if meta.get("classe") == NO_APPLICATION_CLASS:
            return ApplicationWindow(
                state="no_application", text="no cal sol·licitud", open_now=False
            )
        if meta.get("sollicitud_tot_l_any") is True:
            return ApplicationWindow(state="all_year", text="tot l'any", open_now=True)
        return ApplicationWindow(state="unknown", text="no consta", open_now=False)
    if today < opens:
        return ApplicationWindow(
            state="upcoming", opens=opens, closes=closes,
            text=f"s'obre {with_article(opens)}", open_now=False,
        )  # fmt: skip
    if today > closes:
        return ApplicationWindow(
            state="closed", opens=opens, closes=closes, text=f"tancat {des_de(closes)}",
            open_now=False,
        )  # fmt: skip
    if meta.get("sollicitud_tot_l_any") is True:
        return ApplicationWindow(
            state="all_year", opens=opens, closes=closes, text="tot l'any", open_now=True
        )
    return ApplicationWindow(
        state="open", opens=opens, closes=closes, text=f"obert {fins_a(closes)}", open_now=True
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


def phone_href(label: str) -> str | None:
    """tel: link of a phone number as written ("93 400 11 20" -> "tel:+34934001120")."""
    if not _PHONE.match(label.strip()):
        return None
    digits = re.sub(r"\D", "", label)
    if label.strip().startswith("+"):
        return f"tel:+{digits}"
    if len(digits) == 9:  # a Spanish number without its country code
        return f"tel:+34{digits}"
    return None


def email_href(label: str) -> str | None:
    return f"mailto:{label.strip()}" if _EMAIL.match(label.strip()) else None


def contacts_for(meta: Mapping[str, Any]) -> list[ContactLink]:
    raw = meta.get("contacte")
    nested = raw if isinstance(raw, Mapping) else {}
    phone = _text(meta.get("telefon") or nested.get("telefon"))
    email = _text(meta.get("email") or nested.get("email"))
    links = []
    if phone:
        links.append(ContactLink(kind="phone", label=phone, href=phone_href(phone)))
    if email:
        links.append(ContactLink(kind="email", label=email, href=email_href(email)))
    return links


def source_title(hit: Hit) -> str:
    """The document a hit comes from, as people name it (never the file name)."""
    meta = hit.metadata
    if hit.kind == "recurs":
        year = meta.get("any")
        return f"Catàleg de serveis {year}" if year else "Catàleg de serveis"
    return str(meta.get("doc_title") or hit.title)


def card_for(hit: Hit, today: dt.date) -> ResourceCard:
    """The card of a catalogue resource hit (its metadata as ingest wrote it)."""
    meta = hit.metadata
    who = meta.get("destinataris") or []
    year = meta.get("any")
    return ResourceCard(
        codi=hit.codi or str(meta.get("codi") or ""),
        title=_text(meta.get("nom")) or hit.title,
        url=hit.url or _text(meta.get("url")),
        year=year if isinstance(year, int) else None,
        tipologia=_text(meta.get("tipologia")),
        classe=_text(meta.get("classe")),
        area=_text(meta.get("area")),
        unitat=_text(meta.get("unitat_prestadora") or meta.get("unitat")),
        destinataris=[str(w) for w in who] if isinstance(who, list | tuple) else [str(who)],
        tram_poblacio=_text(meta.get("tram_poblacio")),
        termini=_text(meta.get("termini")) if isinstance(meta.get("termini"), str) else None,
        window=window_for(meta, today),
        import_=_text(meta.get("import")),
        aportacio_local=_text(meta.get("aportacio_local")),
        contacts=contacts_for(meta),
        source_title=source_title(hit),
        reference_date=today,
    )


def reference_date(today: dt.date, fixed: bool) -> ReferenceDate:
    return ReferenceDate(date=today, text=catalan_date(today), fixed=fixed)


def facets_of(resources: Iterable[Hit]) -> Facets:
    """Counts of each value of the filterable fields (destinataris: one per listed body)."""
    counters: dict[str, Counter[str]] = {name: Counter() for name in FACET_FIELDS}
    total = 0
    for hit in resources:
        total += 1
        for name in FACET_FIELDS:
            value = hit.metadata.get(name)
            values = value if isinstance(value, list | tuple) else [value]
            counters[name].update(str(v) for v in values if v not in (None, ""))
    return facets_from_counts(counters, total)


def facets_from_counts(counts: Mapping[str, Mapping[str, int]], total: int) -> Facets:
    """Facets from per-field value counts (the engine's facet counts, or facets_of's)."""

    def ordered(name: str) -> list[FacetValue]:
        # Areas and classes alphabetically (people scan a list); counts beside each.
        items = sorted((counts.get(name) or {}).items(), key=lambda i: _collation_key(i[0]))
        return [FacetValue(value=v, count=c) for v, c in items]

    recipients = Counter(counts.get("destinataris") or {})
    return Facets(
        area=ordered("area"),
        tipologia=ordered("tipologia"),
        classe=ordered("classe"),
        destinataris=[FacetValue(value=v, count=c) for v, c in recipients.most_common()],
        resources=total,
    )


def _collation_key(text: str) -> str:
    # Close to Catalan dictionary order: accents and apostrophes do not count.
    folded = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in folded if not unicodedata.combining(c) and c not in "'’")


def matches(card: ResourceCard, filters: Mapping[str, str | None]) -> bool:
    """Whether a card has every given value (area, tipologia, classe, destinataris)."""
    for name, wanted in filters.items():
        if not wanted:
            continue
        if name == "destinataris":
            if wanted not in card.destinataris:
                return False
        elif getattr(card, name, None) != wanted:
            return False
    return True


def by_window(cards: Sequence[ResourceCard]) -> list[ResourceCard]:
    """Open first (closing soonest first), then upcoming (opening soonest), then the rest."""
    rank = {"open": 0, "all_year": 1, "upcoming": 2, "closed": 3, "no_application": 4, "unknown": 5}

    def key(card: ResourceCard) -> tuple[int, dt.date, str]:
        w = card.window
        day = w.closes if w.state == "open" else w.opens if w.state == "upcoming" else None
        return rank[w.state], day or dt.date.max, card.codi

    return sorted(cards, key=key)
