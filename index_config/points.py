"""How a chunk (a Haystack Document) is laid out as a Qdrant point, the same in every engine.

Qdrant point ids must be integers or UUIDs, and our chunk ids are strings such as
"recurs:22133#0", so a point's id is a UUID5 of the chunk id and the chunk id stays in the
payload. The payload keeps the layout of earlier versions: {"id", "content", "meta": {...}},
so payload paths read "meta.kind", "meta.termini_fi_num"...
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

from haystack import Document
from haystack.dataclasses import SparseEmbedding

DENSE = "dense"
SPARSE = "sparse"
# A fixed namespace: the same chunk gets the same point id in every version and engine.
POINT_NAMESPACE = uuid.UUID("8f0b6a52-3c1e-5d2a-9a47-6c0b2e1f9d10")

PayloadType = Literal["keyword", "integer"]
# Every payload field a filter or a look-up uses, indexed so that filters stay fast on a
# large catalogue (the obert_a filter is a range over the two integer window dates).
PAYLOAD_INDEXES: tuple[tuple[str, PayloadType], ...] = (
    ("meta.doc_id", "keyword"),
    ("meta.kind", "keyword"),
    ("meta.codi", "keyword"),
    ("meta.tipologia", "keyword"),
    ("meta.classe", "keyword"),
    ("meta.area", "keyword"),
    ("meta.destinataris", "keyword"),
    ("meta.any", "integer"),
    # A catalogue resource's link host: the default link allowlist is counted from this
    # index (assistant/links.py) instead of reading every resource.
    ("meta.url_host", "keyword"),
    ("meta.termini_inici_num", "integer"),
    ("meta.termini_fi_num", "integer"),
)


def point_id(chunk_id: str) -> str:
    """The point id of a chunk: a UUID5 of its id (a string, as both engines accept)."""
    return str(uuid.uuid5(POINT_NAMESPACE, chunk_id))


@dataclass
class ChunkPoint:
    """One point as both engines store it; vectors may be absent when only read back."""

    id: str
    payload: dict[str, Any]
    dense: list[float] | None = None
    sparse: SparseEmbedding | None = None

    @classmethod
    def from_document(cls, doc: Document) -> ChunkPoint:
        return cls(
            id=point_id(doc.id),
            payload={"id": doc.id, "content": doc.content, "meta": doc.meta},
            dense=list(doc.embedding) if doc.embedding is not None else None,
            sparse=doc.sparse_embedding,
        )

    @property
    def chunk_id(self) -> str:
        return str(self.payload.get("id", self.id))

    def to_document(self, score: float | None = None) -> Document:
        return Document(
            id=self.chunk_id,
            content=self.payload.get("content"),
            meta=dict(self.payload.get("meta") or {}),
            score=score,
            embedding=self.dense,
            sparse_embedding=self.sparse,
        )


@dataclass
class ScoredChunk:
    """A search result before its full payload is read: id, score and what was asked for."""

    id: str
    score: float
    payload: dict[str, Any]

    @property
    def chunk_id(self) -> str:
        return str(self.payload.get("id", self.id))

    @property
    def unit_id(self) -> str:
        meta = self.payload.get("meta") or {}
        return str(meta.get("unit_id") or self.chunk_id)


def ranked(results: list[ScoredChunk]) -> list[ScoredChunk]:
    """Best first, equal scores by chunk id: engines break ties in their own order, and
    the same query must give the same list in every engine."""
    return sorted(results, key=lambda r: (-r.score, r.chunk_id))


def section_unit_id(doc_id: str, section_index: int) -> str:
    """The unit id of one article, provision or FAQ entry of a document (a catalogue
    resource is its own unit: its unit id is its doc id)."""
    return f"{doc_id}#s{section_index}"


def unit_document(unit_id: str) -> str:
    """The doc id a unit belongs to (the inverse of section_unit_id)."""
    return unit_id.split("#s", 1)[0]
