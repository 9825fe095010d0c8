"""Inline keyboards and their callback data (Telegram allows at most 64 bytes of data).

Callback data formats, kept short on purpose:
  q:<n>           ask example question n (from /start)
  d:<codi>        show the card of catalogue resource <codi> in place of the answer
  p:<codi>        ask the answer's question again about resource <codi> alone (a follow-up
                  answered for each listed resource offers one button per resource)
  b               back from a card to the answer it replaced
  f+[:<ids>] / f-[:<ids>]   thumbs up / down; <ids> packs the conversation and message
                  ids when they are UUIDs, so feedback still works after a restart
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from assistant.models import Choice, Hit
from bots.telegram import texts

CALLBACK_DATA_LIMIT = 64  # bytes
BUTTON_TEXT_LIMIT = 64  # characters
DETAILS_PER_ROW = 2


def fit_button_text(text: str, limit: int = BUTTON_TEXT_LIMIT) -> str:
    """Shorten a label to Telegram's button size, with an ellipsis when cut."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _fits(data: str) -> bool:
    return len(data.encode("utf-8")) <= CALLBACK_DATA_LIMIT


# Packing ids ---------------------------------------------------------------------------
# A style letter remembers how the service spelled its UUIDs: h = hex, u = with hyphens.


def _as_uuid(value: str) -> tuple[uuid.UUID, str] | None:
    try:
        parsed = uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None
    if value == parsed.hex:
        return parsed, "h"
    if value == str(parsed):
        return parsed, "u"
    return None


def pack_ids(conversation_id: str, message_id: str | None) -> str | None:
    """Conversation and message ids in 23 or 44 characters, or None when not UUIDs."""
    conversation = _as_uuid(conversation_id)
    if conversation is None:
        return None
    raw = conversation[0].bytes
    if message_id is not None:
        message = _as_uuid(message_id)
        if message is None or message[1] != conversation[1]:
            return None
        raw += message[0].bytes
    return conversation[1] + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def unpack_ids(packed: str) -> tuple[str, str | None] | None:
    """The inverse of pack_ids; None for anything malformed."""
    if len(packed) not in (23, 44) or packed[0] not in "hu":
        return None
    try:
        raw = base64.urlsafe_b64decode(packed[1:] + "=" * (-len(packed[1:]) % 4))
    except (ValueError, TypeError):
        return None
    if len(raw) not in (16, 32):
        return None

    def spell(chunk: bytes) -> str:
        value = uuid.UUID(bytes=chunk)
        return value.hex if packed[0] == "h" else str(value)

    return spell(raw[:16]), spell(raw[16:]) if len(raw) == 32 else None


# Callback data -------------------------------------------------------------------------


@dataclass(frozen=True)
class Callback:
    """A decoded button press."""

    action: str  # "question" | "details" | "pick" | "back" | "feedback"
    value: str = ""
    rating: int = 0
    conversation_id: str | None = None
    message_id: str | None = None


def question_data(index: int) -> str:
    return f"q:{index}"


def details_data(codi: str) -> str | None:
    data = f"d:{codi}"
    return data if _fits(data) else None


def pick_data(codi: str) -> str | None:
    data = f"p:{codi}"
    return data if _fits(data) else None


BACK_DATA = "b"


def feedback_data(rating: int, conversation_id: str, message_id: str | None) -> str:
    data = "f+" if rating > 0 else "f-"
    packed = pack_ids(conversation_id, message_id)
    return f"{data}:{packed}" if packed else data


def parse_callback(data: str | None) -> Callback | None:
    """Decode callback data; None for anything this bot did not produce."""
    if not data:
        return None
    if data == BACK_DATA:
        return Callback("back")
    if data.startswith("q:") and data[2:].isdigit():
        return Callback("question", value=data[2:])
    if data.startswith("d:") and len(data) > 2:
        return Callback("details", value=data[2:])
    if data.startswith("p:") and data[2:].isdigit():
        return Callback("pick", value=data[2:])
    if data[:2] in ("f+", "f-"):
        rating = 1 if data[1] == "+" else -1
        ids = unpack_ids(data[3:]) if data[2:3] == ":" else None
        if ids is None:
            return Callback("feedback", rating=rating)
        return Callback("feedback", rating=rating, conversation_id=ids[0], message_id=ids[1])
    return None


