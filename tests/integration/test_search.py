"""Hybrid search on the session index of the sample corpus (real model, local Qdrant):
the Hit shape, filters, one result per unit and a few real questions."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from assistant.errors import QueryError
from assistant.models import FilterError, Filters, Hit
from assistant.service import AssistantService
from tests.conftest import SAMPLE_DIR

pytestmark = pytest.mark.integration

HIT_KEYS = {
    "id", "doc_id", "kind", "title", "snippet", "score", "url", "source", "codi", "article",
    "metadata",
}  # fmt: skip
RECORDS = {
    r["codi"]: r
    for r in (
        json.loads(line)
        for line in (SAMPLE_DIR / "cataleg" / "cataleg-2022.jsonl").read_text("utf-8").splitlines()
    )
}


def search(service: AssistantService, query: str, top_k: int = 10, **filters: Any) -> list[Hit]:
    return service.search(query, top_k=top_k, filters=filters or None)


def every_unit(service: AssistantService, **filters: Any) -> list[Hit]:
    """Every unit matching the filters: the dense side ranks all candidates."""
    return service.searcher.search("recurs", Filters.parse(filters), top_k=400)


def unit(hit: Hit) -> tuple[str, str]:
    """What a result list shows once: a resource, an article/provision or a FAQ entry."""
    return (hit.doc_id, hit.article or hit.title)


# Shape ----------------------------------------------------------------------------------------
def test_hits_have_exactly_the_documented_keys(assistant_service: AssistantService) -> None:
    hits = search(assistant_service, "justificació dels ajuts", top_k=20)
    assert {h.kind for h in hits} >= {"normativa", "faq"}
    for hit in hits:
        body = hit.model_dump(mode="json")
        assert set(body) == HIT_KEYS
        assert isinstance(body["score"], float) and isinstance(body["metadata"], dict)
        assert hit.snippet and len(hit.snippet) <= 330
        assert hit.source in {
            "cataleg-2022.jsonl",
            "regim-regulador-cataleg-2022.pdf",
            "protocol-general-xgl-2020-2023.pdf",
            "regim-regulador-pgi-2020-2023.docx",
            "preguntes-frequents.html",
        }
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)


def test_resource_hits_carry_codi_url_and_catalogue_metadata(
    assistant_service: AssistantService,
) -> None:
    (hit,) = search(assistant_service, "xarxes wifi públiques municipals", top_k=1)
    assert hit.kind == "recurs" and hit.codi == "22133" and hit.doc_id == "recurs:22133"
    assert hit.article is None
    assert hit.url == "https://cataleg.exemple.cat/recurs/22133"
    record = RECORDS["22133"]
    for key in ("tipologia", "classe", "area", "destinataris", "tram_poblacio", "import"):
        assert hit.metadata[key] == record[key]
    assert hit.metadata["termini"]
    # Internal bookkeeping does not leak into the public metadata.
    assert not {"doc_hash", "source_path", "unit_id"} & set(hit.metadata)


def test_article_hits_name_their_article(assistant_service: AssistantService) -> None:
    hits = search(assistant_service, "esmena de defectes de la sol·licitud", kind="normativa")
    article = next(h for h in hits if h.source == "regim-regulador-cataleg-2022.pdf")
    assert article.article == "Article 12"
    assert article.title == "Article 12. Esmena de defectes"
    assert article.codi is None
    assert article.doc_id == "doc:regim-regulador-cataleg-2022"


def test_faq_hits_carry_the_question_as_article(assistant_service: AssistantService) -> None:
    hits = search(assistant_service, "ampliació de termini", kind="faq")
    assert hits and {h.kind for h in hits} == {"faq"}
    assert all(h.article == h.title and h.title.endswith("?") for h in hits)
    assert all(h.source == "preguntes-frequents.html" for h in hits)


# Filters --------------------------------------------------------------------------------------
def test_kind_normativa_returns_no_resources(assistant_service: AssistantService) -> None:
    hits = search(assistant_service, "ajuts per a camins i termini", top_k=30, kind="normativa")
    assert hits and {h.kind for h in hits} == {"normativa"}


def test_kind_recurs_returns_only_resources(assistant_service: AssistantService) -> None:
    hits = search(assistant_service, "termini de justificació", top_k=30, kind="recurs")
    assert hits and all(h.kind == "recurs" and h.codi for h in hits)


@pytest.mark.parametrize("spelling", ["econòmic", "economic"])
def test_tipologia_filter(assistant_service: AssistantService, spelling: str) -> None:
    hits = search(assistant_service, "ajuts", top_k=30, tipologia=spelling)
    assert len(hits) == 30
    assert {h.metadata["tipologia"] for h in hits} == {"econòmic"}
    assert all(RECORDS[str(h.codi)]["tipologia"] == "econòmic" for h in hits)


def test_destinataris_filter_matches_one_element_of_the_list(
    assistant_service: AssistantService,
) -> None:
    hits = search(
        assistant_service, "assistència tècnica", top_k=30, destinataris="Consells comarcals"
    )
    assert hits
    assert all("Consells comarcals" in RECORDS[str(h.codi)]["destinataris"] for h in hits)
    # Asking for every unit (beyond the API's top_k limit) gives exactly those resources.
    everything = every_unit(assistant_service, destinataris="Consells comarcals")
    expected = {c for c, r in RECORDS.items() if "Consells comarcals" in r["destinataris"]}
    assert {h.codi for h in everything} == expected


def test_classe_and_area_filters(assistant_service: AssistantService) -> None:
    hits = search(assistant_service, "fons", top_k=30, classe="Fons de prestació")
    assert hits and {h.metadata["classe"] for h in hits} == {"Fons de prestació"}
    hits = search(assistant_service, "ajuts", top_k=30, area="Àrea de Cultura")
    assert hits and {h.metadata["area"] for h in hits} == {"Àrea de Cultura"}


def open_on(record: dict[str, Any], day: dt.date) -> bool:
    window = record["termini_sollicitud"]
    if window:
        return dt.date.fromisoformat(window["inici"]) <= day <= dt.date.fromisoformat(window["fi"])
    # Requested all year: open the whole year; a prestation fund has no application.
    return record["classe"] != "Fons de prestació"


@pytest.mark.parametrize("day", [dt.date(2022, 3, 15), dt.date(2022, 10, 1)])
def test_obert_a_returns_only_resources_open_that_day(
    assistant_service: AssistantService, day: dt.date
) -> None:
    hits = search(assistant_service, "ajuts per a equipaments", top_k=50, obert_a=day.isoformat())
    assert hits and {h.kind for h in hits} == {"recurs"}
    assert all(open_on(RECORDS[str(h.codi)], day) for h in hits)
    everything = every_unit(assistant_service, obert_a=day.isoformat())
    expected = {c for c, r in RECORDS.items() if open_on(r, day)}
    assert 0 < len(expected) < len(RECORDS)
    assert {h.codi for h in everything} == expected


def test_filters_combine(assistant_service: AssistantService) -> None:
    hits = search(
        assistant_service, "ajuts", top_k=50, tipologia="econòmic", obert_a="2022-03-15", any="2022"
    )
    assert hits and all(h.metadata["tipologia"] == "econòmic" for h in hits)


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"color": "blau"}, "Filtre desconegut"),
        ({"kind": "llei"}, "Valor de filtre no vàlid"),
        ({"obert_a": "demà"}, "Valor de filtre no vàlid"),
    ],
)
def test_bad_filters_are_errors(
    assistant_service: AssistantService, filters: dict[str, str], message: str
) -> None:
    with pytest.raises(FilterError, match=message):
        assistant_service.search("ajuts", filters=filters)


@pytest.mark.parametrize("query", ["", "   ", "x" * 2001])
def test_empty_or_huge_query_is_a_query_error(
    assistant_service: AssistantService, query: str
) -> None:
    with pytest.raises(QueryError):
        assistant_service.search(query)


# Grouping -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "query", ["termini", "justificació", "despeses elegibles IVA", "criteris de distribució PGI"]
)
def test_each_unit_appears_once(assistant_service: AssistantService, query: str) -> None:
    hits = search(assistant_service, query, top_k=40)
    units = [unit(h) for h in hits]
    assert len(units) == len(set(units)), units
    assert len({h.id for h in hits}) == len(hits)
    resources = [h.codi for h in hits if h.kind == "recurs"]
    assert len(resources) == len(set(resources))


def test_one_document_can_give_several_articles_and_faq_entries(
    assistant_service: AssistantService,
) -> None:
    hits = search(assistant_service, "justificació", top_k=30)
    per_doc: dict[str, int] = {}
    for hit in hits:
        per_doc[hit.doc_id] = per_doc.get(hit.doc_id, 0) + 1
    assert per_doc.get("doc:preguntes-frequents", 0) >= 2
    assert per_doc.get("doc:regim-regulador-cataleg-2022", 0) >= 2


def test_long_article_split_in_pieces_shows_once(assistant_service: AssistantService) -> None:
    # Article 28 of the Catàleg's regulation is indexed as two pieces.
    hits = search(
        assistant_service, "despeses elegibles IVA recuperable", top_k=30, kind="normativa"
    )
    labels = [h.article for h in hits if h.source == "regim-regulador-cataleg-2022.pdf"]
    assert labels.count("Article 28") == 1


# Real questions -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "gold", "within"),
    [
        ("legionel·la", {"22426"}, 1),
        (
            "Ens ha sortit legionel·la a les dutxes del poliesportiu, qui ens pot ajudar?",
            {"22426"},
            1,
        ),
        ("wifi", {"22133"}, 1),
        ("hi ha ajuts per posar wifi gratis a la placa i a la biblio del poble", {"22133"}, 1),
        ("Volem posar plaques solars al teulat del pavelló. Hi ha alguna subvenció?", {"22218"}, 3),
        (
            "Somos un ayuntamiento de 3.000 habitantes. ¿Nos pueden prestar sillas de ruedas?",
            {"22312"},
            3,
        ),
        ("q podem demanar x controlar els gats del carrer?", {"22431", "22428"}, 3),
    ],
)
def test_real_questions_find_their_resource(
    assistant_service: AssistantService, query: str, gold: set[str], within: int
) -> None:
    hits = search(assistant_service, query, top_k=10)
    assert {h.codi for h in hits[:within]} & gold, [h.codi for h in hits]


@pytest.mark.parametrize(
    ("query", "gold"),
    [
        (
            "Qui ha de signar les justificacions?",
            {
                ("preguntes-frequents.html", "Qui ha de signar les sol·licituds i qui signa les justificacions?"),
                ("regim-regulador-cataleg-2022.pdf", "Article 24"),
            },
        ),
        (
            "Ens ha arribat un requeriment per esmenar la sol·licitud. Quants dies tenim?",
            {
                ("regim-regulador-cataleg-2022.pdf", "Article 12"),
                ("preguntes-frequents.html", "Què passa si la sol·licitud té errors o hi falta documentació?"),
            },
        ),
        (
            "Qui forma part de la Comissió de seguiment del Pla XGL?",
            {("protocol-general-xgl-2020-2023.pdf", "Article 15")},
        ),
        (
            "L'obra no estarà acabada a finals d'any. Podem allargar el termini?",
            {
                ("regim-regulador-cataleg-2022.pdf", "Article 23"),
                ("preguntes-frequents.html", "Com es demana una ampliació de termini?"),
            },
        ),
    ],
)  # fmt: skip
def test_real_questions_find_their_article_or_faq_in_the_top_3(
    assistant_service: AssistantService, query: str, gold: set[tuple[str, str]]
) -> None:
    hits = search(assistant_service, query, top_k=3)
    assert {(h.source, h.article) for h in hits} & gold, [(h.source, h.article) for h in hits]


def test_faq_entries_are_linked_to_the_articles_they_restate(assistant_service: Any) -> None:
    """Links come from the served version's own vectors: the sample FAQ's entry on
    advance payments restates the catalogue regulation's article on payment."""
    opened = assistant_service.searcher.index.get()
    links = opened.retriever.restatements
    assert len(links) > 10
    faq = [
        d
        for d in opened.documents(extra={"kind": "faq"})
        if d.meta["title"].startswith("Es pot cobrar una part de l'import")
    ]
    assert faq
    partners = links.partners(faq[0].meta["unit_id"])
    articles = {
        d.meta["unit_id"]: (d.meta["doc_id"], d.meta["article"])
        for d in opened.documents(extra={"kind": "normativa"})
    }
    assert ("doc:regim-regulador-cataleg-2022", "Article 31") in {articles[u] for u in partners}
    # Every link joins a FAQ entry and an article, never two entries or two articles.
    for unit in articles:
        assert all(p not in articles for p in links.partners(unit))


