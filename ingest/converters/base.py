"""What every converter shares: the error type, text normalisation and section -> chunks."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from haystack import Document

from index_config.points import section_unit_id
from ingest.structure import Section, split_by_size

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "´": "'"})


class ConversionError(Exception):
    """A source that cannot be converted; the message says why (for operators, English)."""


@dataclass
class ConvertedDocument:
    """One logical document (a catalogue resource or a file) and its chunks."""

    doc_id: str
    kind: str
    source: str
    source_path: str
    title: str
    content_hash: str
    chunks: list[Document] = field(default_factory=list)


def normalise_text(text: str) -> str:
    """NFKC (PDF ligatures such as 'ﬁ'), straight apostrophes, no soft hyphens or NULs."""
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES)
    text = text.replace("\u00ad", "").replace("\x00", "")
    return re.sub(r"[ \t\u00a0]+", " ", text)


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def doc_id_for(path: Path) -> str:
    return f"doc:{path.stem}"


def sections_to_documents(
    sections: list[Section],
    *,
    doc_id: str,
    source: str,
    doc_title: str,
    url: str | None,
    max_words: int,
    overlap: int,
    extra_meta: dict[str, Any] | None = None,
) -> list[Document]:
    """One chunk per section, long sections split further; every piece keeps the article
    number and title both in its metadata and at the head of its text."""
    chunks: list[Document] = []
    for s_index, section in enumerate(sections):
        is_faq = section.article is None and section.title.rstrip().endswith("?")
        kind = "faq" if is_faq else "normativa"
        article = section.title if is_faq else section.article
        pieces = split_by_size(section.text, max_words, overlap) if section.text else [""]
        for p_index, piece in enumerate(pieces):
            content = f"{section.title}\n{piece}".strip()
            meta: dict[str, Any] = {
                "doc_id": doc_id,
                # The unit a result list shows once: one article, provision or FAQ entry.
                "unit_id": section_unit_id(doc_id, s_index),
                "kind": kind,
                "source": source,
                "title": section.title,
                "doc_title": doc_title,
                "article": article,
                "headings": section.headings,
                # The chapter an article sits in names its topic ("Capítol IX. Revocació
                # i reintegrament"): the dense embedder reads it ahead of the title
                # (index_config/embedders.py). Not the document title: on every article
                # it made the regulations look alike (bench/README.md).
                "chapter": " > ".join(section.headings[1:]),
                "url": url,
                "section_index": s_index,
                "piece_index": p_index,
                "pieces": len(pieces),
                **(extra_meta or {}),
            }
            chunk_id = f"{doc_id}#s{s_index}-p{p_index}"
            chunks.append(Document(id=chunk_id, content=content, meta=meta))
    return chunks
