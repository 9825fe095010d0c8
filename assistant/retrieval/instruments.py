"""Instruments: which regulation of the index governs each instrument the plan has.

A question that names an instrument ("un ajut del catàleg", "amb el PGI") is about that
instrument's rules, and the regulations of the plan repeat each other's wording (both the
catalogue's and the PGI's have an article on eligible expenses, on justification, on
payment). So the articles of the named instrument's regulation are nudged up in the
ranking (never filtered: the Protocol general or a FAQ entry may still answer best).

The instruments and the words that name them are domain facts (index_config/lexicon.yaml:
instruments); which indexed document is each one's regulation is read from the version's
own document titles when the version is opened.
"""

from __future__ import annotations

from dataclasses import replace

from haystack import Document

from assistant.ask.lexicon import Lexicon, default_lexicon
from index_config.analyzer import fold
from index_config.chunk_store import ChunkStore
from index_config.points import unit_document


class InstrumentRegulations:
    """instrument -> the doc ids of the regulations that govern it in one version."""

    def __init__(self, documents: dict[str, frozenset[str]] | None = None) -> None:
        self.documents = documents or {}

    @classmethod
    def from_titles(
        cls, titles: dict[str, str], lexicon: Lexicon | None = None
    ) -> InstrumentRegulations:
        """`titles`: doc id -> document title of every regulation (kind normativa)."""
        lex = lexicon or default_lexicon()
        found: dict[str, frozenset[str]] = {}
        for name, (_, regulation) in lex.instruments.items():
            docs = frozenset(d for d, title in titles.items() if regulation in fold(title))
            if docs:
                found[name] = docs
        return cls(found)

    @classmethod
    def from_store(cls, store: ChunkStore) -> InstrumentRegulations:
        kind = {"field": "meta.kind", "operator": "==", "value": "normativa"}
        titles = {
            str(p["meta"]["doc_id"]): str(p["meta"].get("doc_title") or "")
            for p in store.scan(["meta.doc_id", "meta.doc_title"], kind)
            if p.get("meta", {}).get("doc_id")
        }
        return cls.from_titles(titles)

    def regulations_of(self, instruments: tuple[str, ...]) -> frozenset[str]:
        out: set[str] = set()
        for name in instruments:
            out |= self.documents.get(name, frozenset())
        return frozenset(out)

    def nudge(
        self, fused: list[Document], documents: frozenset[str], bonus: float
    ) -> list[Document]:
        """Units of `documents` gain `bonus`; the list is sorted again (stable)."""
        if not documents or bonus <= 0:
            return fused
        scored = []
        for doc in fused:
            unit = str(doc.meta.get("unit_id", doc.id))
            gain = bonus if unit_document(unit) in documents else 0.0
            scored.append(replace(doc, score=(doc.score or 0.0) + gain) if gain else doc)
        return sorted(scored, key=lambda d: -(d.score or 0.0))
