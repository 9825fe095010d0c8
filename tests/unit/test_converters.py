"""Converters on the real sample corpus and on small generated files: what gets indexed."""

from __future__ import annotations

import json
import random
import re
from functools import cache
from pathlib import Path

import pytest
from haystack import Document

from ingest.converters.base import ConversionError
from ingest.converters.catalogue import CatalogueRecordConverter
from ingest.converters.docx import DocxConverter
from ingest.converters.html import HtmlConverter
from ingest.converters.markdown import MarkdownConverter, TextConverter
from ingest.converters.pdf import PdfConverter
from ingest.sources import SourceItem, convert_item, resolve
from tests.conftest import SAMPLE_DIR

NORMATIVA = SAMPLE_DIR / "normativa"
CATALOGUE = SAMPLE_DIR / "cataleg" / "cataleg-2022.jsonl"
MINI = Path(__file__).resolve().parents[1] / "data" / "mini"
ARTICLE_LABEL = re.compile(r"^(Article \d+|Disposició \w+ \w+)$")


@cache
def chunks_of(path: Path) -> tuple[Document, ...]:
    """The chunks `concerta ingest` would write for one file (default chunking)."""
    item = SourceItem(str(path), path.name, path.suffix.lower())
    docs, failures = convert_item(item, max_words=220, overlap=40, fingerprint="test")
    assert failures == []
    return tuple(chunk for doc in docs for chunk in doc.chunks)


def article_numbers(chunks: tuple[Document, ...]) -> list[int]:
    labels = [c.meta["article"] for c in chunks if (c.meta["article"] or "").startswith("Article")]
    return [int(label.split()[1]) for label in dict.fromkeys(labels)]


# Catalogue ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def catalogue() -> list[Document]:
    pairs, errors = CatalogueRecordConverter().convert(CATALOGUE.read_bytes(), CATALOGUE.name)
    assert errors == []
    return [doc for doc, _ in pairs]


def test_catalogue_gives_one_document_per_resource(catalogue: list[Document]) -> None:
    raw = [json.loads(line) for line in CATALOGUE.read_text("utf-8").splitlines() if line.strip()]
    assert len(catalogue) == len(raw) == 144
    assert [d.meta["codi"] for d in catalogue] == [r["codi"] for r in raw]
    assert len({d.id for d in catalogue}) == 144
    assert {d.meta["kind"] for d in catalogue} == {"recurs"}


def test_catalogue_metadata_keeps_the_fields_filters_and_answers_need(
    catalogue: list[Document],
) -> None:
    required = {
        "codi", "nom", "area", "unitat_prestadora", "tipologia", "classe", "destinataris",
        "tram_poblacio", "termini", "termini_inici", "termini_fi", "import", "url", "any",
        "doc_id", "unit_id", "source", "title", "descripcio", "telefon", "email",
    }  # fmt: skip
    for doc in catalogue:
        assert required <= set(doc.meta), doc.id
        assert doc.meta["doc_id"] == f"recurs:{doc.meta['codi']}"
        assert doc.meta["source"] == "cataleg-2022.jsonl"
        assert doc.meta["url"] == f"https://cataleg.exemple.cat/recurs/{doc.meta['codi']}"
        assert doc.meta["tipologia"] in {"tècnic", "econòmic", "material"}
        assert isinstance(doc.meta["destinataris"], list) and doc.meta["destinataris"]


def test_catalogue_record_fields_round_trip(catalogue: list[Document]) -> None:
    raw = json.loads(CATALOGUE.read_text("utf-8").splitlines()[0])
    meta = catalogue[0].meta
    for key in ("codi", "nom", "area", "unitat_prestadora", "tipologia", "classe", "destinataris"):
        assert meta[key] == raw[key]
    assert meta["tram_poblacio"] == raw["tram_poblacio"]
    assert meta["import"] == raw["import"]
    assert meta["termini_inici"] == raw["termini_sollicitud"]["inici"]
    assert meta["termini_fi"] == raw["termini_sollicitud"]["fi"]
    assert meta["telefon"] == raw["contacte"]["telefon"]


