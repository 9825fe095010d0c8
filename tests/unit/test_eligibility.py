"""Eligibility inside the retrieval stage: what the asker cannot get is set aside, and the
best matches among those are kept for the decision and the answer (constructed results;
no index, no model)."""

from __future__ import annotations

from types import SimpleNamespace

from haystack import Document

from assistant.ask.analysis import analyse
from assistant.ask.retrieval import Candidates, CandidateSearch
from assistant.models import Filters, Hit
from assistant.retrieval.searcher import Retrieved, SearchResult
from index_config.analyzer import CatalanAnalyzer
from index_config.settings import AskSettings

ANALYZER = CatalanAnalyzer()
SEARCH = CandidateSearch(SimpleNamespace(analyzer=ANALYZER), AskSettings())  # type: ignore[arg-type]


def retrieved(codi: str, score: float, tram: str = "Tots els municipis") -> Retrieved:
    hit = Hit(id=codi, doc_id=codi, kind="recurs", title=f"Recurs {codi}", snippet="",
              score=score, source="cataleg.jsonl", codi=codi,
              metadata={"tram_poblacio": tram, "destinataris": ["Ajuntaments"]})  # fmt: skip
    return Retrieved(hit, Document(id=codi, content=hit.title))


def candidates(question: str, *results: Retrieved) -> Candidates:
    result = SearchResult(list(results), [], [])
    analysis = analyse(question, ANALYZER)
    return SEARCH._candidates(analysis, result, question, Filters(), None, [], "", ())


SMALL_TOWNS = "Municipis de menys de 5.000 habitants"


def test_the_best_matches_the_asker_cannot_get_are_kept_aside_in_order() -> None:
    found = candidates(
        "Som 30.000 habitants: hi ha ajuts per a camins?",
        retrieved("1", 0.9, SMALL_TOWNS),
        retrieved("2", 0.8, SMALL_TOWNS),
        retrieved("3", 0.7),
        retrieved("4", 0.6, SMALL_TOWNS),
    )
    assert [h.codi for h in found.hits] == ["3"]
    # Only those ahead of everything the asker may receive: "4" is not what it asked about.
    assert [r.hit.codi for r in found.ineligible] == ["1", "2"]
    assert [r.hit.codi for r in found.with_ineligible().results] == ["1", "2", "3"]
    assert found.with_ineligible().ineligible == []


def test_nothing_is_set_aside_when_the_best_match_is_for_the_asker() -> None:
    found = candidates(
        "Som 3.000 habitants: hi ha ajuts per a camins?",
        retrieved("1", 0.9, SMALL_TOWNS),
        retrieved("2", 0.8, "Municipis de més de 20.000 habitants"),
    )
    assert [h.codi for h in found.hits] == ["1"] and found.ineligible == []
