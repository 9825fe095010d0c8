"""Index versions: readers serve the published one, an ingest builds the next beside it.

What every deployment shares: the manifest of a version, what a reader opens and what a
writer works on, and the factory that picks the local (Qdrant Edge folders) or the server
(collections behind an alias) implementation.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from index_config.chunk_store import ChunkStore
from index_config.documents_index import DocumentIndex
from index_config.settings import Settings
from index_config.term_stats import TermStatistics

FORMAT = "concerta-index-2"  # 1 was qdrant-client local mode folders


@dataclass(frozen=True)
class IndexManifest:
    """What a version was built with (a query must be embedded the same way) and holds."""

    model: str
    embedding_dim: int
    fingerprint: str
    created: str
    chunks: int = 0
    format: str = FORMAT

    @classmethod
    def from_dict(cls, data: Any) -> IndexManifest | None:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return None
        try:
            manifest = cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
        except TypeError:
            return None
        ok = isinstance(manifest.embedding_dim, int) and isinstance(manifest.chunks, int)
        return manifest if ok else None

    @classmethod
    def read(cls, path: Path) -> IndexManifest | None:
        try:
            return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def compatible(self, model: str, embedding_dim: int) -> bool:
        return self.model == model and self.embedding_dim == embedding_dim


def new_version_name() -> str:
    # Microseconds: versions published within one second must still sort by age.
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    return f"v{stamp}-{uuid.uuid4().hex[:6]}"


@dataclass
class OpenedVersion:
    """A published version as a reader holds it: its chunks, manifest and term statistics."""

    name: str
    store: ChunkStore
    manifest: IndexManifest
    term_stats: TermStatistics
    count: int
    _release: Callable[[], None] = field(default=lambda: None, repr=False)

    def close(self) -> None:
        try:
            self.store.close()
        finally:
            self._release()


@dataclass
class WorkingVersion:
    """The next version while an ingest writes it; never served until published.

    `how` says what it started from: "recycled" (an older version brought up to date with
    the served one: only the differences were written), "copied" (a copy of the served
    version) or "empty" (a first ingest, or the model changed)."""

    name: str
    store: ChunkStore
    how: Literal["recycled", "copied", "empty"]
    caught_up: int = 0  # points written or deleted to bring a recycled version up to date
    _release: Callable[[], None] = field(default=lambda: None, repr=False)


class IndexVersions(ABC):
    """The versions of one deployment's index."""

    @abstractmethod
    def current(self) -> str | None:
        """The published version's name, or None (no ingest yet, or a broken pointer)."""

    @abstractmethod
    def pointer_token(self) -> str | None:
        """Cheap change detector for readers."""

    @abstractmethod
    def fallbacks(self) -> list[str]:
        """Other published versions, newest first: what a reader tries when the current
        one cannot be opened."""

    @abstractmethod
    def open(self, name: str) -> OpenedVersion:
        """Open a published version for reading; StoreError when it is missing or damaged."""

    def document_index(self, opened: OpenedVersion) -> DocumentIndex:
        """What a version holds, document by document (read back from its payloads)."""
        return DocumentIndex.from_store(opened.store)

    @abstractmethod
    def begin(
        self, base: OpenedVersion | None, embedding_dim: int, base_index: DocumentIndex
    ) -> WorkingVersion:
        """A working version holding `base`'s chunks (cheaply when possible), or empty."""

    @abstractmethod
    def publish(
        self,
        working: WorkingVersion,
        manifest: IndexManifest,
        stats: TermStatistics,
        index: DocumentIndex,
    ) -> str:
        """Make a finished working version the served one, atomically; returns its name.
        `index` says what it holds (the base's index updated with this run's changes)."""

    @abstractmethod
    def discard(self, working: WorkingVersion) -> None: ...

    @abstractmethod
    def prune(self) -> None:
        """Remove old versions and leftovers of interrupted runs (no reader may lose one)."""

    def close(self) -> None:
        """Release connections (server); nothing to do for folders."""
        return None


def index_versions(settings: Settings) -> IndexVersions:
    """Qdrant Edge folders under the data dir, or a Qdrant server when CONCERTA_QDRANT_URL
    is set."""
    if settings.qdrant_url:
        from index_config.server_versions import ServerIndexVersions

        return ServerIndexVersions(settings)
    from index_config.local_versions import LocalIndexVersions

    return LocalIndexVersions(settings)
