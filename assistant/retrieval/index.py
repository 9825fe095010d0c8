"""IndexHandle: the served index version, swapped in when an ingest publishes a new one."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from haystack_integrations.components.retrievers.qdrant import (
    QdrantEmbeddingRetriever,
    QdrantSparseEmbeddingRetriever,
)
from haystack_integrations.document_stores.qdrant import QdrantDocumentStore

from assistant.errors import IndexNotReadyError
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
        store = self.versions.open_store(version, self.embedding_dim)
        opened = OpenIndex(
            version=version,
            store=store,
            dense=QdrantEmbeddingRetriever(document_store=store),
            sparse=QdrantSparseEmbeddingRetriever(document_store=store),
            count=store.count_documents(),
        )
        log.info("serving index version %s (%d chunks)", version, opened.count)
        # Requests already running keep the old store for a moment; close the one before.
        for old in self._retired:
            old.store.close()
        self._retired = [self._open] if self._open is not None else []
        self._open = opened

    def close(self) -> None:
        with self._lock:
            for opened in [*self._retired, self._open]:
                if opened is not None:
                    opened.store.close()
            self._open, self._retired = None, []
