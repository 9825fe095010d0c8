"""Instruments (lexicon.yaml) and their regulations (assistant/retrieval/instruments.py)."""

from __future__ import annotations

from haystack import Document

from assistant.ask.analysis import analyse
from assistant.ask.lexicon import default_lexicon
from assistant.retrieval.instruments import InstrumentRegulations
from index_config.analyzer import CatalanAnalyzer, fold

TITLES = {
    "doc:regim-cat": "Règim regulador del Catàleg de serveis 2022",
    "doc:regim-pgi": "Règim regulador del Programa general d'inversions 2020-2023",
    "doc:protocol": "Protocol general del Pla de concertació Xarxa de Governs Locals 2020-2023",
    "doc:other": "Ordenança fiscal",
}


def _doc(unit: str, score: float) -> Document:
    return Document(id=f"{unit}-p0", score=score, meta={"unit_id": unit})


def test_questions_name_instruments_by_name_acronym_or_line() -> None:
    lex = default_lexicon()
    assert lex.instruments_named(fold("Podem imputar a un ajut del Catàleg les hores?")) == (
        "cataleg",
    )
    assert lex.instruments_named(fold("Els honoraris es poden pagar amb el PGI?")) == ("pgi",)
    assert lex.instruments_named(fold("Amb la línia 1 podem fer obra nova?")) == ("pgi",)
    assert lex.instruments_named(fold("Qui forma part de la comissió del Pla XGL?")) == ("pla",)
    assert lex.instruments_named(fold("Hi ha ajuts per a biblioteques?")) == ()
    assert lex.resource_instrument == "cataleg"
    analysis = analyse("¿Se puede pagar con el PGI?", CatalanAnalyzer())
    assert analysis.instruments == ("pgi",)


def test_each_instrument_finds_its_regulation_by_title() -> None:
    regs = InstrumentRegulations.from_titles(TITLES)
    assert regs.regulations_of(("cataleg",)) == {"doc:regim-cat"}
    assert regs.regulations_of(("pgi",)) == {"doc:regim-pgi"}
    assert regs.regulations_of(("pla",)) == {"doc:protocol"}
    assert regs.regulations_of(("pgi", "cataleg")) == {"doc:regim-pgi", "doc:regim-cat"}
    assert regs.regulations_of(()) == frozenset()
    assert InstrumentRegulations.from_titles({"doc:other": "Ordenança fiscal"}).documents == {}


def test_the_named_instruments_articles_are_nudged_up_not_filtered() -> None:
    regs = InstrumentRegulations.from_titles(TITLES)
    fused = [
        _doc("doc:regim-cat#s28", 0.80),
        _doc("recurs:22201", 0.75),
        _doc("doc:regim-pgi#s9", 0.60),
        _doc("doc:protocol#s3", 0.20),
    ]
    ranked = regs.nudge(fused, regs.regulations_of(("pgi",)), 0.3)
    assert [d.meta["unit_id"] for d in ranked] == [
        "doc:regim-pgi#s9",
        "doc:regim-cat#s28",
        "recurs:22201",
        "doc:protocol#s3",
    ]
    assert ranked[0].score == 0.6 + 0.3
    assert regs.nudge(fused, frozenset(), 0.3) == fused
    assert regs.nudge(fused, regs.regulations_of(("pgi",)), 0.0) == fused


def test_a_follow_up_is_about_the_instrument_of_its_conversation() -> None:
    from assistant.ask.retrieval import turn_instruments
    from assistant.models import Hit

    analyzer = CatalanAnalyzer()
    resource = Hit(id="22207", doc_id="recurs:22207", kind="recurs", title="Camins",
                   snippet="", score=1.0, source="cataleg.jsonl", codi="22207")  # fmt: skip
    follow = analyse("I com es justifica?", analyzer, has_history=True)
    assert follow.follow_up
    assert turn_instruments(follow, "Quins ajuts hi ha per a camins?", [resource]) == ("cataleg",)
    assert turn_instruments(follow, "Amb el PGI podem fer camins?", [resource]) == ("pgi",)
    assert turn_instruments(follow, "Què és el principi d'asimetria?", []) == ()
    named = analyse("I amb el PGI?", analyzer, has_history=True)
    assert turn_instruments(named, "Ajuts del catàleg per a camins", [resource]) == ("pgi",)
    first = analyse("Com es justifica?", analyzer)
    assert turn_instruments(first, "", [resource]) == ()


def test_a_follow_up_that_names_another_instrument_drops_the_earlier_ones_name() -> None:
    """ "I al PGI?" after a catalogue question asks that question about the PGI: the
    catalogue's name leaves the context, the rest of the earlier question stays."""
    from assistant.ask.retrieval import without_other_instruments

    earlier = "Fins quan tenim per justificar un ajut del Catàleg de serveis?"
    assert (
        without_other_instruments(earlier, ("pgi",))
        == "Fins quan tenim per justificar un ajut del ?"
    )
    assert without_other_instruments(earlier, ("cataleg",)) == earlier
    both = "Col·laboració amb la línia 1 del PGI i amb el catàleg"
    assert (
        without_other_instruments(both, ("cataleg",)) == "Col·laboració amb la del i amb el catàleg"
    )


def test_an_elliptic_follow_up_is_searched_with_its_context_at_full_weight() -> None:
    """A turn with one informative word of its own asks the earlier question again; a
    fuller follow-up keeps its context at the configured share."""
    from types import SimpleNamespace

    from assistant.ask.retrieval import CandidateSearch
    from index_config.settings import AskSettings

    analyzer = CatalanAnalyzer()
    search = CandidateSearch(SimpleNamespace(analyzer=analyzer), AskSettings())  # type: ignore[arg-type]
    context = "Quin termini hi ha per justificar?"
    elliptic = analyse("I al PGI?", analyzer, has_history=True)
    assert len(elliptic.informative) == 1
    assert search._terms(elliptic, None, context)["justificar"] == 1.0
    fuller = analyse("I al PGI, qui signa la sol·licitud?", analyzer, has_history=True)
    assert search._terms(fuller, None, context)["justificar"] == AskSettings().context_weight


def test_a_typo_of_an_earlier_turn_gets_its_near_spelling_in_the_follow_up() -> None:
    """The context of a follow-up is the earlier turns as typed: their typos are read as
    the index's near spellings, at the context's share of the reduced weight."""
    from types import SimpleNamespace

    from assistant.ask.retrieval import CandidateSearch
    from assistant.ask.spelling import SpellingMatcher
    from index_config.settings import AskSettings

    analyzer = CatalanAnalyzer()
    df: dict[str, int] = {}
    for text in ("Instal·lacions fotovoltaiques en cobertes", "Plaques solars a l'escola"):
        for term in analyzer.term_weights(text):
            df[term] = df.get(term, 0) + 1
    spelling = SpellingMatcher(analyzer, df)
    search = CandidateSearch(SimpleNamespace(analyzer=analyzer), AskSettings())  # type: ignore[arg-type]
    follow_up = analyse("I qui ens ajuda a pagar-ho?", analyzer, has_history=True)
    terms = search._terms(follow_up, spelling, "Volem posar plauqes a la coberta")
    near = spelling.corrections("plauqes")
    assert near and all(term in terms for term in near)
    assert all(terms[term] < terms["plauq"] for term in near)
    assert (
        search._terms(follow_up, None, "Volem posar plauqes a la coberta").keys().isdisjoint(near)
    )
