"""Grounding check of LLM answers: citations, invented codes, amounts, dates, forms."""

from __future__ import annotations

import pytest

from assistant.llm import REFUSAL, check_answer, citations, is_refusal
from assistant.llm.facts import extract_facts
from assistant.models import Hit

SOLAR = Hit(
    id="22218#0",
    doc_id="cataleg:22218",
    kind="recurs",
    title="Ajuts per a instal·lacions fotovoltaiques d'autoconsum en equipaments municipals",
    snippet="Convocatòria en concurrència competitiva per finançar la compra i la "
    "instal·lació de sistemes solars fotovoltaics per a l'autoconsum.",
    score=0.9,
    url="https://cataleg.exemple.cat/recurs/22218",
    source="cataleg-2022.jsonl",
    codi="22218",
    metadata={
        "tipologia": "econòmic",
        # The shape the catalogue ingest writes.
        "termini": "Del 19 d'abril de 2022 al 10 de juny de 2022",
        "termini_inici": "2022-04-19",
        "termini_fi": "2022-06-10",
        "import": "Fins a 50.000 € per ens (màxim de 1.000 € per kWp instal·lat)",
        "aportacio_local": "Cofinançament local mínim del 20%",
        "telefon": "93 400 31 60",
        "email": "ajutssolar@exemple.cat",
    },
)
ARTICLE_23 = Hit(
    id="regim-cataleg#23",
    doc_id="regim-regulador-cataleg-2022.pdf",
    kind="normativa",
    title="Règim regulador del Catàleg de serveis 2022",
    snippet="L'ens destinatari pot sol·licitar l'ampliació del termini d'execució o del "
    "termini de justificació amb el model C4-007. La data límit per demanar "
    "l'ampliació és el 30\nde novembre de 2022, en el cas del termini d'execució, i el "
    "28 de febrer de 2023, en el cas del termini de justificació. Per a ajuts de "
    "2.000 euros o menys es fan servir els formularis C4-001 a C4-005.",
    score=0.8,
    source="regim-regulador-cataleg-2022.pdf",
    article="Article 23",
)
SOURCES = [SOLAR, ARTICLE_23]

GOOD = (
    "Podeu demanar l'ajut **22218** per a plaques fotovoltaiques: fins a 50.000 euros "
    "per ens, amb un cofinançament local del 20 % [1]. La sol·licitud es fa del 19 "
    "d'abril al 10 de juny de 2022 (2022-06-10) [1].\n\n"
    "- Contacte: 93 400 31 60, ajutssolar@exemple.cat [1]\n"
    "- [Fitxa del recurs](https://cataleg.exemple.cat/recurs/22218)\n\n"
    "Per ampliar el termini de justificació, el model C4-007 fins al 28 de febrer de "
    "2023; per a ajuts de 2.000 € o menys, el formulari C4-003 [2]."
)


def test_a_grounded_answer_passes() -> None:
    assert check_answer(GOOD, SOURCES) == []


def test_the_refusal_passes_and_is_recognised() -> None:
    assert is_refusal(REFUSAL)
    assert is_refusal(f"  **{REFUSAL}**\n")
    assert is_refusal("No he trobat informació sobre això a les fonts.")
    assert check_answer(REFUSAL, SOURCES) == []
    # Starting like the refusal but citing sources is an answer, and is checked as one.
    partial = "No he trobat informació del 2023, però l'ajut 22218 és del 2022 [1]."
    assert not is_refusal(partial)
    assert check_answer(partial, SOURCES) == []


def test_missing_citation_is_flagged() -> None:
    assert check_answer("L'ajut 22218 finança plaques solars.", SOURCES) == [
        "the answer cites no source"
    ]


def test_citation_out_of_range_is_flagged() -> None:
    problems = check_answer("L'ajut 22218 finança plaques solars [1][9].", SOURCES)
    assert problems == ["citation [9] does not match any of the 2 sources"]


