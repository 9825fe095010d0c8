"""IngestJob: sources -> converted documents -> delta against the served index -> a new,
atomically published index version. Idempotent by content hash."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from haystack import Document, Pipeline
from haystack.components.writers import DocumentWriter
from haystack.document_stores.types import DuplicatePolicy
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from index_config import Settings
from index_config.embedders import document_embedder, embedding_dimension, index_fingerprint
from index_config.sparse_document_embedder import CatalanSparseDocumentEmbedder
from index_config.store import IndexManifest, IndexVersions
from ingest.converters.base import ConversionError, ConvertedDocument
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


def _in_scope(source_path: str, scopes: list[str]) -> bool:
    return any(source_path == s or source_path.startswith(s.rstrip("/") + "/") for s in scopes)


class IngestJob:
    """One run of `concerta ingest`."""

    def __init__(
        self, settings: Settings, console: Console | None = None, dense_embedder: Any = None
    ) -> None:
        """`dense_embedder`: any Haystack document embedder (default: the configured model)."""
        self.settings = settings
        self._dense_embedder = dense_embedder
        self.console = console or Console(stderr=True)
        self.versions = IndexVersions(settings)
        self.fingerprint = index_fingerprint(settings)

    def run(self, sources: list[str]) -> IngestReport:
        with ingest_lock(self.settings.data_dir):
            return self._run(sources)

    # ------------------------------------------------------------------------------
    def _convert(
        self, sources: list[str], report: IngestReport
    ) -> tuple[list[str], list[ConvertedDocument], set[str]]:
        scopes, items, missing = resolve(sources)
        report.failures.extend(missing)
        converted: list[ConvertedDocument] = []
        protected: set[str] = set()  # source paths whose old documents must be kept
        with self._progress() as progress:
            task = progress.add_task("Convertint", total=len(items))
            for item in items:
                try:
                    docs, failures = convert_item(
                        item,
                        self.settings.chunking.max_words,
                        self.settings.chunking.overlap_words,
                        self.fingerprint,
                    )
                    converted.extend(docs)
                    report.failures.extend(failures)
                    if failures:
                        protected.add(item.key)
                except ConversionError as exc:
                    report.failures.append(SourceFailure(item.name, str(exc)))
                    protected.add(item.key)
                progress.advance(task)
        return scopes, converted, protected

    def _run(self, sources: list[str]) -> IngestReport:
        report = IngestReport()
        scopes, converted, protected = self._convert(sources, report)
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

        embedder = self._dense_embedder or document_embedder(self.settings)
        if hasattr(embedder, "warm_up"):
            embedder.warm_up()
        dim = embedding_dimension(embedder)
        current = self.versions.current()
        manifest = self.versions.manifest(current) if current else None
        reuse = (
            manifest is not None
            and manifest.model == self.settings.embedding_model
            and manifest.embedding_dim == dim
        )
        if current and not reuse:
            log.warning("embedding model changed: building the index from scratch")
        working = self.versions.new_version(current if reuse else None)
        try:
            store = self.versions.open_store(working, int(dim or 0))
            try:
                changed = self._apply(store, embedder, unique, scopes, protected, report)
                self.versions.write_manifest(
                    working,
                    IndexManifest(
                        model=self.settings.embedding_model,
                        embedding_dim=int(dim or 0),
                        fingerprint=self.fingerprint,
                        created=dt.datetime.now(dt.UTC).isoformat(),
                    ),
                )
            finally:
                store.close()
            if changed or current is None or not reuse:
                report.version = self.versions.publish(working)
            else:
                self.versions.discard(working)
                report.version = current
        except BaseException:
            self.versions.discard(working)
            raise
        self.versions.prune()
        return report

    def _apply(
        self,
        store: object,
        embedder: object,
        docs: dict[str, ConvertedDocument],
        scopes: list[str],
        protected: set[str],
        report: IngestReport,
    ) -> bool:
        from haystack_integrations.document_stores.qdrant import QdrantDocumentStore

        assert isinstance(store, QdrantDocumentStore)
        existing: dict[str, tuple[str, str]] = {}
        for chunk in store.filter_documents():
            meta = chunk.meta
            existing.setdefault(
                meta.get("doc_id", ""), (meta.get("doc_hash", ""), meta.get("source_path", ""))
            )

        to_write: list[Document] = []
        to_delete: list[str] = []
        for doc_id, doc in docs.items():
            old = existing.get(doc_id)
            if old is None:
                report.added += 1
            elif old[0] == doc.content_hash:
                report.unchanged += 1
                continue
            else:
                report.updated += 1
                to_delete.append(doc_id)
            to_write.extend(doc.chunks)
        for doc_id, (_, source_path) in existing.items():
            if doc_id in docs or not _in_scope(source_path, scopes) or source_path in protected:
                continue
            to_delete.append(doc_id)
            report.deleted += 1

        if to_delete:
            store.delete_by_filter({"field": "meta.doc_id", "operator": "in", "value": to_delete})
        if to_write:
            self._embed_and_write(store, embedder, to_write)
        return bool(to_write or to_delete)

    def _embed_and_write(self, store: Any, embedder: Any, chunks: list[Document]) -> None:
        sparse = CatalanSparseDocumentEmbedder(analyzer=self.settings.analyzer.model_dump())
        pipeline = Pipeline()
        pipeline.add_component("dense", embedder)
        pipeline.add_component("sparse", sparse)
        pipeline.add_component("writer", DocumentWriter(store, policy=DuplicatePolicy.OVERWRITE))
        pipeline.connect("dense.documents", "sparse.documents")
        pipeline.connect("sparse.documents", "writer.documents")
        batch = 64
        with self._progress() as progress:
            task = progress.add_task("Indexant", total=len(chunks))
            for start in range(0, len(chunks), batch):
                part = chunks[start : start + batch]
                pipeline.run({"dense": {"documents": part}})
                progress.advance(task, len(part))

    def _progress(self) -> Progress:
        return Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
            disable=not self.console.is_terminal,
        )
