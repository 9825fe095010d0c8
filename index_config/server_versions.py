"""Index versions on a Qdrant server or cluster: one collection per version, an alias
(the configured collection name) pointing at the published one.

The same life cycle as the embedded folders: an ingest writes a collection no reader uses,
then switches the alias in one atomic request. The next version reuses the previous
collection when it retired long enough ago that no reader can still be querying it, and
only the differences with the served one are written; otherwise the served collection is
copied point by point. A version's manifest and term statistics live in its collection's
metadata, so every API replica reads the same ones.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import time
import zlib
from typing import Any

from qdrant_client import QdrantClient
from qdrant_client.http import models

from index_config.catch_up import catch_up
from index_config.documents_index import DocumentIndex
from index_config.server_store import ServerChunkStore
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

# A reader resolves the alias at most every second and a query takes milliseconds: a
# collection retired a minute ago is no longer read by anyone.
RETIRE_GRACE_SECONDS = 60.0


class ServerIndexVersions(IndexVersions):
    def __init__(
        self,
        settings: Settings,
        client: QdrantClient | None = None,
        retire_grace: float = RETIRE_GRACE_SECONDS,
    ) -> None:
        """`client`: how to reach Qdrant (default: CONCERTA_QDRANT_URL and its API key; tests
        pass a local-mode client, which its owner closes)."""
        self.settings = settings
        self.alias = settings.qdrant.collection
        self.prefix = f"{self.alias}__"
        self.retire_grace = retire_grace
        self._client = client
        self._owns_client = client is None

    @property
    def client(self) -> QdrantClient:
        if self._client is None:
            key = self.settings.qdrant_api_key
            self._client = QdrantClient(
                url=self.settings.qdrant_url, api_key=key.get_secret_value() if key else None
            )
        return self._client

    def close(self) -> None:
        if self._owns_client and self._client is not None:
            self._client.close()
            self._client = None

    def _store(self, name: str, embedding_dim: int | None = None) -> ServerChunkStore:
        return ServerChunkStore(
            self.client,
            name,
            embedding_dim=embedding_dim,
            shard_number=self.settings.qdrant.shard_number,
            replication_factor=self.settings.qdrant.replication_factor,
        )

    # Pointer -------------------------------------------------------------------------
    def current(self) -> str | None:
        try:
            aliases = self.client.get_aliases().aliases
        except Exception as exc:
            log.error("cannot read the Qdrant aliases: %s", exc)
            return None
        for alias in aliases:
            if alias.alias_name == self.alias and alias.collection_name.startswith(self.prefix):
                return alias.collection_name
        return None

    def pointer_token(self) -> str | None:
        return self.current()

    def _versions(self) -> list[tuple[str, dict[str, Any]]]:
        """(collection, concerta metadata) of every published version, newest first."""
        out = []
        for description in self.client.get_collections().collections:
            name = description.name
            if not name.startswith(self.prefix):
                continue
            meta = self._metadata(name)
            if IndexManifest.from_dict(meta.get("manifest")) is not None:
                out.append((name, meta))
        return sorted(out, key=lambda item: str(item[1].get("published", "")), reverse=True)

    def _metadata(self, name: str) -> dict[str, Any]:
        try:
            info = self.client.get_collection(name)
        except Exception:
            return {}
        meta = getattr(info.config, "metadata", None) or {}
        data = meta.get("concerta")
        return data if isinstance(data, dict) else {}

    def fallbacks(self) -> list[str]:
        current = self.current()
        return [name for name, _ in self._versions() if name != current]

    # Readers ---------------------------------------------------------------------------
    def open(self, name: str) -> OpenedVersion:
        meta = self._metadata(name)
        manifest = IndexManifest.from_dict(meta.get("manifest"))
        if manifest is None:
            raise StoreError(f"collection {name} is not a Concerta index version")
        store = self._store(name)
        try:
            stats = _unpack_stats(meta.get("term_stats"))
            count = store.count_documents()
        except (ValueError, StoreError) as exc:
            raise StoreError(f"version {name} cannot be opened: {exc}") from exc
        if count != manifest.chunks:
            raise StoreError(f"version {name} holds {count} chunks, {manifest.chunks} expected")
        return OpenedVersion(name, store, manifest, stats, count)

    # Writers ---------------------------------------------------------------------------
    def begin(
        self, base: OpenedVersion | None, embedding_dim: int, base_index: DocumentIndex
    ) -> WorkingVersion:
        if base is not None:
            recycled = self._recycle(base, base_index)
            if recycled is not None:
                return recycled
        name = self.prefix + new_version_name()
        store = self._store(name, embedding_dim)
        with store._engine("create collection"):
            store.create()
        if base is None:
            return WorkingVersion(name, store, "empty")
        written = catch_up(store, base.store, base_index.chunk_hashes(), {})
        return WorkingVersion(name, store, "copied", written)

    def _recycle(self, base: OpenedVersion, base_index: DocumentIndex) -> WorkingVersion | None:
        for name, meta in self._versions():
            if name == base.name:
                continue
            manifest = IndexManifest.from_dict(meta.get("manifest"))
            retired = float(meta.get("retired_at") or 0)
            if manifest is None or not manifest.compatible(
                base.manifest.model, base.manifest.embedding_dim
            ):
                continue
            if not retired or time.time() - retired < self.retire_grace:
                continue
            # Unpublished first, so that a reader never falls back to a half-written one.
            self.client.update_collection(name, metadata={"concerta": {"manifest": None}})
            store = self._store(name)
            have = DocumentIndex.from_store(store).chunk_hashes()
            written = catch_up(store, base.store, base_index.chunk_hashes(), have)
            log.info("reusing collection %s: %d points brought up to date", name, written)
            return WorkingVersion(name, store, "recycled", written)
        return None

    def publish(
        self,
        working: WorkingVersion,
        manifest: IndexManifest,
        stats: TermStatistics,
        index: DocumentIndex,
    ) -> str:
        # A server reads payloads natively: the document index is read back when needed.
        count = working.store.count_documents()
        if count != manifest.chunks:
            raise StoreError(f"working version holds {count} chunks, {manifest.chunks} expected")
        old = self.current()
        self.client.update_collection(
            working.name,
            metadata={
                "concerta": {
                    "manifest": manifest.to_dict(),
                    "term_stats": _pack_stats(stats),
                    "published": dt.datetime.now(dt.UTC).isoformat(),
                    "retired_at": None,
                }
            },
        )
        actions: list[Any] = []
        if old:
            actions.append(
                models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=self.alias))
            )
        actions.append(
            models.CreateAliasOperation(
                create_alias=models.CreateAlias(collection_name=working.name, alias_name=self.alias)
            )
        )
        self.client.update_collection_aliases(change_aliases_operations=actions)
        if old and old != working.name:
            # Metadata is merged key by key at the top level: write "concerta" whole.
            retired = {**self._metadata(old), "retired_at": time.time()}
            self.client.update_collection(old, metadata={"concerta": retired})
        return working.name

    def discard(self, working: WorkingVersion) -> None:
        try:
            self.client.delete_collection(working.name)
        except Exception as exc:
            log.warning("cannot delete working collection %s: %s", working.name, exc)

    def prune(self, keep: int = 2) -> None:
        """Keep the served collection and the newest other one (the next to reuse); drop
        other versions and collections an interrupted run left unpublished."""
        current = self.current()
        kept = {name for name, _ in self._versions()[:keep]} | ({current} if current else set())
        for description in self.client.get_collections().collections:
            name = description.name
            if name.startswith(self.prefix) and name not in kept:
                self.client.delete_collection(name)


def _pack_stats(stats: TermStatistics) -> str:
    """Term statistics as compressed JSON text: collection metadata must stay small."""
    raw = json.dumps(stats.to_dict(), separators=(",", ":")).encode("utf-8")
    return base64.b64encode(zlib.compress(raw, 6)).decode("ascii")


def _unpack_stats(packed: Any) -> TermStatistics:
    if not isinstance(packed, str):
        raise ValueError("no term statistics")
    try:
        data = json.loads(zlib.decompress(base64.b64decode(packed)))
    except (ValueError, zlib.error) as exc:
        raise ValueError(f"damaged term statistics: {exc}") from exc
    return TermStatistics.from_dict(data)