def test_catalogue_windows(catalogue: list[Document]) -> None:
    by_codi = {d.meta["codi"]: d.meta for d in catalogue}
    raw = {
        r["codi"]: r
        for r in (json.loads(line) for line in CATALOGUE.read_text("utf-8").splitlines())
    }
    for codi, meta in by_codi.items():
        record = raw[codi]
        if record["termini_sollicitud"]:
            assert meta["termini_inici_num"] == int(
                record["termini_sollicitud"]["inici"].replace("-", "")
            )
        elif record["sollicitud_tot_l_any"]:
            # Requested all year: open during the whole catalogue year.
            assert (meta["termini_inici"], meta["termini_fi"]) == ("2022-01-01", "2022-12-31")
        elif record["classe"] == "Fons de prestació":
            assert meta["termini_inici"] is None and meta["termini_fi"] is None
            assert "No cal presentar sol·licitud" in meta["termini"]


def test_catalogue_text_starts_with_the_name_and_carries_the_code(
    catalogue: list[Document],
) -> None:
    for doc in catalogue:
        content = doc.content or ""
        assert content.startswith(doc.meta["nom"])
        assert doc.meta["codi"] in content
        assert "’" not in content  # apostrophes normalised for the analyzer


def test_catalogue_bad_lines_are_reported_and_good_ones_kept() -> None:
    good = (MINI / "cataleg-mini.jsonl").read_text("utf-8").splitlines()
    broken = json.loads(good[1])
    broken["tipologia"] = "desconeguda"
    lines = [good[0], "{not json", json.dumps(broken, ensure_ascii=False), "[1, 2]", good[2]]
    pairs, errors = CatalogueRecordConverter().convert("\n".join(lines).encode(), "x.jsonl")
    assert [doc.meta["codi"] for doc, _ in pairs] == ["22101", "22426"]
    assert [e.line for e in errors] == [2, 3, 4]
    assert "invalid JSON" in str(errors[0])
    assert "tipologia" in str(errors[1])
    assert "not a JSON object" in str(errors[2])


def test_catalogue_duplicate_codi_is_an_error() -> None:
    line = (MINI / "cataleg-mini.jsonl").read_text("utf-8").splitlines()[0]
    pairs, errors = CatalogueRecordConverter().convert(f"{line}\n{line}\n".encode(), "x.jsonl")
    assert len(pairs) == 1
    assert [e.line for e in errors] == [2] and "duplicate codi" in str(errors[0])


def test_catalogue_record_hash_ignores_key_order() -> None:
    line = (MINI / "cataleg-mini.jsonl").read_text("utf-8").splitlines()[0]
    record = json.loads(line)
    reordered = json.dumps(dict(reversed(list(record.items()))), ensure_ascii=False)
    (_, first), *_ = CatalogueRecordConverter().convert(line.encode(), "x.jsonl")[0]
    (_, second), *_ = CatalogueRecordConverter().convert(reordered.encode(), "x.jsonl")[0]
    assert first == second


def test_catalogue_window_wording_elides_before_one(catalogue: list[Document]) -> None:
    meta = next(d.meta for d in catalogue if d.meta["codi"] == "22101")
    assert meta["termini"] == "De l'1 de febrer de 2022 al 31 de març de 2022"


# PDF: the Catàleg's regulation ----------------------------------------------------------------
REGIM = NORMATIVA / "regim-regulador-cataleg-2022.pdf"


def test_regim_pdf_has_articles_1_to_34_in_order_with_titles() -> None:
    chunks = chunks_of(REGIM)
    assert article_numbers(chunks) == list(range(1, 35))
    titles = {c.meta["article"]: c.meta["title"] for c in chunks}
    assert titles["Article 1"] == "Article 1. Objecte i àmbit d'aplicació"
    assert titles["Article 12"] == "Article 12. Esmena de defectes"
    assert titles["Article 24"] == "Article 24. Òrgan competent i forma de presentació"
    assert titles["Article 34"] == "Article 34. Protecció de dades de caràcter personal"
    for label, title in titles.items():
        if label and label.startswith("Article"):
            assert re.fullmatch(rf"{label}\. \S.+", title), title


