"""Callback data stays within Telegram's 64 bytes and decodes back; button texts fit."""

from __future__ import annotations

import uuid

import pytest

from assistant.models import Hit
from bots.telegram import keyboards
from bots.telegram.keyboards import CALLBACK_DATA_LIMIT, parse_callback


def hit(n: int, kind: str = "recurs", codi: str | None = "22231", title: str = "Títol") -> Hit:
    return Hit(
        id=f"c{n}",
        doc_id=f"d{n}",
        kind=kind,  # type: ignore[arg-type]
        title=title,
        snippet="",
        score=1.0,
        url=f"https://cataleg.exemple.cat/recurs/{n}",
        source="cataleg-2022.jsonl",
        codi=codi,
    )


def all_buttons(markup):
    return [button for row in markup.inline_keyboard for button in row]


@pytest.mark.parametrize("style", [lambda u: u.hex, str])
@pytest.mark.parametrize("with_message", [True, False])
def test_feedback_ids_round_trip_within_64_bytes(style, with_message):
    conversation = style(uuid.uuid4())
    message = style(uuid.uuid4()) if with_message else None
    for rating in (1, -1):
        data = keyboards.feedback_data(rating, conversation, message)
        assert len(data.encode()) <= CALLBACK_DATA_LIMIT
        decoded = parse_callback(data)
        assert decoded is not None
        assert (decoded.action, decoded.rating) == ("feedback", rating)
        assert (decoded.conversation_id, decoded.message_id) == (conversation, message)


def test_feedback_with_other_ids_falls_back_to_memory():
    data = keyboards.feedback_data(1, "conversa-" + "x" * 80, "m1")
    assert data == "f+"
    decoded = parse_callback(data)
    assert decoded is not None and decoded.conversation_id is None


def test_answer_keyboard_sizes():
    long_title = "Ajuts per a la supressió de barreres arquitectòniques a la via pública " * 3
    sources = [hit(i, title=long_title) for i in range(5)] + [hit(9, "normativa", None)]
    markup = keyboards.answer_keyboard(sources, uuid.uuid4().hex, uuid.uuid4().hex)
    buttons = all_buttons(markup)
    assert all(len(b.text) <= keyboards.BUTTON_TEXT_LIMIT for b in buttons)
    assert all(
        len(b.callback_data.encode()) <= CALLBACK_DATA_LIMIT for b in buttons if b.callback_data
    )
    assert sum(1 for b in buttons if b.url) == 6
    details = [b.callback_data for b in buttons if str(b.callback_data).startswith("d:")]
    assert details == ["d:22231"]  # one per distinct resource, none for the regulation
    assert [b.text for b in markup.inline_keyboard[-1]] == ["👍", "👎"]


def test_details_skipped_when_code_too_long():
    assert keyboards.details_data("9" * 70) is None
    assert keyboards.details_button(hit(1, codi="9" * 70)) is None


@pytest.mark.parametrize("data", [None, "", "zz", "q:x", "d:", "f*", "f+:garbage"])
def test_unknown_or_malformed_data(data):
    decoded = parse_callback(data)
    assert decoded is None or (decoded.action == "feedback" and decoded.conversation_id is None)


def test_examples_keyboard_asks_known_questions():
    markup = keyboards.examples_keyboard()
    decoded = [parse_callback(b.callback_data) for b in all_buttons(markup)]
    assert [d.value for d in decoded if d] == ["0", "1", "2"]
