"""IngestJob: sources -> converted documents -> changes against the served version -> the
next version, built beside the served one and published atomically. Idempotent by
content hash; see index_config/local_versions.py for what a kill -9 leaves behind."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from index_config import Settings
from index_config.documents_index import DocumentIndex
from index_config.embedders import document_embedder, embedding_dimension, index_fingerprint
from index_config.embedding_cache import CachedDocumentEmbedder, EmbeddingCache, model_key
from index_config.store_errors import StoreError
from index_config.term_stats import TermStatistics
from index_config.versions import IndexManifest, IndexVersions, OpenedVersion, index_versions
from ingest.changes import Changes, plan_changes
from ingest.converters.base import ConversionError, ConvertedDocument
from ingest.indexer import ChunkIndexer, progress_bar
from ingest.sources import SourceFailure, convert_item, resolve

log = logging.getLogger(__name__)


class IngestLockedError(RuntimeError):
    """Another ingest run holds the lock on this data folder."""


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failures: list[SourceFailure] = field(default_factory=list)
    version: str | None = None
    # How the new version started (recycled, copied or empty; None: nothing changed) and
    # how many points it took to bring a reused version up to date.
    build: str | None = None
    caught_up: int = 0
    # Seconds per phase (convert, compare, model, prepare, embed+write, optimize, publish,
    # prune), for operators and benchmarks.
    timings: dict[str, float] = field(default_factory=dict)

    @contextlib.contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[phase] = self.timings.get(phase, 0.0) + time.perf_counter() - start

    @property
    def failed(self) -> int:
        return len(self.failures)

    def summary_line(self) -> str:
        return (
            f"added={self.added} updated={self.updated} unchanged={self.unchanged} "
            f"deleted={self.deleted} failed={self.failed}"
        )


@contextlib.contextmanager
def ingest_lock(data_dir: Path) -> Iterator[None]:
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / "ingest.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise IngestLockedError(f"another ingest is running on {data_dir}") from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class IngestJob:
    """One run of `concerta ingest`."""

    def __init__(
        self,
        settings: Settings,
        console: Console | None = None,
        dense_embedder: Any = None,
        versions: IndexVersions | None = None,
    ) -> None:
        """`dense_embedder`: any Haystack document embedder (default: the configured model);
        `versions`: where versions live (default: from the settings; its owner closes it)."""
        self.settings = settings
        self._dense_embedder = dense_embedder
        self._versions = versions
        self.console = console or Console(stderr=True)
        self.fingerprint = index_fingerprint(settings)

    def run(self, sources: list[str]) -> IngestReport:
        with ingest_lock(self.settings.data_dir):
            if self._versions is not None:
                return self._run(self._versions, sources)
            versions = index_versions(self.settings)
            try:
                return self._run(versions, sources)
            finally:
                versions.close()

    # ------------------------------------------------------------------------------
    def _convert(
        self,
        sources: list[str],
        report: IngestReport,
        indexed: DocumentIndex,
    ) -> tuple[list[str], dict[str, ConvertedDocument], set[str]]:
        """Convert the sources; documents indexed with the same hash are recognised, not
        converted again."""
        known = {(doc_id, doc.doc_hash) for doc_id, doc in indexed.items()}
        scopes, items, missing = resolve(sources)
        report.failures.extend(missing)
        converted: list[ConvertedDocument] = []
        protected: set[str] = set()  # source paths whose old documents must be kept
        with progress_bar(self.console) as progress:
            task = progress.add_task("Convertint", total=len(items))
            for item in items:
                try:
                    docs, failures = convert_item(
                        item,
                        self.settings.chunking.max_words,
                        self.settings.chunking.overlap_words,
                        self.fingerprint,
                        known,
                    )
                    converted.extend(docs)
                    report.failures.extend(failures)
                    if failures:
                        protected.add(item.key)
                except ConversionError as exc:
                    report.failures.append(SourceFailure(item.name, str(exc)))
                    protected.add(item.key)
                progress.advance(task)
        # The same document from two files: keep the first, report the second.
        unique: dict[str, ConvertedDocument] = {}
        for doc in converted:
            if doc.doc_id in unique:
                report.failures.append(
                    SourceFailure(
                        doc.source, f"duplicate document id {doc.doc_id}", whole_file=False
                    )
                )
                continue
            unique[doc.doc_id] = doc
        return scopes, unique, protected

    def _base(self, versions: IndexVersions) -> OpenedVersion | None:
        """The version to build on: the served one, or the newest valid one if the served
        one cannot be read; None to build from scratch (none yet, or another model)."""
        current = versions.current()
        for name in [*([current] if current else []), *versions.fallbacks()]:
            try:
                opened = versions.open(name)
            except StoreError as exc:
                log.warning("cannot build on index version %s: %s", name, exc)
                continue
            if opened.manifest.model == self.settings.embedding_model:
                return opened
            log.warning("embedding model changed: building the index from scratch")
            opened.close()
            return None
        return None

    def _embedder(self) -> Any:
        """The dense document embedder, warmed up; the configured model goes through the
        embedding cache unless it is switched off."""
        embedder = self._dense_embedder
        if embedder is None:
            embedder = document_embedder(self.settings)
            if self.settings.embedding_cache:
                cache = EmbeddingCache(
                    self.settings.embedding_cache_folder(), model_key(self.settings)
                )
                meta_fields = list(getattr(embedder, "meta_fields_to_embed", None) or [])
                embedder = CachedDocumentEmbedder(embedder, cache, meta_fields)
        if hasattr(embedder, "warm_up"):
            embedder.warm_up()
        return embedder

    def _run(self, versions: IndexVersions, sources: list[str]) -> IngestReport:
        report = IngestReport()
        with report.timed("compare"):
            base = self._base(versions)
        embedder: Any = None
        try:
            with report.timed("compare"):
                indexed = versions.document_index(base) if base else DocumentIndex()
            with report.timed("convert"):
                scopes, documents, protected = self._convert(sources, report, indexed)
            with report.timed("compare"):
                changes = plan_changes(documents, indexed, scopes, protected)
            if base is not None and not changes.any:
                report.version = base.name  # nothing changed: no new version, no model
            else:
                # The model is loaded only when there is something to embed.
                with report.timed("model"):
                    embedder = self._embedder()
                    dim = int(embedding_dimension(embedder) or 0)
                if base is not None and base.manifest.embedding_dim != dim:
                    log.warning("embedding size changed: building the index from scratch")
                    base.close()
                    base = None
                    # Recognised documents have no chunks: convert everything again.
                    indexed = DocumentIndex()
                    scopes, documents, protected = self._convert(sources, IngestReport(), indexed)
                    changes = plan_changes(documents, indexed, scopes, protected)
                report.version = self._build(
                    versions, base, indexed, changes, embedder, dim, report
                )
            report.added, report.updated = changes.added, changes.updated
            report.unchanged, report.deleted = changes.unchanged, changes.deleted
        finally:
            if base is not None:
                base.close()
            if isinstance(embedder, CachedDocumentEmbedder):
                embedder.cache.close()
        with report.timed("prune"):
            versions.prune()
        log.info(
            "ingest %s: %s",
            report.summary_line(),
            ", ".join(f"{k} {v:.1f}s" for k, v in report.timings.items()),
        )
        return report

    def _build(
        self,
        versions: IndexVersions,
        base: OpenedVersion | None,
        indexed: DocumentIndex,
        changes: Changes,
        embedder: Any,
        dim: int,
        report: IngestReport,
    ) -> str:
        indexer = ChunkIndexer(self.settings, embedder, self.console)
        with report.timed("prepare"):
            working = versions.begin(base, dim, indexed)
        report.build, report.caught_up = working.how, working.caught_up
        try:
            log.info("working version %s (%s)", working.name, working.how)
            with report.timed("embed+write"):
                stats = base.term_stats.copy() if base is not None else TermStatistics()
                if base is not None and changes.to_remove:
                    indexer.forget(base.store.get_documents(changes.to_remove), stats)
                    working.store.delete_points(changes.to_remove)
                indexer.write(working.store, changes.to_write, stats)
            with report.timed("optimize"), progress_bar(self.console) as progress:
                progress.add_task("Optimitzant l'índex", total=None)
                working.store.optimize()
            manifest = IndexManifest(
                model=self.settings.embedding_model,
                embedding_dim=dim,
                fingerprint=self.fingerprint,
                created=dt.datetime.now(dt.UTC).isoformat(),
                chunks=working.store.count_documents(),
            )
            if manifest.chunks != stats.n:
                raise StoreError(
                    f"term statistics count {stats.n} chunks, {manifest.chunks} indexed"
                )
            with report.timed("publish"):
                index = indexed.copy()
                index.remove(changes.removed_documents)
                index.add_chunks(changes.to_write)
                return versions.publish(working, manifest, stats, index)
        except BaseException:
            versions.discard(working)
            raise