def test_regim_pdf_keeps_the_final_provisions() -> None:
    articles = {c.meta["article"] for c in chunks_of(REGIM)}
    assert {
        "Disposició addicional única",
        "Disposició final primera",
        "Disposició final segona",
    } <= articles


def test_regim_pdf_chunks_all_carry_their_article_label() -> None:
    chunks = chunks_of(REGIM)
    # Only the preamble, before Article 1, has no label.
    unlabelled = [c for c in chunks if not c.meta["article"]]
    assert {c.meta["section_index"] for c in unlabelled} == {0}
    for chunk in chunks:
        content = chunk.content or ""
        if chunk.meta["article"]:
            assert ARTICLE_LABEL.match(chunk.meta["article"])
            assert content.startswith(chunk.meta["title"] + "\n")
        assert not re.search(r"^Article \d+\.", content.split("\n", 1)[1], re.MULTILINE), (
            f"{chunk.id} swallowed the next article"
        )
        assert chunk.meta["unit_id"] == f"{chunk.meta['doc_id']}#s{chunk.meta['section_index']}"


def test_regim_pdf_long_articles_are_split_and_keep_their_head() -> None:
    chunks = chunks_of(REGIM)
    pieces = [c for c in chunks if c.meta["article"] == "Article 28"]
    assert len(pieces) >= 2
    for piece in pieces:
        assert (piece.content or "").startswith(
            "Article 28. Despeses elegibles i tractament de l'IVA"
        )
        assert piece.meta["pieces"] == len(pieces)
        assert len((piece.content or "").split()) <= 220 + 20
    assert [p.meta["piece_index"] for p in pieces] == list(range(len(pieces)))


def test_regim_pdf_text_is_normalised() -> None:
    text = "\n".join(c.content or "" for c in chunks_of(REGIM))
    assert "ﬁ" not in text and "ﬂ" not in text
    assert "justificació" in text and "fitxa" in text
    assert "’" not in text and "d'aplicació" in text
    assert "\u00ad" not in text
    # Real hyphens at line ends are kept, not glued into one word.
    assert "secretari-interventor" in text or "secretària-interventor" in text
    assert "2020-2023" in text


def test_regim_pdf_headings_record_the_chapter() -> None:
    by_article = {c.meta["article"]: c.meta["headings"] for c in chunks_of(REGIM)}
    assert by_article["Article 1"][-1] == "Capítol I. Disposicions generals"
    assert by_article["Article 24"][-1] == "Capítol VII. Justificació"
    assert by_article["Article 24"][0] == "Règim regulador del Catàleg de serveis 2022"
    chapters = {c.meta["article"]: c.meta["chapter"] for c in chunks_of(REGIM)}
    # The chapter, not the document title, is what the dense model reads ahead.
    assert chapters["Article 24"] == "Capítol VII. Justificació"


def test_running_headers_and_page_numbers_are_removed() -> None:
    _, blocks = PdfConverter().blocks(REGIM.read_bytes())
    texts = [b.text for b in blocks]
    assert not any(re.fullmatch(r"(Pàgina )?\d+( de \d+)?", t) for t in texts)


# PDF: the Protocol general ---------------------------------------------------------------------
PROTOCOL = NORMATIVA / "protocol-general-xgl-2020-2023.pdf"


def test_protocol_pdf_articles_and_provisions() -> None:
    chunks = chunks_of(PROTOCOL)
    assert article_numbers(chunks) == list(range(1, 21))
    titles = {c.meta["article"]: c.meta["title"] for c in chunks}
    assert titles["Article 10"] == "Article 10. Programa general d'inversions"
    assert titles["Article 11"] == "Article 11. Catàleg de serveis"
    assert {"Disposició addicional primera", "Disposició final segona"} <= set(titles)
    text = "\n".join(c.content or "" for c in chunks)
    assert "ﬁ" not in text and "confiança" in text