def test_link_text_is_not_a_citation() -> None:
    answer = "Vegeu la [22218](https://cataleg.exemple.cat/recurs/22218) [1]."
    assert citations(answer) == [1]
    assert citations("[1, 2] i [3]") == [1, 2, 3]


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ("L'ajut 22219 finança plaques [1].", "catalogue code '22219' is not in any source"),
        ("Fins a 25.000 € per ens [1].", "amount '25.000 €' is not in any source"),
        ("Fins a 60.000 euros [1].", "amount '60.000 euros' is not in any source"),
        ("Cal aportar un 25% [1].", "amount '25%' is not in any source"),
        ("Per a municipis de 12.000 habitants [1].", "number '12.000' is not in any source"),
        ("Fins al 31 de març de 2023 [2].", "date '31 de març de 2023' is not in any source"),
        ("Fins al 2022-06-11 [1].", "date '2022-06-11' is not in any source"),
        ("Des del 19 d'abril de 2023 [1].", "date '19 d'abril de 2023' is not in any source"),
        ("Amb el formulari C4-006 [2].", "form code 'C4-006' is not in any source"),
        ("Truqueu al 93 400 99 99 [1].", "phone number '93 400 99 99' is not in any source"),
        (
            "Escriviu a info@exemple.cat [1].",
            "e-mail address 'info@exemple.cat' is not in any source",
        ),
        (
            "[Fitxa](https://cataleg.exemple.cat/recurs/99999) [1].",
            "link 'https://cataleg.exemple.cat/recurs/99999' is not in any source",
        ),
    ],
)
def test_invented_facts_are_flagged(answer: str, problem: str) -> None:
    assert check_answer(answer, SOURCES) == [problem]


def test_a_fact_from_an_uncited_source_is_flagged() -> None:
    problems = check_answer("Per ampliar terminis, el model C4-007 [1].", SOURCES)
    assert problems == ["form code 'C4-007' is only in sources the answer does not cite"]


def test_several_problems_are_all_reported() -> None:
    problems = check_answer("Fins a 30.000 € [1][4], codi 22100.", SOURCES)
    assert problems == [
        "citation [4] does not match any of the 2 sources",
        "amount '30.000 €' is not in any source",
        "catalogue code '22100' is not in any source",
    ]


def test_empty_answer_is_a_problem() -> None:
    assert check_answer("  \n", SOURCES) == ["the answer is empty"]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("2.000 €", "2000 €"),
        ("2000 euros", "2000 €"),
        ("2.000\u00a0EUR", "2000 €"),
        ("260 M EUR", "260000000 €"),
        ("260 milions d'euros", "260000000 €"),
        ("1.500,50 €", "1500.5 €"),
        ("25 %", "25 %"),
        ("25 per cent", "25 %"),
    ],
)
def test_amounts_are_normalised(text: str, key: str) -> None:
    assert [(f.kind, f.key) for f in extract_facts(text)] == [("amount", key)]


@pytest.mark.parametrize(
    "text", ["31 de març de 2023", "31 de març del 2023", "2023-03-31", "31/03/2023"]
)
def test_dates_are_normalised(text: str) -> None:
    assert [(f.kind, f.key) for f in extract_facts(text)] == [("date", "2023-03-31")]


def test_digits_of_amounts_dates_and_phones_are_not_codes() -> None:
    kinds = [f.kind for f in extract_facts("12.345 € el 2022-06-10, tel. 93 400 31 60")]
    assert kinds == ["amount", "date", "phone"]


def test_a_bare_number_is_supported_by_an_amount_with_that_value() -> None:
    assert check_answer("Entre 1.000 i 50.000 € per ens [1].", SOURCES) == []


def test_a_day_without_year_in_the_source_supports_a_dated_answer() -> None:
    faq = ARTICLE_23.model_copy(update={"snippet": "El termini acaba el 31 de març de cada any."})
    assert check_answer("Fins al 31 de març [1].", [faq]) == []
    assert check_answer("Fins al 31 de març de 2023 [1].", [faq]) == [
        "date '31 de març de 2023' is not in any source"
    ]
    dated = faq.model_copy(update={"title": "Justificació dels ajuts 2023"})
    assert check_answer("Fins al 31 de març de 2023 [1].", [dated]) == []


def test_form_ranges_support_the_forms_inside_them() -> None:
    keys = {f.key for f in extract_facts("els formularis C4-001 a C4-005")}
    assert keys == {"C4-001", "C4-002", "C4-003", "C4-004", "C4-005"}
