"""The full card of one catalogue resource ("Més detalls"), from a Hit's metadata."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from assistant.models import Hit
from bots.telegram.render import escape, link


def _first(metadata: Mapping[str, Any], *keys: str) -> Any:
    # Ingest keeps the catalogue's field names; accept the short aliases as well.
    for key in keys:
        value = metadata.get(key)
        if value not in (None, "", [], {}):
            return value
    return None


def _plain(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return str(value)


def _parse_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _catalan_date(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def application_window(metadata: Mapping[str, Any], today: dt.date) -> str:
    """The application window in words, saying whether it is open on `today`."""
    all_year = _first(metadata, "sollicitud_tot_l_any", "tot_l_any")
    window = _first(metadata, "termini_sollicitud", "termini")
    start = end = None
    if isinstance(window, Mapping):
        start, end = _parse_date(window.get("inici")), _parse_date(window.get("fi"))
    else:
        start = _parse_date(_first(metadata, "termini_inici", "inici"))
        end = _parse_date(_first(metadata, "termini_fi", "fi"))
    state = None
    if start and end:
        state = "obert avui" if start <= today <= end else "tancat avui"
    if all_year is True:
        # Ingest stores the catalogue year as the window of all-year resources.
        return f"es pot sol·licitar tot l'any ({state or 'obert avui'})"
    if start and end:
        return f"del {_catalan_date(start)} al {_catalan_date(end)} ({state})"
    if _first(metadata, "classe") == "Fons de prestació":
        return "no cal sol·licitud (fons de prestació)"
    if isinstance(window, str):
        return window
    return "no consta"


def _contact(metadata: Mapping[str, Any]) -> str | None:
    contact = _first(metadata, "contacte")
    if isinstance(contact, Mapping):
        parts = [str(contact[key]) for key in ("telefon", "email") if contact.get(key)]
        return " · ".join(parts) or None
    phone = _first(metadata, "telefon", "contacte_telefon")
    email = _first(metadata, "email", "contacte_email")
    parts = [str(part) for part in (contact, phone, email) if part]
    return " · ".join(parts) or None


def render_card(hit: Hit, today: dt.date | None = None) -> str:
    """Telegram HTML with the fields an official needs to decide and apply."""
    today = today or dt.date.today()
    meta = hit.metadata
    name = _first(meta, "nom", "title") or hit.title
    codi = hit.codi or _first(meta, "codi")
    typology = " / ".join(
        _plain(value) for value in (_first(meta, "tipologia"), _first(meta, "classe")) if value
    )
    rows: list[tuple[str, Any]] = [
        ("Codi", codi),
        ("Tipologia", typology or None),
        ("Àrea", _first(meta, "area")),
        ("Unitat", _first(meta, "unitat_prestadora", "unitat")),
        ("Destinataris", _first(meta, "destinataris")),
        ("Tram de població", _first(meta, "tram_poblacio", "tram")),
        ("Termini de sol·licitud", application_window(meta, today)),
        ("Import", _first(meta, "import")),
        ("Aportació local", _first(meta, "aportacio_local")),
        ("Contacte", _contact(meta)),
    ]
    lines = [f"<b>{escape(_plain(name))}</b>", ""]
    lines += [f"<b>{label}:</b> {escape(_plain(value))}" for label, value in rows if value]
    url = hit.url or _first(meta, "url")
    if url:
        lines.append(f"<b>Fitxa:</b> {link(str(url), escape(str(url)))}")
    return "\n".join(lines)


def deadline_text(metadata: Mapping[str, Any]) -> str | None:
    """A few words for lists: "fins al 03/06/2022", "tot l'any" or None."""
    window = _first(metadata, "termini_sollicitud", "termini")
    end = None
    if isinstance(window, Mapping):
        end = _parse_date(window.get("fi"))
    else:
        end = _parse_date(_first(metadata, "termini_fi", "fi"))
    if end:
        return f"fins al {_catalan_date(end)}"
    if _first(metadata, "sollicitud_tot_l_any", "tot_l_any") is True:
        return "tot l'any"
    return None