def test_protocol_pdf_headings_that_wrap_are_joined() -> None:
    chunks = chunks_of(PROTOCOL)
    titles = {c.meta["article"]: c.meta["title"] for c in chunks}
    assert titles["Disposició addicional primera"] == (
        "Disposició addicional primera. Actuacions pendents de les Meses de concertació"
    )
    preamble = next(c for c in chunks if c.meta["section_index"] == 0)
    assert preamble.meta["title"] != "Protocol general del Pla de concertació Xarxa de"
    assert not (preamble.content or "").split("\n", 1)[1].startswith("Governs Locals 2020-2023")


# DOCX ------------------------------------------------------------------------------------------
PGI = NORMATIVA / "regim-regulador-pgi-2020-2023.docx"


def test_docx_articles_1_to_18_in_order() -> None:
    chunks = chunks_of(PGI)
    assert article_numbers(chunks) == list(range(1, 19))
    titles = {c.meta["article"]: c.meta["title"] for c in chunks}
    assert titles["Article 14"] == "Article 14. Justificació"
    assert "Disposició final única" in titles
    assert (
        chunks[0].meta["doc_title"] == "Règim regulador del Programa general d'inversions 2020-2023"
    )
    assert {c.meta["kind"] for c in chunks} == {"normativa"}
    for chunk in chunks:
        if chunk.meta["article"]:
            assert (chunk.content or "").startswith(chunk.meta["title"])


def test_docx_long_article_is_split_with_its_head() -> None:
    pieces = [c for c in chunks_of(PGI) if c.meta["article"] == "Article 5"]
    assert len(pieces) >= 2
    assert all((p.content or "").startswith("Article 5. Criteris de distribució") for p in pieces)


# HTML FAQ --------------------------------------------------------------------------------------
FAQ = NORMATIVA / "preguntes-frequents.html"
BOILERPLATE = ("galetes", "Avís legal", "Cerca al portal", "Accepto", "Tots els drets reservats",
               "Enllaços relacionats", "Menú principal")  # fmt: skip


def test_html_faq_gives_one_chunk_per_question() -> None:
    chunks = chunks_of(FAQ)
    questions = re.findall(r"<h3[^>]*>(.*?)</h3>", FAQ.read_text("utf-8"), re.DOTALL)
    faq = [c for c in chunks if c.meta["kind"] == "faq"]
    assert len(questions) == 28
    assert len(faq) == len(questions)
    expected = [" ".join(q.replace("’", "'").split()) for q in questions]
    assert [c.meta["article"] for c in faq] == expected
    for chunk in faq:
        assert chunk.meta["title"] == chunk.meta["article"]
        assert chunk.meta["article"].endswith("?")
        assert (chunk.content or "").startswith(chunk.meta["article"] + "\n")
        assert len((chunk.content or "").split()) > 20  # the answer is there
    assert len({c.meta["unit_id"] for c in faq}) == 28


def test_html_faq_has_no_page_furniture() -> None:
    for chunk in chunks_of(FAQ):
        for text in (chunk.content or "", chunk.meta["title"], chunk.meta["doc_title"]):
            for word in BOILERPLATE:
                assert word.lower() not in text.lower(), (chunk.id, word)


def test_html_faq_signing_question_answer() -> None:
    chunk = next(
        c for c in chunks_of(FAQ) if "signa les justificacions" in (c.meta["article"] or "")
    )
    assert "interventor" in (chunk.content or "")


def test_html_small_page_main_content_only() -> None:
    title, blocks = HtmlConverter().blocks((MINI / "faq-mini.html").read_bytes())
    assert title == "Preguntes freqüents del Pla XGL"
    texts = " ".join(b.text for b in blocks)
    for word in ("galetes", "Avís legal", "Cerca al portal", "Inici"):
        assert word not in texts
    assert "- Cal identificar-se amb certificat digital." in [b.text for b in blocks]
    assert [b.text for b in blocks if b.level == 3] == [
        "Qui signa les justificacions?",
        "On es consulta l'estat d'un expedient?",
    ]


