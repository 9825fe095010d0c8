"""The "Més detalls" card and the /obert lines: every field, escaped, from the shared card."""

from __future__ import annotations

import datetime as dt

from assistant.cards import card_for
from assistant.models import Hit
from bots.telegram.card import list_line, render_card, window_line
from bots.telegram.render import render_inline, telegram_phone
from tests.support.fake_bot_api import parse_telegram_html

# As ingest writes a record (ingest/converters/catalogue.py: record_metadata).
RECORD = {
    "codi": "22231",
    "any": 2022,
    "nom": "Ajuts per a la supressió de barreres <arquitectòniques> & rampes",
    "area": "Àrea de Territori i Urbanisme",
    "unitat_prestadora": "Oficina d'Espai Públic i Paisatge Urbà",
    "tipologia": "econòmic",
    "classe": "Ajut econòmic",
    "destinataris": ["Ajuntaments", "Entitats municipals descentralitzades"],
    "tram_poblacio": "Tots els municipis",
    "termini": "Del 25 d'abril de 2022 al 3 de juny de 2022",
    "termini_inici": "2022-04-25",
    "termini_fi": "2022-06-03",
    "sollicitud_tot_l_any": False,
    "import": "Fins a 25.000 € per ens",
    "telefon": "93 400 41 66",
    "email": "accessibilitat@exemple.cat",
}


def resource(metadata: dict) -> Hit:
    return Hit(
        id="c1",
        doc_id="recurs-22231",
        kind="recurs",
        title=metadata.get("nom", "Recurs"),
        snippet="",
        score=1.0,
        url="https://cataleg.exemple.cat/recurs/22231",
        source="cataleg-2022.jsonl",
        codi=metadata.get("codi"),
        metadata=metadata,
    )


def test_card_has_all_fields_and_valid_html() -> None:
    html = render_card(card_for(resource(RECORD), dt.date(2022, 5, 10)))
    text, tags = parse_telegram_html(html, {"b", "i", "a"})
    for expected in (
        "barreres <arquitectòniques> & rampes",
        "Codi: 22231",
        "econòmic / Ajut econòmic",
        "Àrea de Territori i Urbanisme",
        "Oficina d'Espai Públic i Paisatge Urbà",
        "Ajuntaments, Entitats municipals descentralitzades",
        "Tots els municipis",
        "obert fins al 3 de juny de 2022 (Del 25 d'abril de 2022 al 3 de juny de 2022)",
        "Fins a 25.000 € per ens",
        # Telegram links a phone in international form and an e-mail address by itself.
        "+34 93 400 41 66 · accessibilitat@exemple.cat",
        "https://cataleg.exemple.cat/recurs/22231",
    ):
        assert expected in text, expected
    assert [attrs["href"] for tag, attrs in tags if tag == "a"] == [
        "https://cataleg.exemple.cat/recurs/22231"
    ]
    assert "cataleg-2022.jsonl" not in text
    assert len(html) < 4096


def test_a_window_that_has_not_opened_is_not_called_closed() -> None:
    card = card_for(resource(RECORD), dt.date(2022, 3, 1))
    assert window_line(card).startswith("s'obre el 25 d'abril de 2022")
    after = card_for(resource(RECORD), dt.date(2022, 7, 1))
    assert window_line(after).startswith("tancat des del 3 de juny de 2022")


def test_list_line_is_compact() -> None:
    line = list_line(3, card_for(resource(RECORD), dt.date(2022, 5, 10)))
    text, _ = parse_telegram_html(line, {"a"})
    assert text == (
        "3. Ajuts per a la supressió de barreres <arquitectòniques> & rampes"
        " — codi 22231 · obert fins al 3 de juny de 2022"
    )


def test_contact_links_of_an_answer_become_telegram_text() -> None:
    line = "Contacte: [93 400 41 66](tel:+34934004166), [a@exemple.cat](mailto:a@exemple.cat)"
    assert render_inline(line) == "Contacte: +34 93 400 41 66, a@exemple.cat"
    assert telegram_phone("+34 93 400 41 66", "tel:+34934004166") == "+34 93 400 41 66"
    assert telegram_phone("centraleta", "tel:+34934004166") == "centraleta"
