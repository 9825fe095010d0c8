"""Embedded index versions: one Qdrant Edge shard folder per version under the data dir.

    <data_dir>/qdrant/CURRENT                 the published version's name (atomic pointer)
    <data_dir>/qdrant/PUBLISHED               publication order (for prune and fall-backs)
    <data_dir>/qdrant/versions/<name>/        shard/, concerta-index.json, term-stats.json
    <data_dir>/qdrant/versions/<name>.tmp/    an ingest's working version (never served)

An ingest never writes a folder a reader has open. It brings the newest older version up
to date with the served one (only the differences are written: catch_up.py) or, when a
reader still holds that one, copies the served folder; applies its own changes; flushes;
then renames the folder and replaces CURRENT (os.replace). A kill -9 at any point leaves
CURRENT and the served folder as they were, plus a `.tmp` folder the next run removes.

Readers hold a shared flock on `readers.lock` inside the folder they read (released by
the kernel when a process dies); a writer recycles or deletes a folder only when it can
take that lock exclusively.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import re
import shutil
from pathlib import Path

from index_config.catch_up import catch_up
from index_config.chunk_store import ChunkStore
from index_config.documents_index import DocumentIndex
from index_config.edge_store import EdgeChunkStore
from index_config.folder_lease import READERS_LOCK, FolderLease
from index_config.settings import Settings
from index_config.store_errors import StoreError
from index_config.term_stats import TermStatistics
from index_config.versions import (
    IndexManifest,
    IndexVersions,
    OpenedVersion,
    WorkingVersion,
    new_version_name,
)

log = logging.getLogger(__name__)

MANIFEST = "concerta-index.json"
TERM_STATS = "term-stats.json"
UNITS = "units.json"
DOCUMENTS = "documents.json"
SHARD = "shard"
POINTER_MAX_BYTES = 256
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,120}$")


class LocalIndexVersions(IndexVersions):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.qdrant_dir
        self.versions_dir = self.root / "versions"
        self.pointer = self.root / "CURRENT"
        self.log_path = self.root / "PUBLISHED"

    # Pointer -------------------------------------------------------------------------
    def read_pointer(self) -> str | None:
        """The name CURRENT holds, if it is a well-formed version name inside the data dir.

        CURRENT is data an operator (or a disk error) may break: a directory, binary bytes,
        an absolute path or '..' are refused, never followed."""
        try:
            with open(self.pointer, "rb") as fh:
                raw = fh.read(POINTER_MAX_BYTES + 1)
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.error("index pointer %s is unreadable (%s): refused", self.pointer, exc)
            return None
        try:
            name = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            log.error("index pointer %s holds binary data: refused", self.pointer)
            return None
        if len(raw) > POINTER_MAX_BYTES or not _NAME.match(name) or name.endswith(".tmp"):
            log.error("index pointer %s names %r, not a version: refused", self.pointer, name[:80])
            return None
        return name

    def current(self) -> str | None:
        name = self.read_pointer()
        if name is None:
            return None
        try:
            folder = self.version_dir(name)
        except StoreError as exc:
            log.error("%s", exc)
            return None
        return name if IndexManifest.read(folder / MANIFEST) is not None else None

    def pointer_token(self) -> str | None:
        try:
            stat = self.pointer.stat()
        except OSError:
            return None
        return f"{stat.st_mtime_ns}:{stat.st_size}:{stat.st_ino}"

    def version_dir(self, name: str) -> Path:
        """The folder of a version; refuses names that lead outside versions/."""
        if not _NAME.match(name):
            raise StoreError(f"not a version name: {name!r}")
        folder = self.versions_dir / name
        base = self.versions_dir.resolve()
        if folder.resolve().parent != base:
            raise StoreError(f"version {name!r} points outside {base}: refused")
        return folder

    def published(self) -> list[str]:
        """Published versions on disk, newest first (publication order, then by name)."""
        try:
            logged = self.log_path.read_text(encoding="utf-8").split()
        except (OSError, UnicodeDecodeError):
            logged = []
        try:
            on_disk = {
                p.name
                for p in self.versions_dir.iterdir()
                if p.is_dir() and _NAME.match(p.name) and not p.name.endswith(".tmp")
            }
        except OSError:
            return []
        ordered = [n for n in dict.fromkeys(reversed(logged)) if n in on_disk]
        return ordered + sorted(on_disk - set(ordered), reverse=True)

    def fallbacks(self) -> list[str]:
        current = self.read_pointer()
        return [
            n
            for n in self.published()
            if n != current and IndexManifest.read(self.versions_dir / n / MANIFEST) is not None
        ]

    # Readers ---------------------------------------------------------------------------
    def open(self, name: str) -> OpenedVersion:
        folder = self.version_dir(name)
        manifest = IndexManifest.read(folder / MANIFEST)
        if manifest is None:
            raise StoreError(f"version {name} has no valid manifest")
        lease = FolderLease.take(folder, exclusive=False)
        if lease is None:
            raise StoreError(f"version {name} is being replaced by an ingest")
        store = EdgeChunkStore(folder / SHARD, search_threads=self.settings.qdrant.search_threads)
        try:
            stats = TermStatistics.load(folder / TERM_STATS)
            count = store.count_documents()
            if count != manifest.chunks:
                raise StoreError(f"version {name} holds {count} chunks, {manifest.chunks} expected")
            units = _read_units(folder / UNITS)
            if len(units) != count:
                raise StoreError(f"version {name} maps {len(units)} of {count} chunks")
            store.attach_units(units)
        except (OSError, ValueError, StoreError) as exc:
            store.close()
            lease.release()
            raise StoreError(f"version {name} cannot be opened: {exc}") from exc
        return OpenedVersion(name, store, manifest, stats, count, lease.release)

    def document_index(self, opened: OpenedVersion) -> DocumentIndex:
        """Saved with the version; read back from the payloads if that file is unusable."""
        return _saved_index(self.version_dir(opened.name), opened.count, opened.store)

    # Writers ---------------------------------------------------------------------------
    def begin(
        self, base: OpenedVersion | None, embedding_dim: int, base_index: DocumentIndex
    ) -> WorkingVersion:
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        target = self.versions_dir / f"{new_version_name()}.tmp"
        if base is None:
            target.mkdir()
            store = EdgeChunkStore(
                target / SHARD,
                embedding_dim=embedding_dim,
                search_threads=self.settings.qdrant.search_threads,
            )
            return WorkingVersion(target.name, store, "empty")
        recycled = self._recycle(base, base_index, target)
        if recycled is not None:
            return recycled
        # Every older version is in use (or there is none): copy the served one. Readers
        # never write, so copying files they have open is safe.
        shutil.copytree(
            self.version_dir(base.name),
            target,
            ignore=shutil.ignore_patterns(READERS_LOCK, MANIFEST, TERM_STATS, UNITS, DOCUMENTS),
        )
        return WorkingVersion(target.name, EdgeChunkStore(target / SHARD), "copied")

    def _recycle(
        self, base: OpenedVersion, base_index: DocumentIndex, target: Path
    ) -> WorkingVersion | None:
        for name in self.fallbacks():
            if name == base.name:
                continue
            folder = self.versions_dir / name
            manifest = IndexManifest.read(folder / MANIFEST)
            if manifest is None or not manifest.compatible(
                base.manifest.model, base.manifest.embedding_dim
            ):
                continue
            lease = FolderLease.take(folder, exclusive=True)
            if lease is None:
                continue  # a reader still has it open
            os.replace(folder, target)  # the lock file moves with it; readers now fail
            (target / MANIFEST).unlink(missing_ok=True)  # a working version is no version
            store = EdgeChunkStore(target / SHARD)
            try:
                have = _saved_index(target, manifest.chunks, store).chunk_hashes()
                written = catch_up(store, base.store, base_index.chunk_hashes(), have)
            except StoreError as exc:
                log.warning("cannot reuse version %s (%s): copying the served one", name, exc)
                store.close()
                lease.release()
                shutil.rmtree(target, ignore_errors=True)
                return None
            log.info("reusing version %s: %d points brought up to date", name, written)
            return WorkingVersion(target.name, store, "recycled", written, lease.release)
        return None

    def publish(
        self,
        working: WorkingVersion,
        manifest: IndexManifest,
        stats: TermStatistics,
        index: DocumentIndex,
    ) -> str:
        folder = self.versions_dir / working.name
        working.store.flush()
        working.store.close()
        units = index.units()
        # The first load after writing tidies the segments' journals: do it here, not in
        # a reader, and check the shard holds what the manifest and the index say.
        check = EdgeChunkStore(folder / SHARD)
        try:
            count = check.count_documents()
            sample = random.Random(count).sample(sorted(units), min(200, len(units)))
            found = {p.id: p for p in check.points_by_id(sample)}
        finally:
            check.close()
        if not count == manifest.chunks == len(units) == stats.n:
            raise StoreError(
                f"working version holds {count} chunks; manifest {manifest.chunks}, "
                f"index {len(units)}, term statistics {stats.n}"
            )
        for pid in sample:
            point = found.get(pid)
            meta = (point.payload.get("meta") or {}) if point else {}
            if point is None or units[pid] != (point.chunk_id, meta.get("unit_id", point.chunk_id)):
                raise StoreError(f"document index disagrees with the shard at point {pid}")
        _write_atomically(
            folder / UNITS, json.dumps(units, ensure_ascii=False, separators=(",", ":"))
        )
        index.save(folder / DOCUMENTS)
        stats.save(folder / TERM_STATS)
        _write_atomically(folder / MANIFEST, _json(manifest.to_dict()))
        (folder / READERS_LOCK).touch()
        final = working.name.removesuffix(".tmp")
        os.replace(folder, self.versions_dir / final)
        working._release()
        with open(self.log_path, "a", encoding="utf-8") as fh:
            fh.write(final + "\n")
        _write_atomically(self.pointer, final + "\n")
        return final

    def discard(self, working: WorkingVersion) -> None:
        with contextlib.suppress(StoreError):
            working.store.close()
        working._release()
        shutil.rmtree(self.versions_dir / working.name, ignore_errors=True)

    def prune(self, keep: int = 2) -> None:
        """Call with the ingest lock held: every `.tmp` folder is then a leftover."""
        if not self.versions_dir.is_dir():
            return
        current = self.read_pointer()
        published = self.published()
        keep_set = set(published[:keep]) | ({current} if current else set())
        for path in self.versions_dir.iterdir():
            if path.name in keep_set:
                continue
            if path.name.endswith(".tmp"):
                shutil.rmtree(path, ignore_errors=True)
                continue
            lease = FolderLease.take(path, exclusive=True) if path.is_dir() else None
            if lease is None:
                continue  # a reader still uses it: the next ingest will try again
            try:
                shutil.rmtree(path, ignore_errors=True)
            finally:
                lease.release()
        if len(published) > 50:  # keep the log short
            _write_atomically(self.log_path, "\n".join(reversed(published[:keep])) + "\n")


def _json(data: object) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


def _saved_index(folder: Path, chunks: int, store: ChunkStore) -> DocumentIndex:
    """The document index a version folder was saved with, or read back from its payloads
    when that file is missing or does not match."""
    path = folder / DOCUMENTS
    try:
        index = DocumentIndex.load(path)
        if index.chunk_count() == chunks:
            return index
        log.warning("%s does not match its version: reading the payloads", path)
    except (OSError, ValueError) as exc:
        log.warning("cannot read %s (%s): reading the payloads", path, exc)
    return DocumentIndex.from_store(store)


def _read_units(path: Path) -> dict[str, tuple[str, str]]:
    """point id -> (chunk id, unit id), as publish wrote it; ValueError when damaged."""
    with open(path, encoding="utf-8") as fh:
        raw = json.load(fh)
    if not isinstance(raw, dict):
        raise ValueError("units: not a mapping")
    units = {}
    for pid, pair in raw.items():
        if not (isinstance(pair, list) and len(pair) == 2):
            raise ValueError("units: malformed entry")
        units[str(pid)] = (str(pair[0]), str(pair[1]))
    return units


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