def test_html_without_main_uses_the_body_and_windows_1252() -> None:
    page = "<html><body><nav>Menú</nav><h1>Títol</h1><p>Plaça major</p></body></html>"
    title, blocks = HtmlConverter().blocks(page.encode("cp1252"))
    assert title == "Títol"
    assert [b.text for b in blocks] == ["Títol", "Plaça major"]


# Markdown and text -----------------------------------------------------------------------------
def test_markdown_headings_and_articles() -> None:
    chunks = chunks_of(MINI / "guia-justificacio.md")
    assert [c.meta["title"] for c in chunks] == [
        "Guia breu de justificació dels recursos",
        "Article 1. Qui signa la justificació",
        "Article 2. Termini",
        "Preguntes habituals",
    ]
    assert [c.meta["article"] for c in chunks] == [None, "Article 1", "Article 2", None]
    assert chunks[0].meta["doc_id"] == "doc:guia-justificacio"
    assert "C4-005" in (chunks[2].content or "")


def test_markdown_blocks_levels() -> None:
    title, blocks = MarkdownConverter().blocks(b"# Titol\n\nText **fort**.\n\n## Sub\n\n- item\n")
    assert title == "Titol"
    assert [(b.text, b.level) for b in blocks] == [
        ("Titol", 1),
        ("Text **fort**.", 0),
        ("Sub", 2),
        ("item", 0),
    ]


def test_text_file_paragraphs() -> None:
    title, blocks = TextConverter().blocks((MINI / "nota-informativa.txt").read_bytes())
    assert title == "Nota informativa sobre l'Oficina del Pla XGL"
    assert len(blocks) == 3
    assert blocks[1].text.startswith("L'Oficina del Pla XGL atén")
    assert "\n" not in blocks[1].text  # hard-wrapped lines joined


def test_text_file_title_is_not_repeated_in_its_chunk() -> None:
    (chunk,) = chunks_of(MINI / "nota-informativa.txt")
    assert (chunk.content or "").count("Nota informativa sobre l'Oficina del Pla XGL") == 1


def test_windows_1252_text_is_decoded() -> None:
    _, blocks = TextConverter().blocks("Reurbanització de la plaça\n".encode("cp1252"))
    assert blocks[0].text == "Reurbanització de la plaça"


# Files that cannot be converted ----------------------------------------------------------------
JUNK = random.Random(7).randbytes(4096)


@pytest.mark.parametrize(
    ("converter", "data", "reason"),
    [
        (PdfConverter(), JUNK, "not a readable PDF"),
        (PdfConverter(), b"%PDF-1.7\n" + JUNK, "PDF"),
        (DocxConverter(), JUNK, "not a readable DOCX"),
        (DocxConverter(), b"PK\x03\x04" + JUNK[:200], "not a readable DOCX"),
        (TextConverter(), JUNK, "binary data"),
        (TextConverter(), b"\x81\x8d\x8f\x90\x9d" * 20, "encoding"),
        (MarkdownConverter(), "Títol\n".encode("utf-16"), "binary data"),
        (HtmlConverter(), b"<html><body><nav>Menu</nav></body></html>", "no main text"),
    ],
)
def test_unreadable_files_raise_conversion_error(
    converter: object, data: bytes, reason: str
) -> None:
    with pytest.raises(ConversionError, match=reason):
        converter.blocks(data)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("buit.md", b"", "empty file"),
        ("blanc.txt", b"  \n\n ", "empty file"),
        ("dades.xyz", b"alguna cosa", "unsupported file type '.xyz'"),
        ("sense-extensio", b"alguna cosa", "unsupported file type"),
    ],
)
def test_convert_item_names_the_reason(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ConversionError, match=re.escape(reason)):
        convert_item(SourceItem(str(path), name, path.suffix.lower()), 220, 40, "fp")


