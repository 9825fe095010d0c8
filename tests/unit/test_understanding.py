"""What the assistant reads from a question besides its topic."""

from __future__ import annotations

import datetime as dt

import pytest

from assistant.understanding import tram_allows, understand

TODAY = dt.date(2022, 3, 15)


@pytest.mark.parametrize(
    ("question", "population"),
    [
        ("Som un poble de 1.500 habitants, quins ajuts hi ha?", 1500),
        ("Un municipi de 12000 habitants pot demanar-ho?", 12000),
        ("Tenim 1 500 habitants", 1500),
        ("Som 20.000 hab. i volem fer un pla d'habitatge", 20000),
        ("Un pueblo de 3.000 habitantes", 3000),
        ("Un poble de 850 veïns", 850),
        ("Quins ajuts hi ha per a camins?", None),
        ("Ajuts per a enllumenat el 2022", None),
    ],
)
def test_population(question: str, population: int | None) -> None:
    assert understand(question, has_history=False, today=TODAY).population == population


BANDS = {
    "Municipis de menys de 5.000 habitants": {4999: True, 5000: False, 20000: False},
    "Municipis de més de 10.000 habitants": {10000: False, 10001: True, 500: False},
    "Municipis de 5.000 a 20.000 habitants": {4999: False, 5000: True, 20000: True, 20001: False},
    "Municipis de fins a 1.000 habitants": {1000: True, 1001: False},
    "Tots els municipis": {1: True, 2_000_000: True},
}


@pytest.mark.parametrize(
    ("tram", "population", "allowed"),
    [(tram, pop, ok) for tram, cases in BANDS.items() for pop, ok in cases.items()],
)
def test_tram_allows(tram: str, population: int, allowed: bool) -> None:
    assert tram_allows(tram, population) is allowed


def test_unknown_band_wording_admits_everyone() -> None:
    assert tram_allows("Municipis amb biblioteca pública o servei de bibliobús", 300)


@pytest.mark.parametrize(
    ("question", "recipient"),
    [
        ("Sóc d'un consell comarcal, què podem demanar?", "Consells comarcals"),
        ("Som una EMD", "Entitats municipals descentralitzades"),
        (
            "Una entitat municipal descentralitzada pot demanar-ho?",
            "Entitats municipals descentralitzades",
        ),
        ("La mancomunitat pot demanar-ho?", "Mancomunitats"),
        ("Som un consorci de residus", "Consorcis"),
        ("Som un ajuntament petit", None),
    ],
)
def test_recipient(question: str, recipient: str | None) -> None:
    assert understand(question, has_history=False, today=TODAY).recipient == recipient


def test_open_now_uses_today() -> None:
    u = understand("Què hi ha obert ara per demanar?", has_history=False, today=TODAY)
    assert u.open_on == TODAY
    assert understand("Quan s'obre el termini?", has_history=False, today=TODAY).open_on is None


@pytest.mark.parametrize(
    ("question", "tipologia"),
    [
        ("Hi ha subvencions per a camins?", "econòmic"),
        ("Necessitem diners per a la piscina", "econòmic"),
        ("Ens podeu prestar cadires?", "material"),
        ("Qui ens pot assessorar en urbanisme?", None),
    ],
)
def test_preferred_tipologia(question: str, tipologia: str | None) -> None:
    assert understand(question, has_history=False, today=TODAY).prefers_tipologia == tipologia


@pytest.mark.parametrize(
    ("question", "facet"),
    [
        ("I el termini?", "termini"),
        ("Quant ens donarien?", "import"),
        ("Amb qui hem de contactar?", "contacte"),
        ("Quins requisits cal complir?", "requisits"),
        ("Quina documentació hem de presentar?", "documentacio"),
        ("Quin percentatge hi hem de posar nosaltres?", "aportacio"),
    ],
)
def test_facets(question: str, facet: str) -> None:
    assert facet in understand(question, has_history=True, today=TODAY).facets


def test_years() -> None:
    assert understand("Ajuts del 2019 i del 2022", has_history=False, today=TODAY).years == [
        2019,
        2022,
    ]


# Follow-ups -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "question",
    [
        "I el termini?",
        "i per a un consell comarcal?",
        "Quant ens donarien?",
        "Es pot demanar també per a aquest equipament municipal de la plaça?",
        "Ho pot sol·licitar una mancomunitat?",
    ],
)
def test_follow_up_needs_history(question: str) -> None:
    assert understand(question, has_history=True, today=TODAY).follow_up
    assert not understand(question, has_history=False, today=TODAY).follow_up


def test_long_standalone_question_is_not_a_follow_up() -> None:
    question = (
        "Som un poble de 900 habitants i els camins que van a les masies estan plens de clots "
        "després de les pluges. Què ens pot oferir la Diputació per arreglar-los?"
    )
    assert not understand(question, has_history=True, today=TODAY).follow_up


@pytest.mark.parametrize(
    "question",
    [
        "Hi ha algun recurs per controlar la legionel·la a les piscines municipals?",
        "Quins ajuts hi ha per a biblioteques municipals de la comarca?",
    ],
)
def test_new_question_with_hi_ha_is_not_a_follow_up(question: str) -> None:
    assert not understand(question, has_history=True, today=TODAY).follow_up


# Small talk -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "question",
    ["Hola", "Bon dia!", "Quin temps farà demà?", "Explica'm un acudit", "Com et dius?", "Gràcies"],
)
def test_small_talk(question: str) -> None:
    assert understand(question, has_history=False, today=TODAY).small_talk


@pytest.mark.parametrize(
    "question",
    [
        "Hola, quins ajuts hi ha per a biblioteques?",
        "Bon dia, fins quan es pot demanar el recurs 22133?",
        "Quin és el termini de justificació?",
    ],
)
def test_questions_with_a_greeting_are_not_small_talk(question: str) -> None:
    assert not understand(question, has_history=False, today=TODAY).small_talk


@pytest.mark.parametrize(
    ("question", "purpose"),
    [
        (
            "On trobo el formulari per acceptar el fons de prestació per al transport escolar?",
            "transport escolar",
        ),
        ("Hi ha subvencions per a l'arranjament de camins?", "arranjament de camins"),
        ("Hi ha ajuts per a la gent gran?", "gent gran"),
        ("Hi ha ajuts per posar wifi a la plaça?", None),
    ],
)
def test_a_named_support_and_its_purpose_are_read(question: str, purpose: str | None) -> None:
    assert understand(question, has_history=False, today=TODAY).named_purpose == purpose
