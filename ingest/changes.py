"""What an ingest changes: converted documents compared with the served version.

Counted in documents (one per catalogue resource, one per other file), as the summary line
says; carried out on chunks. A document is unchanged when its hash (source bytes or record,
plus the pipeline fingerprint) equals the indexed one, updated when it differs, deleted
when it vanished from one of the sources given now (documents from other sources, and those
of a source that failed this time, are kept).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from haystack import Document

from index_config.documents_index import DocumentIndex
from ingest.converters.base import ConvertedDocument


@dataclass
class Changes:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    to_write: list[Document] = field(default_factory=list)
    # Documents of the served version that go (updated and deleted ones), and their chunks.
    removed_documents: list[str] = field(default_factory=list)
    to_remove: list[str] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.to_write or self.to_remove)


def in_scope(source_path: str, scopes: list[str]) -> bool:
    return any(source_path == s or source_path.startswith(s.rstrip("/") + "/") for s in scopes)


def plan_changes(
    documents: dict[str, ConvertedDocument],
    indexed: DocumentIndex,
    scopes: list[str],
    protected: set[str],
) -> Changes:
    changes = Changes()
    for doc_id, doc in documents.items():
        old = indexed.get(doc_id)
        if old is None:
            changes.added += 1
        elif old.doc_hash == doc.content_hash:
            changes.unchanged += 1
            continue
        else:
            changes.updated += 1
            changes.removed_documents.append(doc_id)
            changes.to_remove.extend(old.chunk_ids)
        changes.to_write.extend(doc.chunks)
    for doc_id, old in indexed.items():
        if doc_id in documents or not in_scope(old.source_path, scopes):
            continue
        if old.source_path in protected:
            continue
        changes.deleted += 1
        changes.removed_documents.append(doc_id)
        changes.to_remove.extend(old.chunk_ids)
    return changes