def test_catalogue_bad_lines_become_per_line_failures(tmp_path: Path) -> None:
    good = (MINI / "cataleg-mini.jsonl").read_text("utf-8")
    path = tmp_path / "cataleg.jsonl"
    path.write_text(good + '{"codi": "1"}\n', "utf-8")
    docs, failures = convert_item(SourceItem(str(path), path.name, ".jsonl"), 220, 40, "fp")
    assert len(docs) == 3
    assert [(f.source, f.whole_file) for f in failures] == [("cataleg.jsonl:4", False)]
    assert "codi" in failures[0].reason


def test_resolve_walks_folders_and_skips_schema_and_hidden_files(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    for name in ("a.md", "sub/b.txt", "SCHEMA.md", "README.md", ".hidden.md", "c.md~"):
        (tmp_path / name).write_text("# x\n\ntext\n", "utf-8")
    scopes, items, failures = resolve([str(tmp_path), str(tmp_path / "missing.pdf")])
    assert [i.name for i in items] == ["a.md", "b.txt"]
    assert scopes == [str(tmp_path.resolve()), str((tmp_path / "missing.pdf").resolve())]
    assert [(f.source, f.reason) for f in failures] == [
        (str(tmp_path / "missing.pdf"), "no such file or directory")
    ]


def test_the_same_bytes_give_the_same_document_hash(tmp_path: Path) -> None:
    source = MINI / "guia-justificacio.md"
    copy = tmp_path / source.name
    copy.write_bytes(source.read_bytes())
    first = convert_item(SourceItem(str(source), source.name, ".md"), 220, 40, "fp")[0][0]
    second = convert_item(SourceItem(str(copy), copy.name, ".md"), 220, 40, "fp")[0][0]
    other_fp = convert_item(SourceItem(str(copy), copy.name, ".md"), 220, 40, "fp2")[0][0]
    assert first.content_hash == second.content_hash != other_fp.content_hash
    assert first.doc_id == second.doc_id == "doc:guia-justificacio"


def test_documents_indexed_unchanged_are_recognised_not_converted_again(tmp_path: Path) -> None:
    catalogue = tmp_path / "cataleg.jsonl"
    catalogue.write_text((MINI / "cataleg-mini.jsonl").read_text("utf-8"), "utf-8")
    guide = MINI / "guia-justificacio.md"
    items = [
        SourceItem(str(catalogue), catalogue.name, ".jsonl"),
        SourceItem(str(guide), guide.name, ".md"),
    ]
    first = [d for item in items for d in convert_item(item, 220, 40, "fp")[0]]
    indexed = {(d.doc_id, d.content_hash) for d in first}
    # One record changes; a line repeating a record is still a duplicate.
    lines = catalogue.read_text("utf-8").splitlines()
    changed = lines[1].replace("xarxes wifi", "xarxes sense fil")
    assert changed != lines[1]
    catalogue.write_text("\n".join([lines[0], changed, lines[2], lines[0]]) + "\n", "utf-8")
    again, failures = convert_item(items[0], 220, 40, "fp", indexed)
    by_id = {d.doc_id: d for d in again}
    assert by_id["recurs:22101"].chunks == [] and by_id["recurs:22426"].chunks == []
    assert (by_id["recurs:22101"].doc_id, by_id["recurs:22101"].content_hash) in indexed
    assert len(by_id["recurs:22133"].chunks) == 1
    assert "xarxes sense fil" in str(by_id["recurs:22133"].chunks[0].content)
    assert [f.reason for f in failures] == ["duplicate codi 22101"]
    (doc,), _ = convert_item(items[1], 220, 40, "fp", indexed)
    assert doc.chunks == [] and (doc.doc_id, doc.content_hash) in indexed
    # Another pipeline fingerprint: every document is converted again.
    docs, _ = convert_item(items[1], 220, 40, "fp2", indexed)
    assert docs[0].chunks
