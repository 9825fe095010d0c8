"""ResourceCard: the window state and its Catalan words, contacts as links, facets."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from assistant.cards import (
    by_window,
    card_for,
    catalan_date,
    contacts_for,
    facets_of,
    matches,
    phone_href,
    source_title,
    window_for,
)
from assistant.composer import window_status
from assistant.models import Hit, Kind

# As ingest writes it (ingest/converters/catalogue.py: record_metadata).
WIFI = {
    "codi": "22133",
    "any": 2022,
    "nom": "Ajuts per al desplegament de xarxes wifi públiques municipals",
    "area": "Àrea d'Hisenda, Recursos Interns i Noves Tecnologies",
    "unitat_prestadora": "Servei de Connectivitat",
    "tipologia": "econòmic",
    "classe": "Ajut econòmic",
    "destinataris": ["Ajuntaments", "Entitats municipals descentralitzades"],
    "tram_poblacio": "Tots els municipis",
    "termini": "Del 15 de març de 2022 al 13 de maig de 2022",
    "termini_inici": "2022-03-15",
    "termini_fi": "2022-05-13",
    "sollicitud_tot_l_any": False,
    "import": "Fins a 20.000 € per ens",
    "telefon": "93 400 17 70",
    "email": "connectivitat@exemple.cat",
}
ALL_YEAR = {
    "any": 2022,
    "classe": "Assessorament",
    "termini": "Es pot sol·licitar durant tot l'any 2022",
    "termini_inici": "2022-01-01",
    "termini_fi": "2022-12-31",
    "sollicitud_tot_l_any": True,
}
FUND = {"any": 2022, "classe": "Fons de prestació", "termini_inici": None, "termini_fi": None}


def hit(meta: dict[str, Any], kind: Kind = "recurs") -> Hit:
    return Hit(id="x#0", doc_id="x", kind=kind, title=str(meta.get("nom", "Títol")), snippet="",
               score=1.0, source="cataleg-2022.jsonl", codi=meta.get("codi"),
               url="https://cataleg.exemple.cat/recurs/22133", metadata=meta)  # fmt: skip


@pytest.mark.parametrize(
    ("meta", "day", "state", "text"),
    [
        (WIFI, dt.date(2022, 3, 1), "upcoming", "s'obre el 15 de març de 2022"),
        (WIFI, dt.date(2022, 3, 15), "open", "obert fins al 13 de maig de 2022"),
        (WIFI, dt.date(2022, 5, 13), "open", "obert fins al 13 de maig de 2022"),
        (WIFI, dt.date(2022, 5, 14), "closed", "tancat des del 13 de maig de 2022"),
        (ALL_YEAR, dt.date(2022, 3, 1), "all_year", "tot l'any"),
        (ALL_YEAR, dt.date(2023, 3, 1), "closed", "tancat des del 31 de desembre de 2022"),
        (ALL_YEAR, dt.date(2021, 12, 1), "upcoming", "s'obre l'1 de gener de 2022"),
        (FUND, dt.date(2022, 3, 1), "no_application", "no cal sol·licitud"),
        ({}, dt.date(2022, 3, 1), "unknown", "no consta"),
    ],
)
def test_window_state_and_words(meta: dict[str, Any], day: dt.date, state: str, text: str) -> None:
    window = window_for(meta, day)
    assert (window.state, window.text) == (state, text)
    assert window.open_now is (state in ("open", "all_year"))


def test_the_article_elides_before_one_and_eleven() -> None:
    first = {"termini_inici": "2022-02-01", "termini_fi": "2022-03-11"}
    assert window_for(first, dt.date(2022, 1, 1)).text == "s'obre l'1 de febrer de 2022"
    assert window_for(first, dt.date(2022, 2, 2)).text == "obert fins a l'11 de març de 2022"
    assert window_for(first, dt.date(2022, 4, 2)).text == "tancat des de l'11 de març de 2022"
    assert catalan_date(dt.date(2022, 4, 21)) == "21 d'abril de 2022"


def test_a_raw_catalogue_window_is_read_too() -> None:
    raw = {"termini_sollicitud": {"inici": "2022-04-25", "fi": "2022-06-03"}}
    assert window_for(raw, dt.date(2022, 5, 10)).text == "obert fins al 3 de juny de 2022"


def test_card_fields_contacts_and_source_title() -> None:
    card = card_for(hit(WIFI), dt.date(2022, 3, 20))
    assert card.window.state == "open" and card.reference_date == dt.date(2022, 3, 20)
    assert [(c.kind, c.label, c.href) for c in card.contacts] == [
        ("phone", "93 400 17 70", "tel:+34934001770"),
        ("email", "connectivitat@exemple.cat", "mailto:connectivitat@exemple.cat"),
    ]
    assert card.source_title == "Catàleg de serveis 2022"
    dumped = card.model_dump(mode="json", by_alias=True)
    assert dumped["import"] == "Fins a 20.000 € per ens" and "import_" not in dumped


def test_contacts_that_are_not_phone_or_mail_stay_plain_text() -> None:
    odd = contacts_for({"telefon": "Centraleta (extensió 12)", "email": "escriviu-nos al portal"})
    assert [c.href for c in odd] == [None, None]
    assert phone_href("+33 1 23 45 67 89") == "tel:+33123456789"
    assert contacts_for({"contacte": {"telefon": "93 400 41 66"}})[0].href == "tel:+34934004166"


def test_source_titles_are_never_file_names() -> None:
    rule = hit({"doc_title": "Règim regulador del Catàleg de serveis 2022"}, kind="normativa")
    assert source_title(rule) == "Règim regulador del Catàleg de serveis 2022"
    assert source_title(hit({"any": 2022})) == "Catàleg de serveis 2022"


def test_the_composer_words_the_window_with_the_card() -> None:
    assert window_status(hit(WIFI), dt.date(2022, 3, 1)) == (
        "s'obre el 15 de març de 2022 (del 15 de març de 2022 al 13 de maig de 2022)"
    )
    assert window_status(hit(ALL_YEAR), dt.date(2022, 3, 1)) == (
        "Es pot sol·licitar durant tot l'any 2022"
    )


def test_facets_count_each_value() -> None:
    other = {**WIFI, "codi": "22134", "tipologia": "tècnic", "destinataris": ["Ajuntaments"]}
    facets = facets_of([hit(WIFI), hit(other)])
    assert facets.resources == 2
    assert [(f.value, f.count) for f in facets.tipologia] == [("econòmic", 1), ("tècnic", 1)]
    assert [(f.value, f.count) for f in facets.destinataris] == [
        ("Ajuntaments", 2),
        ("Entitats municipals descentralitzades", 1),
    ]


def test_area_order_ignores_accents_and_apostrophes() -> None:
    areas = ["Àrea de Cultura", "Àrea d'Acció Climàtica", "Àrea de Presidència"]
    facets = facets_of([hit({"area": a}) for a in areas])
    assert [f.value for f in facets.area] == [
        "Àrea d'Acció Climàtica",
        "Àrea de Cultura",
        "Àrea de Presidència",
    ]


def test_filters_and_window_order() -> None:
    day = dt.date(2022, 3, 20)
    later = {**WIFI, "codi": "22135", "termini_inici": "2022-04-01", "termini_fi": "2022-04-30"}
    soon_closing = {**WIFI, "codi": "22136", "termini_inici": "2022-03-01",
                    "termini_fi": "2022-03-25"}  # fmt: skip
    cards = [card_for(hit(m), day) for m in (later, WIFI, soon_closing, FUND | {"codi": "22137"})]
    assert [c.codi for c in by_window(cards)] == ["22136", "22133", "22135", "22137"]
    assert matches(cards[0], {"destinataris": "Ajuntaments", "area": None})
    assert not matches(cards[0], {"tipologia": "tècnic"})
