"""Search filters (validation, Haystack translation) and the score fusion of both rankings."""

from __future__ import annotations

import datetime as dt

import pytest
from haystack import Document

from assistant.models import FILTER_KEYS, FilterError, Filters
from assistant.retrieval.filters import to_haystack
from assistant.retrieval.fusion import WeightedScoreFusion


def test_accepted_filter_keys_are_the_documented_ones() -> None:
    assert FILTER_KEYS == ("kind", "tipologia", "classe", "area", "destinataris", "any", "obert_a")


def test_unknown_filter_is_rejected_in_catalan() -> None:
    with pytest.raises(FilterError, match="Filtre desconegut: color") as info:
        Filters.parse({"color": "blau"})
    assert "kind" in str(info.value)


@pytest.mark.parametrize(
    "raw",
    [{"kind": "llei"}, {"tipologia": "gratuït"}, {"obert_a": "15/03/2022"}, {"any": "dos mil"}],
)
def test_invalid_values_are_rejected(raw: dict[str, str]) -> None:
    with pytest.raises(FilterError, match="Valor de filtre no vàlid"):
        Filters.parse(raw)


@pytest.mark.parametrize("value", ["econòmic", "economic", "Econòmic", "ECONOMIC"])
def test_tipologia_spellings_are_normalised(value: str) -> None:
    assert Filters.parse({"tipologia": value}).tipologia == "econòmic"


def test_empty_values_are_ignored() -> None:
    assert Filters.parse({"kind": "", "area": None}).is_empty()
    assert Filters.parse(None).is_empty()


def test_no_filters_means_no_haystack_filter() -> None:
    assert to_haystack(Filters()) is None


def test_exact_filters_translate_to_meta_equality() -> None:
    parsed = Filters.parse(
        {
            "kind": "recurs",
            "tipologia": "tècnic",
            "destinataris": "Consells comarcals",
            "any": "2022",
        }
    )
    assert to_haystack(parsed) == {
        "operator": "AND",
        "conditions": [
            {"field": "meta.kind", "operator": "==", "value": "recurs"},
            {"field": "meta.tipologia", "operator": "==", "value": "tècnic"},
            {"field": "meta.destinataris", "operator": "==", "value": "Consells comarcals"},
            {"field": "meta.any", "operator": "==", "value": 2022},
        ],
    }


def test_obert_a_is_a_window_containing_the_day() -> None:
    parsed = Filters.parse({"obert_a": "2022-03-15"})
    assert parsed.obert_a == dt.date(2022, 3, 15)
    assert to_haystack(parsed) == {
        "operator": "AND",
        "conditions": [
            {"field": "meta.termini_inici_num", "operator": "<=", "value": 20220315},
            {"field": "meta.termini_fi_num", "operator": ">=", "value": 20220315},
        ],
    }


def test_merged_keeps_explicit_values() -> None:
    mine = Filters(tipologia="tècnic")
    merged = mine.merged(Filters(tipologia="econòmic", obert_a=dt.date(2022, 3, 1)))
    assert merged.tipologia == "tècnic" and merged.obert_a == dt.date(2022, 3, 1)


# Fusion ------------------------------------------------------------------------------------
def doc(unit: str, score: float, piece: int = 0) -> Document:
    return Document(id=f"{unit}-p{piece}", content=unit, meta={"unit_id": unit}, score=score)


def test_max_fusion_normalises_each_list_by_its_best_score() -> None:
    fusion = WeightedScoreFusion(dense_weight=0.2, sparse_weight=0.8, normalisation="max")
    fused = fusion.run(
        dense=[doc("a", 0.9), doc("b", 0.45)],
        sparse=[doc("b", 12.0), doc("c", 6.0)],
    )["documents"]
    scores = {d.meta["unit_id"]: d.score for d in fused}
    assert scores == pytest.approx({"b": 0.2 * 0.5 + 0.8, "c": 0.4, "a": 0.2})
    assert [d.meta["unit_id"] for d in fused] == ["b", "c", "a"]
    b = fused[0]
    assert b.meta["_dense_score"] == 0.45 and b.meta["_sparse_score"] == 12.0


def test_fusion_gives_each_unit_once_and_respects_top_k() -> None:
    fused = WeightedScoreFusion().run(
        dense=[doc("a", 0.9, 0), doc("a", 0.8, 1), doc("b", 0.5)],
        sparse=[doc("a", 3.0, 1), doc("c", 2.0)],
        top_k=2,
    )["documents"]
    units = [d.meta["unit_id"] for d in fused]
    assert units == ["a", "c"]


