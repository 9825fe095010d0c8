"""DocumentIndex: what a version holds, document by document: hash, source, chunks, units.

An ingest compares its sources with it, a reused version is brought up to date with it,
and readers map search results to chunk and unit ids with it, all without reading the
payloads of every chunk (12 s at 100,000 chunks). It is saved with the version and each
ingest updates it from the changes it makes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from haystack import Document

from index_config.chunk_store import ChunkStore
from index_config.points import point_id

FORMAT = "concerta-documents-1"


@dataclass
class IndexedDocument:
    doc_hash: str
    source_path: str
    chunks: list[tuple[str, str]] = field(default_factory=list)  # (chunk id, unit id)

    @property
    def chunk_ids(self) -> list[str]:
        return [chunk for chunk, _ in self.chunks]


class DocumentIndex:
    def __init__(self, documents: dict[str, IndexedDocument] | None = None) -> None:
        self.documents: dict[str, IndexedDocument] = documents or {}

    @classmethod
    def from_store(cls, store: ChunkStore) -> DocumentIndex:
        """Read back from the payloads (a server's versions, or a folder without one)."""
        index = cls()
        fields = ["meta.doc_id", "meta.doc_hash", "meta.source_path", "meta.unit_id"]
        for payload in store.scan(fields):
            meta = payload.get("meta") or {}
            chunk = str(payload["id"])
            doc = index.documents.setdefault(
                str(meta.get("doc_id", "")),
                IndexedDocument(str(meta.get("doc_hash", "")), str(meta.get("source_path", ""))),
            )
            doc.chunks.append((chunk, str(meta.get("unit_id") or chunk)))
        return index

    def get(self, doc_id: str) -> IndexedDocument | None:
        return self.documents.get(doc_id)

    def items(self) -> Iterable[tuple[str, IndexedDocument]]:
        return self.documents.items()

    def __len__(self) -> int:
        return len(self.documents)

    # Updates (what an ingest changed) ----------------------------------------------------
    def copy(self) -> DocumentIndex:
        return DocumentIndex(
            {
                doc_id: IndexedDocument(d.doc_hash, d.source_path, list(d.chunks))
                for doc_id, d in self.documents.items()
            }
        )

    def remove(self, doc_ids: Iterable[str]) -> None:
        for doc_id in doc_ids:
            self.documents.pop(doc_id, None)

    def add_chunks(self, chunks: Iterable[Document]) -> None:
        """Chunks just written (each document's chunks all written in the same run)."""
        for chunk in chunks:
            meta = chunk.meta
            doc = self.documents.setdefault(
                str(meta.get("doc_id", "")),
                IndexedDocument(str(meta.get("doc_hash", "")), str(meta.get("source_path", ""))),
            )
            doc.chunks.append((chunk.id, str(meta.get("unit_id") or chunk.id)))

    # Views ----------------------------------------------------------------------------
    def chunk_count(self) -> int:
        return sum(len(d.chunks) for d in self.documents.values())

    def chunk_hashes(self) -> dict[str, str]:
        """chunk id -> document hash (equal hashes: equal chunks, see catch_up.py)."""
        return {chunk: d.doc_hash for d in self.documents.values() for chunk, _ in d.chunks}

    def units(self) -> dict[str, tuple[str, str]]:
        """point id -> (chunk id, unit id), for readers."""
        return {
            point_id(chunk): (chunk, unit)
            for d in self.documents.values()
            for chunk, unit in d.chunks
        }

    # Storage --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "documents": {
                doc_id: [d.doc_hash, d.source_path, [list(c) for c in d.chunks]]
                for doc_id, d in self.documents.items()
            },
        }

    @classmethod
    def from_dict(cls, data: Any) -> DocumentIndex:
        """Raises ValueError when `data` is not what to_dict wrote."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("not a document index")
        raw = data.get("documents")
        if not isinstance(raw, dict):
            raise ValueError("malformed document index")
        documents = {}
        try:
            for doc_id, (doc_hash, source_path, chunks) in raw.items():
                documents[str(doc_id)] = IndexedDocument(
                    str(doc_hash), str(source_path), [(str(c), str(u)) for c, u in chunks]
                )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"malformed document index: {exc}") from exc
        return cls(documents)

    def save(self, path: Path) -> None:
        path.write_text(
            json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":")), "utf-8"
        )

    @classmethod
    def load(cls, path: Path) -> DocumentIndex:
        with open(path, encoding="utf-8") as fh:
            return cls.from_dict(json.load(fh))
