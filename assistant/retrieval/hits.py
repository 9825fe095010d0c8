"""Turn retrieved chunks into Hits: public metadata and a query-focused snippet."""

from __future__ import annotations

import re
from typing import Any

from haystack import Document

from assistant.models import Hit
from index_config.analyzer import CatalanAnalyzer

_INTERNAL = {"doc_hash", "source_path", "unit_id", "section_index", "piece_index", "pieces",
             "termini_inici_num", "termini_fi_num", "_dense_score", "_sparse_score",
             "doc_id", "kind", "source", "title", "article", "url", "codi"}  # fmt: skip
_SENTENCE = re.compile(r"(?<=[.!?:;])\s+|\n+")


def snippet_for(
    text: str, query_terms: set[str], analyzer: CatalanAnalyzer, limit: int = 320
) -> str:
    """The passage of `text` that shares most terms with the query, about `limit` chars."""
    sentences = [s.strip() for s in _SENTENCE.split(text) if s.strip()]
    if not sentences:
        return ""
    best, best_score = 0, -1.0
    for i, sentence in enumerate(sentences):
        terms = set(analyzer.term_weights(sentence))
        score = len(terms & query_terms) + (0.01 if i == 0 else 0.0)
        if score > best_score:
            best, best_score = i, score
    out = sentences[best]
    j = best + 1
    while len(out) < limit * 0.6 and j < len(sentences):
        out = f"{out} {sentences[j]}"
        j += 1
    if len(out) > limit:
        cut = out[:limit].rsplit(" ", 1)[0]
        out = cut + "…"
    return out


def to_hit(doc: Document, query_terms: set[str], analyzer: CatalanAnalyzer) -> Hit:
    meta = doc.meta
    kind = meta.get("kind", "normativa")
    body = doc.content or ""
    title = str(meta.get("title") or "")
    if kind == "recurs":
        text = str(meta.get("descripcio") or body)
    else:
        # Chunks start with their title line; the snippet is the text under it.
        text = body[len(title) :].strip() if body.startswith(title) else body
    public: dict[str, Any] = {k: v for k, v in meta.items() if k not in _INTERNAL}
    if kind != "recurs":
        public["text"] = text  # the whole article or answer, for staff and the composer
    public["dense_score"] = round(float(meta.get("_dense_score", 0.0)), 4)
    public["sparse_score"] = round(float(meta.get("_sparse_score", 0.0)), 4)
    return Hit(
        id=doc.id,
        doc_id=str(meta.get("doc_id", doc.id)),
        kind=kind,
        title=title,
        snippet=snippet_for(text, query_terms, analyzer),
        score=round(float(doc.score or 0.0), 6),
        url=meta.get("url"),
        source=str(meta.get("source", "")),
        codi=meta.get("codi"),
        article=meta.get("article"),
        metadata=public,
    )