def test_fusion_with_empty_sparse_side_orders_by_dense() -> None:
    fused = WeightedScoreFusion(0.5, 0.5, "max").run(
        dense=[doc("a", 0.3), doc("b", 0.6)], sparse=[]
    )["documents"]
    assert [d.meta["unit_id"] for d in fused] == ["b", "a"]
    assert fused[0].score == pytest.approx(0.5)


def test_max_fusion_ignores_negative_scores() -> None:
    fused = WeightedScoreFusion(1.0, 0.0, "max").run(
        dense=[doc("a", -0.2), doc("b", 0.4)], sparse=[]
    )["documents"]
    assert {d.meta["unit_id"]: d.score for d in fused} == {"b": 1.0, "a": 0.0}


# Translation for the engines -----------------------------------------------------------------
def test_client_filters_say_what_the_haystack_filters_say() -> None:
    from qdrant_client.http import models

    from index_config.points import point_id
    from index_config.qdrant_filters import ClientFilterBuilder, translate

    parsed = Filters.parse({"destinataris": "Consells comarcals", "obert_a": "2022-03-15"})
    assert translate(to_haystack(parsed), ClientFilterBuilder()) == models.Filter(
        must=[
            models.FieldCondition(
                key="meta.destinataris", match=models.MatchValue(value="Consells comarcals")
            ),
            models.FieldCondition(key="meta.termini_inici_num", range=models.Range(lte=20220315)),
            models.FieldCondition(key="meta.termini_fi_num", range=models.Range(gte=20220315)),
        ]
    )
    nested = {
        "operator": "OR",
        "conditions": [
            {"field": "meta.codi", "operator": "in", "value": ["22133", "22426"]},
            {
                "operator": "NOT",
                "conditions": [{"field": "id", "operator": "==", "value": "recurs:22101#0"}],
            },
        ],
    }
    assert translate(nested, ClientFilterBuilder()) == models.Filter(
        should=[
            models.FieldCondition(key="meta.codi", match=models.MatchAny(any=["22133", "22426"])),
            models.Filter(must_not=[models.HasIdCondition(has_id=[point_id("recurs:22101#0")])]),
        ]
    )
    assert translate(None, ClientFilterBuilder()) is None


@pytest.mark.parametrize(
    "bad",
    [
        {"field": "meta.any"},
        {"field": "meta.any", "operator": ">", "value": "2022"},
        {"field": "meta.kind", "operator": "in", "value": "recurs"},
        {"operator": "XOR", "conditions": []},
        {"field": "meta.kind", "operator": "~=", "value": "x"},
    ],
)
def test_filters_the_engines_cannot_express_are_store_errors(bad: dict[str, object]) -> None:
    from index_config.qdrant_filters import ClientFilterBuilder, EdgeFilterBuilder, translate
    from index_config.store_errors import StoreError

    for builder in (ClientFilterBuilder(), EdgeFilterBuilder()):
        with pytest.raises(StoreError):
            translate(bad, builder)


def test_point_ids_are_stable_uuids_of_the_chunk_ids() -> None:
    import uuid

    from index_config.points import point_id

    first = point_id("recurs:22133#0")
    assert uuid.UUID(first).version == 5
    assert first == point_id("recurs:22133#0") != point_id("recurs:22133#1")


def test_dbsf_fusion_spreads_crowded_cosines() -> None:
    """Cosines crowded in a narrow band (as multilingual-e5's are) still separate: each
    list is mapped from mean - 3 sd .. mean + 3 sd, so the dense side can outvote a small
    sparse difference."""
    dense = [doc("a", 0.86), doc("b", 0.84), doc("c", 0.83), doc("d", 0.83)]
    sparse = [doc("b", 10.0), doc("a", 9.8), doc("c", 1.0), doc("d", 1.0)]
    fused = WeightedScoreFusion(0.5, 0.5, "dbsf").run(dense=dense, sparse=sparse)["documents"]
    assert [d.meta["unit_id"] for d in fused][:2] == ["a", "b"]
    scores = [float(d.score or 0.0) for d in fused]
    assert all(0.0 <= s <= 1.0 for s in scores)


def test_dbsf_fusion_of_equal_scores_is_neutral() -> None:
    fused = WeightedScoreFusion(1.0, 0.0, "dbsf").run(
        dense=[doc("a", 0.5), doc("b", 0.5)], sparse=[]
    )["documents"]
    assert {d.score for d in fused} == {1.0}
