"""Split regulatory text by its structure: chapters, articles, provisions; then by size.

Converters turn every format into a list of Blocks (a heading or a paragraph); this module
knows how Catalan regulations are organised, so the same splitting serves PDF, DOCX, HTML
and Markdown. Headings are often only bold lines in real PDFs, so we recognise them by
their wording ("Article 12. Esmena de defectes"), not by style alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

ARTICLE_RE = re.compile(r"^(Article\s+\d+(?:\s*(?:bis|ter))?)\s*[.:\-–]?\s*(.*)$", re.IGNORECASE)
PROVISION_RE = re.compile(
    r"^(Disposició\s+(?:addicional|transitòria|derogatòria|final)"
    r"(?:\s+(?:única|primera|segona|tercera|quarta|cinquena))?)\s*[.:\-–]?\s*(.*)$",
    re.IGNORECASE,
)
CHAPTER_RE = re.compile(
    r"^((?:Capítol|Títol|Secció)\s+[IVXLC\d]+|Disposicions\s+\w+|Annex(?:\s+[IVXLC\d]+)?)"
    r"\s*[.:\-–]?\s*(.*)$",
    re.IGNORECASE,
)


@dataclass
class Block:
    """A heading (level >= 1) or a paragraph (level 0) of a converted document."""

    text: str
    level: int = 0


@dataclass
class Section:
    """A unit of meaning: one article, provision, preamble or FAQ entry."""

    title: str
    text: str
    article: str | None = None
    headings: list[str] = field(default_factory=list)


def _classify_heading(text: str) -> tuple[str, str | None, str] | None:
    """('article'|'chapter', label, title) when the text is a structural heading."""
    stripped = text.strip()
    if len(stripped) > 160:
        return None
    for kind, regex in (("article", ARTICLE_RE), ("article", PROVISION_RE)):
        match = regex.match(stripped)
        if match:
            label = re.sub(r"\s+", " ", match.group(1)).strip()
            label = label[0].upper() + label[1:].lower()  # "ARTICLE 3" -> "Article 3"
            if regex is PROVISION_RE and not match.group(2).strip() and len(label.split()) == 2:
                return "chapter", None, stripped  # "Disposició addicional" groups provisions
            return kind, label, match.group(2).strip()
    match = CHAPTER_RE.match(stripped)
    if match:
        return "chapter", None, stripped
    return None


def split_sections(blocks: list[Block], document_title: str) -> list[Section]:
    """Group blocks into sections: one per article/provision, plus unnumbered parts
    (preamble, exposició de motius) under their own heading."""
    sections: list[Section] = []
    chapter: str | None = None
    current: Section | None = None
    body: list[str] = []

    def flush() -> None:
        nonlocal current, body
        if current is not None:
            current.text = "\n".join(b for b in body if b.strip()).strip()
            if current.text or current.article:
                sections.append(current)
        current, body = None, []

    for block in blocks:
        text = block.text.strip()
        if not text:
            continue
        heading = _classify_heading(text) if (block.level or len(text) < 160) else None
        if heading and heading[0] == "article":
            flush()
            _, label, title = heading
            headings = [document_title] + ([chapter] if chapter else [])
            full_title = f"{label}. {title}" if title else str(label)
            current = Section(title=full_title, text="", article=label, headings=headings)
            continue
        if heading and heading[0] == "chapter":
            flush()
            chapter = heading[2]
            continue
        if block.level > 0:
            if text == document_title:
                continue  # the document title itself (often repeated on the first page)
            flush()
            current = Section(title=text, text="", headings=[document_title])
            continue
        if current is None:
            current = Section(title=document_title, text="", headings=[document_title])
        body.append(text)
    flush()
    return sections


def split_by_size(text: str, max_words: int, overlap: int) -> list[str]:
    """Split a long text into pieces of at most max_words, on paragraph then word limits."""
    words_total = len(text.split())
    if words_total <= max_words:
        return [text]
    paragraphs = [p for p in text.split("\n") if p.strip()]
    pieces: list[str] = []
    current: list[str] = []
    count = 0
    for para in paragraphs:
        n = len(para.split())
        if current and count + n > max_words:
            pieces.append("\n".join(current))
            # Carry the tail of the previous piece so a sentence split keeps its context.
            tail = " ".join(" ".join(current).split()[-overlap:]) if overlap else ""
            current, count = ([tail] if tail else []), len(tail.split())
        if n > max_words:
            words = para.split()
            for start in range(0, len(words), max_words - overlap):
                piece = " ".join(words[start : start + max_words])
                pieces.append(piece)
            current, count = [], 0
            continue
        current.append(para)
        count += n
    if current and (not pieces or count > overlap):
        pieces.append("\n".join(current))
    return pieces
