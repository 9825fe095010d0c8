"""Splitting regulatory text by its structure (articles, provisions, chapters), then by size."""

from __future__ import annotations

from itertools import pairwise

import pytest

from ingest.converters.base import sections_to_documents
from ingest.structure import Block, split_by_size, split_sections

TITLE = "Règim regulador de prova"


def b(text: str, level: int = 0) -> Block:
    return Block(text, level)


@pytest.mark.parametrize(
    ("heading", "label", "title"),
    [
        ("Article 12. Esmena de defectes", "Article 12", "Article 12. Esmena de defectes"),
        ("article 5: Dotació", "Article 5", "Article 5. Dotació"),
        ("Article 7 bis. Compatibilitat", "Article 7 bis", "Article 7 bis. Compatibilitat"),
        ("Article 9", "Article 9", "Article 9"),
        (
            "Disposició addicional única. Sistema de qualitat",
            "Disposició addicional única",
            "Disposició addicional única. Sistema de qualitat",
        ),
        (
            "Disposició final segona. Efectes",
            "Disposició final segona",
            "Disposició final segona. Efectes",
        ),
    ],
)
def test_article_and_provision_headings_are_recognised_by_wording(
    heading: str, label: str, title: str
) -> None:
    sections = split_sections([b(heading), b("Text de l'article.")], TITLE)
    assert len(sections) == 1
    assert sections[0].article == label
    assert sections[0].title == title
    assert sections[0].text == "Text de l'article."


def test_all_caps_article_heading_gives_the_canonical_label() -> None:
    (section,) = split_sections([b("ARTICLE 3 - DESTINATARIS"), b("Els ajuntaments.")], TITLE)
    assert section.article == "Article 3"


def test_articles_chapters_and_preamble() -> None:
    blocks = [
        b(TITLE, 1),
        b("Preàmbul", 2),
        b("Aquest règim ordena els recursos."),
        b("Capítol I. Disposicions generals", 2),
        b("Article 1. Objecte", 2),
        b("1. Aquest règim regula el catàleg."),
        b("2. També els terminis."),
        b("Article 2. Destinataris"),
        b("Els ajuntaments."),
        b("Capítol II. Sol·licituds"),
        b("Article 3. Terminis"),
        b("Del febrer al març."),
        b("Disposicions finals", 2),
        b("Disposició final única. Entrada en vigor"),
        b("L'endemà de la publicació."),
    ]
    sections = split_sections(blocks, TITLE)
    assert [(s.title, s.article) for s in sections] == [
        ("Preàmbul", None),
        ("Article 1. Objecte", "Article 1"),
        ("Article 2. Destinataris", "Article 2"),
        ("Article 3. Terminis", "Article 3"),
        ("Disposició final única. Entrada en vigor", "Disposició final única"),
    ]
    assert sections[1].text == "1. Aquest règim regula el catàleg.\n2. També els terminis."
    assert sections[1].headings == [TITLE, "Capítol I. Disposicions generals"]
    assert sections[3].headings == [TITLE, "Capítol II. Sol·licituds"]
    assert sections[4].headings == [TITLE, "Disposicions finals"]


def test_text_before_any_heading_goes_under_the_document_title() -> None:
    sections = split_sections([b("Un paràgraf solt."), b("Un altre.")], TITLE)
    assert [(s.title, s.text) for s in sections] == [(TITLE, "Un paràgraf solt.\nUn altre.")]


def test_long_paragraph_mentioning_an_article_is_not_a_heading() -> None:
    long_text = "Article 3 del règim regulador estableix " + "que els ens poden demanar " * 10
    sections = split_sections([b("Article 2. Objecte"), b(long_text)], TITLE)
    assert len(sections) == 1 and sections[0].article == "Article 2"


def test_empty_article_is_kept_and_empty_headings_dropped() -> None:
    sections = split_sections([b("Article 9. Derogat"), b("Annex", 2), b("Secció buida", 2)], TITLE)
    assert [(s.title, s.article) for s in sections] == [("Article 9. Derogat", "Article 9")]


def test_faq_questions_become_faq_chunks() -> None:
    sections = split_sections(
        [b("Preguntes", 1), b("Qui signa?", 3), b("El secretari."), b("Quan?", 3), b("Al març.")],
        "Preguntes",
    )
    chunks = sections_to_documents(
        sections, doc_id="doc:faq", source="faq.html", doc_title="Preguntes", url=None,
        max_words=220, overlap=40,
    )  # fmt: skip
    assert [(c.meta["kind"], c.meta["article"], c.content) for c in chunks] == [
        ("faq", "Qui signa?", "Qui signa?\nEl secretari."),
        ("faq", "Quan?", "Quan?\nAl març."),
    ]
    assert [c.id for c in chunks] == ["doc:faq#s0-p0", "doc:faq#s1-p0"]


# Size ----------------------------------------------------------------------------------------
def words(n: int, prefix: str = "w") -> str:
    return " ".join(f"{prefix}{i}" for i in range(n))


def test_short_text_is_one_piece() -> None:
    text = words(50)
    assert split_by_size(text, 220, 40) == [text]


def test_long_text_splits_on_paragraphs_with_overlap() -> None:
    paragraphs = [words(100, f"p{k}_") for k in range(5)]
    pieces = split_by_size("\n".join(paragraphs), max_words=220, overlap=40)
    assert len(pieces) >= 3
    assert all(len(p.split()) <= 220 + 40 for p in pieces)
    # Every word survives and each piece after the first starts with the previous tail.
    joined = set(" ".join(pieces).split())
    assert joined == set(" ".join(paragraphs).split())
    for prev, nxt in pairwise(pieces):
        assert nxt.split()[:40] == prev.split()[-40:]


def test_single_huge_paragraph_is_split_on_words() -> None:
    text = words(1000)
    pieces = split_by_size(text, max_words=220, overlap=40)
    assert all(len(p.split()) <= 220 for p in pieces)
    assert set(" ".join(pieces).split()) == set(text.split())
    assert pieces[1].split()[0] == "w180"


def test_split_pieces_keep_article_head_and_metadata() -> None:
    section_text = "\n".join(words(120, f"p{k}_") for k in range(3))
    sections = split_sections(
        [b("Article 4. Tipus"), *[b(p) for p in section_text.split("\n")]], TITLE
    )
    chunks = sections_to_documents(
        sections, doc_id="doc:r", source="r.pdf", doc_title=TITLE, url="https://x.cat/r.pdf",
        max_words=220, overlap=40, extra_meta={"doc_hash": "h"},
    )  # fmt: skip
    assert len(chunks) >= 2
    for i, chunk in enumerate(chunks):
        assert (chunk.content or "").startswith("Article 4. Tipus\n")
        assert chunk.meta["article"] == "Article 4"
        assert chunk.meta["unit_id"] == "doc:r#s0"
        assert chunk.meta["piece_index"] == i and chunk.meta["pieces"] == len(chunks)
        assert chunk.meta["url"] == "https://x.cat/r.pdf" and chunk.meta["doc_hash"] == "h"
