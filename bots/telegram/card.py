"""A resource card ("Més detalls") and compact list lines, in Telegram HTML.

Every fact comes from the shared ResourceCard (assistant.cards), window state included,
so the bot says what the widget and the staff page say on the same reference date.
"""

from __future__ import annotations

from assistant.cards import ContactLink, ResourceCard
from bots.telegram.render import escape, link, telegram_phone


def contact_text(contact: ContactLink) -> str:
    """A phone in international form (Telegram makes it tappable) or an e-mail address."""
    if contact.kind == "phone" and contact.href:
        return telegram_phone(contact.label, contact.href)
    return contact.label


def window_line(card: ResourceCard) -> str:
    """ "obert fins al 13 de maig de 2022 (Del 15 de març de 2022 al 13 de maig de 2022)"."""
    window = card.window
    if card.termini and window.state in ("open", "upcoming", "closed"):
        return f"{window.text} ({card.termini})"
    return card.termini or window.text


def render_card(card: ResourceCard) -> str:
    """Telegram HTML with the fields an official needs to decide and apply."""
    typology = " / ".join(value for value in (card.tipologia, card.classe) if value)
    contacts = " · ".join(contact_text(c) for c in card.contacts)
    rows: list[tuple[str, str | None]] = [
        ("Codi", card.codi),
        ("Tipologia", typology or None),
        ("Àrea", card.area),
        ("Unitat", card.unitat),
        ("Destinataris", ", ".join(card.destinataris) or None),
        ("Tram de població", card.tram_poblacio),
        ("Termini de sol·licitud", window_line(card)),
        ("Import", card.import_),
        ("Aportació local", card.aportacio_local),
        ("Contacte", contacts or None),
    ]
    lines = [f"<b>{escape(card.title)}</b>", ""]
    lines += [f"<b>{label}:</b> {escape(value)}" for label, value in rows if value]
    if card.url:
        lines.append(f"<b>Fitxa:</b> {link(card.url, escape(card.url))}")
    return "\n".join(lines)


def list_line(number: int, card: ResourceCard) -> str:
    """One line of /obert: "1. <a>Title</a> — codi 22133 · obert fins al 13 de maig de 2022"."""
    title = link(card.url, escape(card.title)) if card.url else escape(card.title)
    return f"{number}. {title} — {escape(f'codi {card.codi} · {card.window.text}')}"
