"""The "Més detalls" card: every field an official needs, escaped, with today's state."""

from __future__ import annotations

import datetime as dt

from assistant.models import Hit
from bots.telegram.card import application_window, deadline_text, render_card
from tests.support.fake_bot_api import parse_telegram_html

RECORD = {
    "codi": "22231",
    "nom": "Ajuts per a la supressió de barreres <arquitectòniques> & rampes",
    "area": "Àrea de Territori i Urbanisme",
    "unitat_prestadora": "Oficina d'Espai Públic i Paisatge Urbà",
    "tipologia": "econòmic",
    "classe": "Ajut econòmic",
    "destinataris": ["Ajuntaments", "Entitats municipals descentralitzades"],
    "tram_poblacio": "Tots els municipis",
    "termini_sollicitud": {"inici": "2022-04-25", "fi": "2022-06-03"},
    "sollicitud_tot_l_any": False,
    "import": "Fins a 25.000 € per ens",
    "contacte": {"telefon": "93 400 41 66", "email": "accessibilitat@exemple.cat"},
    "url": "https://cataleg.exemple.cat/recurs/22231",
}


def resource(metadata: dict) -> Hit:
    return Hit(
        id="c1",
        doc_id="recurs-22231",
        kind="recurs",
        title=metadata.get("nom", "Recurs"),
        snippet="",
        score=1.0,
        url=metadata.get("url"),
        source="cataleg-2022.jsonl",
        codi=metadata.get("codi"),
        metadata=metadata,
    )


def test_card_has_all_fields_and_valid_html():
    html = render_card(resource(RECORD), today=dt.date(2022, 5, 10))
    text, _tags = parse_telegram_html(html, {"b", "i", "a"})
    for expected in (
        "barreres <arquitectòniques> & rampes",
        "Codi: 22231",
        "econòmic / Ajut econòmic",
        "Àrea de Territori i Urbanisme",
        "Oficina d'Espai Públic i Paisatge Urbà",
        "Ajuntaments, Entitats municipals descentralitzades",
        "Tots els municipis",
        "del 25/04/2022 al 03/06/2022 (obert avui)",
        "Fins a 25.000 € per ens",
        "93 400 41 66 · accessibilitat@exemple.cat",
        "https://cataleg.exemple.cat/recurs/22231",
    ):
        assert expected in text
    assert len(html) < 4096


def test_window_states():
    assert "tancat avui" in application_window(RECORD, dt.date(2023, 1, 1))
    all_year = {"termini_sollicitud": None, "sollicitud_tot_l_any": True}
    assert "tot l'any" in application_window(all_year, dt.date(2023, 1, 1))
    ingested = {
        "sollicitud_tot_l_any": True,
        "termini_inici": "2022-01-01",
        "termini_fi": "2022-12-31",
    }
    assert (
        application_window(ingested, dt.date(2022, 3, 1))
        == "es pot sol·licitar tot l'any (obert avui)"
    )
    assert "tancat avui" in application_window(ingested, dt.date(2023, 3, 1))
    fund = {"termini_sollicitud": None, "classe": "Fons de prestació"}
    assert "no cal sol·licitud" in application_window(fund, dt.date(2023, 1, 1))
    assert application_window({}, dt.date(2023, 1, 1)) == "no consta"


def test_flattened_metadata_is_understood():
    flat = {"termini_inici": "2022-04-25", "termini_fi": "2022-06-03", "telefon": "93 400 00 00"}
    assert "obert avui" in application_window(flat, dt.date(2022, 6, 3))
    assert deadline_text(flat) == "fins al 03/06/2022"
    assert "93 400 00 00" in render_card(resource(flat))
