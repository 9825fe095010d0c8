"""IndexHandle: the served index version, swapped in when an ingest publishes a new one.

A version that cannot be opened (a broken CURRENT pointer, a missing or damaged folder, a
manifest for another model) is never served: the handle keeps the version it has, or
falls back to the newest valid one, and only when none is valid does the index count as
not ready (GET /ready 503, other routes 503 too): never a 500.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from haystack import Document

from assistant.errors import IndexNotReadyError
from assistant.models import Filters
from assistant.retrieval.filters import to_haystack
from assistant.retrieval.instruments import InstrumentRegulations
from assistant.retrieval.restatements import RestatementLinks
from assistant.retrieval.retriever import HybridChunkRetriever
from index_config import Settings
from index_config.chunk_store import ChunkStore
from index_config.store_errors import StoreError
from index_config.term_stats import TermStatistics
from index_config.versions import IndexManifest, IndexVersions, OpenedVersion, index_versions

log = logging.getLogger(__name__)

NOT_READY = "L'índex encara no està preparat: cal executar `concerta ingest`."
BROKEN_RETRY_SECONDS = 60.0


@dataclass
class OpenIndex:
    """One served version: its chunks, their count and their term statistics."""

    version: str
    count: int
    term_stats: TermStatistics
    manifest: IndexManifest
    store: ChunkStore
    retriever: HybridChunkRetriever
    opened: OpenedVersion = field(repr=False)
    # Called when a read fails on this version (the handle then serves another one).
    on_failure: Callable[[OpenIndex, Exception], bool] = field(
        default=lambda opened, error: False, repr=False
    )

    def documents(
        self, filters: Filters | None = None, extra: dict[str, Any] | None = None
    ) -> list[Document]:
        """Every chunk matching the search filters and `extra` exact matches on metadata
        (e.g. {"codi": "22214"}, {"kind": "recurs"}; a list value matches any of its
        elements), in no particular order."""
        conditions: list[dict[str, Any]] = []
        searched = to_haystack(filters) if filters is not None else None
        if searched is not None:
            conditions.append(searched)
        for key, value in (extra or {}).items():
            field_name = key if key.startswith("meta.") or key == "id" else f"meta.{key}"
            if isinstance(value, list | tuple | set):
                conditions.append({"field": field_name, "operator": "in", "value": list(value)})
            else:
                conditions.append({"field": field_name, "operator": "==", "value": value})
        query = {"operator": "AND", "conditions": conditions} if conditions else None
        try:
            return self.store.filter_documents(query)
        except StoreError as exc:
            if not self.on_failure(self, exc):
                raise
            raise IndexNotReadyError(NOT_READY) from exc


class IndexHandle:
    """Follows the published version. A watcher thread notices a new one and opens it
    off the request path; requests that run on the old version keep it for a moment."""

    def __init__(
        self,
        settings: Settings,
        embedding_dim: int,
        check_interval: float = 1.0,
        retire_after: float = 10.0,
        versions: IndexVersions | None = None,
    ) -> None:
        self.settings = settings
        self.versions = versions or index_versions(settings)
        self.embedding_dim = embedding_dim
        self.check_interval = check_interval
        self.retire_after = retire_after
        self._lock = threading.RLock()
        self._open: OpenIndex | None = None
        self._retired: list[tuple[OpenIndex, float]] = []
        self._token: str | None = None
        self._checked_at = 0.0
        # Versions that failed to open, and when: not tried again for a while.
        self._broken: dict[str, float] = {}
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    # Public ---------------------------------------------------------------------------
    def get(self) -> OpenIndex:
        """The served version; IndexNotReadyError (Catalan) when none is valid."""
        now = time.monotonic()
        opened = self._open
        if opened is None or now - self._checked_at >= self.check_interval:
            self.refresh()
            opened = self._open
        if opened is None:
            raise IndexNotReadyError(NOT_READY)
        return opened

    def peek(self) -> OpenIndex | None:
        try:
            return self.get()
        except IndexNotReadyError:
            return None

    def refresh(self) -> None:
        """Look at the pointer now; open a new or a fall-back version if needed."""
        with self._lock:
            self._checked_at = time.monotonic()
            self._close_retired()
            token = self.versions.pointer_token()
            if self._open is not None and token == self._token:
                return
            self._token = token
            self._follow_pointer()

    def report_failure(self, opened: OpenIndex, error: Exception) -> bool:
        """A read failed on `opened`. If the version itself is damaged (it cannot even
        count its chunks), serve another valid one, if any, and return True; if it is
        sound, the request was at fault: return False (the caller re-raises)."""
        try:
            opened.store.count_documents()
            return False
        except StoreError:
            pass
        with self._lock:
            log.error("index version %s failed (%s): looking for another", opened.version, error)
            self._broken[opened.version] = time.monotonic()
            if self._open is opened:
                self._retire(self._open)
                self._open = None
                self._follow_pointer()
        return True

    def start_watching(self) -> None:
        if self._watcher is None:
            self._watcher = threading.Thread(
                target=self._watch, name="concerta-index-watcher", daemon=True
            )
            self._watcher.start()

    def close(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
            self._watcher = None
        with self._lock:
            for opened in [*(o for o, _ in self._retired), self._open]:
                if opened is not None:
                    _close(opened)
            self._open, self._retired = None, []
        self.versions.close()

    # Internals ------------------------------------------------------------------------
    def _watch(self) -> None:
        while not self._stop.wait(self.check_interval):
            try:
                self.refresh()
            except Exception:  # the watcher must survive anything; requests still refresh
                log.exception("index watcher failed")

    def _follow_pointer(self) -> None:
        name = self.versions.current()
        if name is not None and self._open is not None and name == self._open.version:
            return
        if name is not None and not self._is_broken(name) and self._try(name):
            return
        if self._open is not None:
            log.error(
                "the published index (%s) cannot be served: still serving %s",
                name or "pointer unusable",
                self._open.version,
            )
            return
        for fallback in self.versions.fallbacks():
            if not self._is_broken(fallback) and self._try(fallback):
                log.error("the published index cannot be served: serving %s", fallback)
                return

    def _try(self, name: str) -> bool:
        """Open `name` and serve it; False (logged) when it cannot be used."""
        try:
            opened = self.versions.open(name)
        except StoreError as exc:
            log.error("index version %s is not usable: %s", name, exc)
            self._broken[name] = time.monotonic()
            return False
        manifest = opened.manifest
        model = self.settings.embedding_model
        if not manifest.compatible(model, self.embedding_dim):
            log.error(
                "index %s was built with %s (dim %s); queries use %s (dim %s): re-run ingest",
                name,
                manifest.model,
                manifest.embedding_dim,
                model,
                self.embedding_dim,
            )
            opened.close()
            self._broken[name] = time.monotonic()
            return False
        retrieval = self.settings.retrieval
        weights = retrieval.weights_for(model)
        try:
            # Here, off the request path (at start-up or in the watcher thread).
            restatements = RestatementLinks.from_store(opened.store, retrieval.restatements)
            instruments = InstrumentRegulations.from_store(opened.store)
        except StoreError as exc:
            log.warning("index %s: no FAQ-article links or instruments (%s)", name, exc)
            restatements, instruments = RestatementLinks(), InstrumentRegulations()
        served = OpenIndex(
            version=name,
            count=opened.count,
            term_stats=opened.term_stats,
            manifest=manifest,
            store=opened.store,
            retriever=HybridChunkRetriever(
                opened.store,
                fusion=retrieval.fusion,
                weights=(weights.dense, weights.sparse),
                candidates=retrieval.candidates,
                rrf_k=retrieval.rrf_k,
                sparse_scale=retrieval.sparse_scale,
                normalisation=retrieval.normalisation,
                restatements=restatements,
                restatement_weight=retrieval.restatements.weight,
                instruments=instruments,
                instrument_bonus=retrieval.instrument_bonus,
            ),
            opened=opened,
            on_failure=self.report_failure,
        )
        if self._open is not None:
            self._retire(self._open)
        self._open = served
        self._broken.pop(name, None)
        log.info("serving index version %s (%d chunks)", name, served.count)
        return True

    def _is_broken(self, name: str) -> bool:
        """Failed recently: opening a damaged 100,000-chunk version every second would
        only load the machine; after a minute it is tried again (disks and operators
        repair things)."""
        since = self._broken.get(name)
        return since is not None and time.monotonic() - since < BROKEN_RETRY_SECONDS

    def _retire(self, opened: OpenIndex) -> None:
        # Requests already running keep the old version for a moment.
        self._retired.append((opened, time.monotonic()))

    def _close_retired(self) -> None:
        now = time.monotonic()
        keep = []
        for opened, since in self._retired:
            if now - since >= self.retire_after:
                _close(opened)
            else:
                keep.append((opened, since))
        self._retired = keep


def _close(opened: OpenIndex) -> None:
    try:
        opened.opened.close()
    except StoreError as exc:
        log.warning("closing index version %s: %s", opened.version, exc)