def test_naming_an_instrument_favours_its_regulation(assistant_service: Any) -> None:
    """Both regulations have an article on eligible expenses: the one of the instrument
    the query names comes first."""

    def first_regulation(query: str) -> str:
        hits = search(assistant_service, query, kind="normativa")
        return hits[0].doc_id

    assert first_regulation("despeses elegibles del PGI") == "doc:regim-regulador-pgi-2020-2023"
    assert first_regulation("despeses elegibles d'un ajut del catàleg") == (
        "doc:regim-regulador-cataleg-2022"
    )
    opened = assistant_service.searcher.index.get()
    assert opened.retriever.instruments.regulations_of(("pla",)) == {
        "doc:protocol-general-xgl-2020-2023"
    }


@pytest.mark.parametrize(
    ("written", "misspelt"),
    [
        ("legionel·la", "legionnela"),
        ("plaques fotovoltaiques", "plaques fotovoltaiqes"),
    ],
)
def test_a_misspelt_word_finds_what_the_word_finds(
    assistant_service: AssistantService, written: str, misspelt: str
) -> None:
    """Staff search reads a word the index has never seen as its near spellings, as the
    ask path does: with the typo, the two best results are those of the word written
    right (without near spellings the dense side alone kept only one of them)."""
    expected = {unit(h) for h in search(assistant_service, written, top_k=2)}
    found = {unit(h) for h in search(assistant_service, misspelt, top_k=2)}
    assert found == expected