# Keyboards -----------------------------------------------------------------------------


def examples_keyboard(questions: Sequence[str] = texts.EXAMPLE_QUESTIONS) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(fit_button_text(q), callback_data=question_data(i))]
            for i, q in enumerate(questions)
        ]
    )


def answer_keyboard(
    sources: Sequence[Hit],
    conversation_id: str,
    message_id: str | None,
    choices: Sequence[Choice] = (),
) -> InlineKeyboardMarkup:
    """One button per resource the answer could be about (a follow-up answered for each
    of them), one URL button per source, "Més detalls" per catalogue resource, 👍 / 👎."""
    rows: list[list[InlineKeyboardButton]] = []
    for choice in choices:
        data = pick_data(choice.codi)
        if data is not None:
            label = fit_button_text(f"🔎 {texts.ONLY_ABOUT} {choice.codi} · {choice.title}")
            rows.append([InlineKeyboardButton(label, callback_data=data)])
    seen_urls: set[str] = set()
    for number, hit in enumerate(sources, start=1):
        if hit.url and hit.url not in seen_urls:
            seen_urls.add(hit.url)
            label = fit_button_text(f"[{number}] {hit.title}")
            rows.append([InlineKeyboardButton(label, url=hit.url)])
    rows += _details_rows(sources)
    rows.append(
        [
            InlineKeyboardButton(
                texts.THUMBS_UP, callback_data=feedback_data(1, conversation_id, message_id)
            ),
            InlineKeyboardButton(
                texts.THUMBS_DOWN, callback_data=feedback_data(-1, conversation_id, message_id)
            ),
        ]
    )
    return InlineKeyboardMarkup(rows)


def details_button(hit: Hit) -> InlineKeyboardButton | None:
    """ "Més detalls" for a catalogue resource (None when there is no usable code)."""
    data = details_data(hit.codi) if hit.kind == "recurs" and hit.codi else None
    if data is None:
        return None
    return InlineKeyboardButton(
        fit_button_text(f"ℹ️ {texts.MORE_DETAILS} · {hit.codi}"), callback_data=data
    )


def _details_rows(hits: Sequence[Hit]) -> list[list[InlineKeyboardButton]]:
    codes = [hit.codi for hit in hits if hit.kind == "recurs" and hit.codi]
    return _code_rows(codes)


def _code_rows(codes: Sequence[str]) -> list[list[InlineKeyboardButton]]:
    buttons: list[InlineKeyboardButton] = []
    for codi in dict.fromkeys(codes):
        data = details_data(codi)
        if data is not None:
            label = fit_button_text(f"ℹ️ {texts.MORE_DETAILS} · {codi}")
            buttons.append(InlineKeyboardButton(label, callback_data=data))
    return [buttons[i : i + DETAILS_PER_ROW] for i in range(0, len(buttons), DETAILS_PER_ROW)]


def details_keyboard(hits: Sequence[Hit]) -> InlineKeyboardMarkup | None:
    """ "Més detalls" buttons under a /cerca list."""
    rows = _details_rows(hits)
    return InlineKeyboardMarkup(rows) if rows else None


def codes_keyboard(codes: Sequence[str]) -> InlineKeyboardMarkup | None:
    """ "Més detalls" buttons under the /obert list."""
    rows = _code_rows(codes)
    return InlineKeyboardMarkup(rows) if rows else None


def card_keyboard(url: str | None, *, back: bool = True) -> InlineKeyboardMarkup:
    """Under a resource card: open the catalogue page, go back to the answer."""
    rows = []
    if url:
        rows.append([InlineKeyboardButton(f"🔗 {texts.OPEN_CARD}", url=url)])
    if back:
        rows.append([InlineKeyboardButton(f"⬅️ {texts.BACK_TO_ANSWER}", callback_data=BACK_DATA)])
    return InlineKeyboardMarkup(rows)
