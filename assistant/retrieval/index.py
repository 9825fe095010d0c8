"""IndexHandle: the served index version, swapped in when an ingest publishes a new one."""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from haystack_integrations.components.retrievers.qdrant import (
    QdrantEmbeddingRetriever,
    QdrantSparseEmbeddingRetriever,
)
from haystack_integrations.document_stores.qdrant import QdrantDocumentStore

from assistant.errors import IndexNotReadyError
from assistant.retrieval.mirror import VectorMirror
from index_config import Settings
from index_config.store import IndexVersions

log = logging.getLogger(__name__)


@dataclass
class OpenIndex:
    """One opened version with its retrievers."""

    version: str
    store: QdrantDocumentStore
    dense: QdrantEmbeddingRetriever
    sparse: QdrantSparseEmbeddingRetriever
    count: int
    # Local mode only: the version's vectors in memory (see mirror.py).
    mirror: VectorMirror | None = None
    private_copy: Path | None = None


class IndexHandle:
    """Follows the CURRENT pointer; opening a version is the only place readers touch
    Qdrant's storage, and a local-mode folder is only ever opened by this process."""

    def __init__(self, settings: Settings, embedding_dim: int, check_interval: float = 1.0) -> None:
        self.versions = IndexVersions(settings)
        self.embedding_dim = embedding_dim
        self.check_interval = check_interval
        self._lock = threading.Lock()
        self._open: OpenIndex | None = None
        self._retired: list[OpenIndex] = []
        self._token: str | None = None
        self._checked_at = 0.0

    def get(self) -> OpenIndex:
        """The current index, reopened if an ingest published a newer version."""
        now = time.monotonic()
        if self._open is not None and now - self._checked_at < self.check_interval:
            return self._open
        with self._lock:
            self._checked_at = now
            token = self.versions.pointer_token()
            if self._open is None or token != self._token:
                self._swap(token)
            if self._open is None:
                raise IndexNotReadyError(
                    "L'índex encara no està preparat: cal executar `concerta ingest`."
                )
            return self._open

    def peek(self) -> OpenIndex | None:
        try:
            return self.get()
        except IndexNotReadyError:
            return None

    def _swap(self, token: str | None) -> None:
        version = self.versions.current()
        self._token = token
        if version is None or (self._open is not None and self._open.version == version):
            return
        manifest = self.versions.manifest(version)
        if manifest is not None and manifest.embedding_dim != self.embedding_dim:
            log.error(
                "index %s was built with %s (dim %s); queries use dim %s: re-run ingest",
                version,
                manifest.model,
                manifest.embedding_dim,
                self.embedding_dim,
            )
        store, private_copy = self._open_store(version)
        opened = OpenIndex(
            version=version,
            store=store,
            dense=QdrantEmbeddingRetriever(document_store=store),
            sparse=QdrantSparseEmbeddingRetriever(document_store=store),
            count=store.count_documents(),
            mirror=None if self.versions.is_server else VectorMirror.load(store),
            private_copy=private_copy,
        )
        log.info("serving index version %s (%d chunks)", version, opened.count)
        # Requests already running keep the old store for a moment; close the one before.
        for old in self._retired:
            _close(old)
        self._retired = [self._open] if self._open is not None else []
        self._open = opened

    def _open_store(self, version: str) -> tuple[QdrantDocumentStore, Path | None]:
        """Open a version; if another process holds its folder (local mode lets one
        process open it, e.g. `concerta search` while `concerta serve` runs), read a
        private copy instead: published versions never change."""
        store = self.versions.open_store(version, self.embedding_dim)
        if self.versions.is_server:
            return store, None
        try:
            store.count_documents()
            return store, None
        except RuntimeError as exc:
            if "already accessed" not in str(exc):
                raise
        copy = Path(tempfile.mkdtemp(prefix="concerta-read-")) / version
        shutil.copytree(
            self.versions.version_dir(version), copy, ignore=shutil.ignore_patterns(".lock")
        )
        log.info("index version %s is open in another process: reading a private copy", version)
        return self.versions.open_store_at(copy, self.embedding_dim), copy.parent

    def close(self) -> None:
        with self._lock:
            for opened in [*self._retired, self._open]:
                if opened is not None:
                    _close(opened)
            self._open, self._retired = None, []


def _close(opened: OpenIndex) -> None:
    opened.store.close()
    if opened.private_copy is not None:
        shutil.rmtree(opened.private_copy, ignore_errors=True)
