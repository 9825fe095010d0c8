"""FAQ <-> article links (restatements.py): built from vectors, and the re-ranking."""

from __future__ import annotations

from haystack import Document

from assistant.retrieval.restatements import RestatementLinks
from index_config.settings import RestatementSettings


def _doc(unit: str, score: float) -> Document:
    return Document(id=f"{unit}-p0", score=score, meta={"unit_id": unit})


def test_a_faq_entry_links_to_its_nearest_article_and_those_within_the_margin() -> None:
    units = [
        ("faq#1", "faq", [1.0, 0.0, 0.0]),
        ("art#a", "normativa", [0.99, 0.14, 0.0]),  # nearest
        ("art#b", "normativa", [0.98, 0.2, 0.0]),  # 0.01 further: within the margin
        ("art#c", "normativa", [0.5, 0.87, 0.0]),  # far
        ("faq#2", "faq", [0.0, 0.0, 1.0]),
        ("art#d", "normativa", [0.0, 0.1, 0.99]),
    ]
    links = RestatementLinks.from_vectors(units, RestatementSettings(margin=0.02, max_links=4))
    assert links.partners("faq#1") == {"art#a", "art#b"}
    assert links.partners("art#a") == {"faq#1"}  # symmetric
    assert links.partners("art#c") == set()
    assert links.partners("faq#2") == {"art#d"}
    assert len(links) == 3


def test_max_links_caps_the_articles_of_one_entry() -> None:
    units = [("faq#1", "faq", [1.0, 0.0])] + [
        (f"art#{i}", "normativa", [1.0, 0.001 * i]) for i in range(6)
    ]
    links = RestatementLinks.from_vectors(units, RestatementSettings(margin=0.5, max_links=2))
    assert len(links.partners("faq#1")) == 2


def test_a_unit_with_several_chunks_counts_its_best_pair() -> None:
    units = [
        ("faq#1", "faq", [1.0, 0.0]),
        ("art#a", "normativa", [0.0, 1.0]),  # first piece: unrelated
        ("art#a", "normativa", [1.0, 0.05]),  # second piece: the restated rule
        ("art#b", "normativa", [0.7, 0.7]),
    ]
    links = RestatementLinks.from_vectors(units, RestatementSettings(margin=0.01))
    assert links.partners("faq#1") == {"art#a"}


def test_no_faq_or_no_article_gives_no_links() -> None:
    assert (
        len(RestatementLinks.from_vectors([("a", "normativa", [1.0])], RestatementSettings())) == 0
    )
    assert len(RestatementLinks.from_vectors([("f", "faq", [1.0])], RestatementSettings())) == 0


def test_corroborated_units_move_up_but_the_best_result_stays_first() -> None:
    links = RestatementLinks({"faq#1": {"art#x"}, "art#x": {"faq#1"}})
    fused = [
        _doc("recurs:1", 0.9),
        _doc("faq#1", 0.6),
        _doc("other", 0.5),
        _doc("art#x", 0.4),  # 0.4 + 0.5 * 0.6 = 0.7: above "other" and "faq#1"
    ]
    ranked = [d.meta["unit_id"] for d in links.corroborate(fused, 0.5)]
    # art#x: 0.4 + 0.5 x 0.6 = 0.70; faq#1: 0.6 + 0.5 x 0.4 = 0.80; other: 0.5.
    assert ranked == ["recurs:1", "faq#1", "art#x", "other"]
    # Scores are the re-ranked ones, never above the best result's: the list stays sorted.
    scores = [d.score or 0.0 for d in links.corroborate(fused, 0.5)]
    assert scores == sorted(scores, reverse=True)
    assert scores[2] == 0.4 + 0.5 * 0.6
    strong = RestatementLinks({"b": {"c"}, "c": {"b"}})
    scaled = strong.corroborate(
        [_doc("a", 0.9), _doc("b", 0.85), _doc("c", 0.8), _doc("d", 0.7)], 1.0
    )
    assert [d.meta["unit_id"] for d in scaled] == ["a", "b", "c", "d"]  # b, c: 1.65, in order
    # Scaled under the best score, not capped at it: d keeps its distance below b and c.
    assert [round(d.score or 0.0, 4) for d in scaled] == [0.9, 0.9, 0.9, round(0.7 * 0.9 / 1.65, 4)]


def test_a_partner_outside_the_list_lends_nothing_and_weight_zero_changes_nothing() -> None:
    links = RestatementLinks({"art#x": {"faq#9"}, "faq#9": {"art#x"}})
    fused = [_doc("a", 0.9), _doc("b", 0.5), _doc("art#x", 0.4)]
    assert [d.meta["unit_id"] for d in links.corroborate(fused, 0.5)] == ["a", "b", "art#x"]
    both = RestatementLinks({"b": {"art#x"}, "art#x": {"b"}})
    assert [d.meta["unit_id"] for d in both.corroborate(fused, 0.0)] == ["a", "b", "art#x"]
