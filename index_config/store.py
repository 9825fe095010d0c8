"""Index versions in Qdrant: readers follow the published version, writers build a new one.

Qdrant local mode lets only one process open a storage folder, and an ingest run that dies
half way must never leave a half-written index behind. So an ingest never writes to the
version that is being served: it copies it (local mode: the folder; server mode: the
collection), applies its changes to the copy and publishes the copy atomically (local: an
os.replace of the CURRENT pointer file; server: a collection alias switch). A running
server notices the new pointer and swaps to it between requests.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from haystack.utils import Secret
from haystack_integrations.document_stores.qdrant import QdrantDocumentStore

from index_config.settings import Settings

MANIFEST = "concerta-index.json"
# Payload fields filtered on; indexed so filters stay fast on a large catalogue.
PAYLOAD_INDEXES: list[dict[str, Any]] = [
    {"field_name": f"meta.{name}", "field_schema": schema}
    for name, schema in (
        ("doc_id", "keyword"),
        ("kind", "keyword"),
        ("source", "keyword"),
        ("codi", "keyword"),
        ("tipologia", "keyword"),
        ("classe", "keyword"),
        ("area", "keyword"),
        ("destinataris", "keyword"),
        ("any", "integer"),
        ("termini_inici_num", "integer"),
        ("termini_fi_num", "integer"),
    )
]


@dataclass(frozen=True)
class IndexManifest:
    """What a version was built with; a query must be embedded the same way."""

    model: str
    embedding_dim: int
    fingerprint: str
    created: str

    @classmethod
    def read(cls, path: Path) -> IndexManifest | None:
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.__dict__, indent=2), encoding="utf-8")


def _new_version_name() -> str:
    # Microseconds: versions published within one second must still sort by age.
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    return f"v{stamp}-{uuid.uuid4().hex[:6]}"


class IndexVersions:
    """Local-mode versions under <data_dir>/qdrant (or collections behind an alias on a
    Qdrant server when CONCERTA_QDRANT_URL is set)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.qdrant_dir
        self.collection = settings.qdrant.collection

    # Pointer -----------------------------------------------------------------------
    @property
    def is_server(self) -> bool:
        return bool(self.settings.qdrant_url)

    @property
    def pointer(self) -> Path:
        return self.root / "CURRENT"

    def current(self) -> str | None:
        """The published version, or None before the first successful ingest."""
        if self.is_server:
            client = self._server_client()
            try:
                for alias in client.get_aliases().aliases:
                    if alias.alias_name == self.collection:
                        return alias.collection_name
                return None
            finally:
                client.close()
        try:
            name = self.pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return name if name and (self.root / "versions" / name).is_dir() else None

    def pointer_token(self) -> str | None:
        """Cheap change detector for readers (mtime + name of the pointer)."""
        if self.is_server:
            return self.current()
        try:
            stat = self.pointer.stat()
        except FileNotFoundError:
            return None
        return f"{stat.st_mtime_ns}:{stat.st_size}"

    def manifest(self, version: str) -> IndexManifest | None:
        if self.is_server:
            client = self._server_client()
            try:
                info = client.get_collection(version)
                meta = getattr(info.config, "metadata", None) or {}
                data = meta.get("concerta")
                return IndexManifest(**data) if data else None
            finally:
                client.close()
        return IndexManifest.read(self.version_dir(version) / MANIFEST)

    def version_dir(self, version: str) -> Path:
        return self.root / "versions" / version

    # Writers -----------------------------------------------------------------------
    def new_version(self, copy_from: str | None) -> str:
        """Create a private working copy of `copy_from` (or an empty version)."""
        name = _new_version_name()
        if self.is_server:
            if copy_from:
                self._copy_server_collection(copy_from, f"{self.collection}__{name}")
            return f"{self.collection}__{name}"
        target = self.version_dir(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(name + ".tmp")
        if copy_from:
            # The server may have the source folder open; copying its files is safe
            # because readers never write. The lock file is per-folder, so skip it.
            shutil.copytree(
                self.version_dir(copy_from), staging, ignore=shutil.ignore_patterns(".lock")
            )
        else:
            staging.mkdir(parents=True)
        return staging.name

    def open_store(self, version: str, embedding_dim: int) -> QdrantDocumentStore:
        """A document store on one version (created empty if new)."""
        common = self._store_arguments(embedding_dim)
        if self.is_server:
            api_key = self.settings.qdrant_api_key
            return QdrantDocumentStore(
                url=self.settings.qdrant_url,
                api_key=Secret.from_token(api_key.get_secret_value()) if api_key else None,
                index=version,
                shard_number=self.settings.qdrant.shard_number,
                replication_factor=self.settings.qdrant.replication_factor,
                **common,
            )
        return self.open_store_at(self.root / "versions" / version, embedding_dim)

    def open_store_at(self, folder: Path, embedding_dim: int) -> QdrantDocumentStore:
        """A local-mode store on any folder holding a version (e.g. a private copy)."""
        return QdrantDocumentStore(
            path=str(folder), index=self.collection, **self._store_arguments(embedding_dim)
        )

    def _store_arguments(self, embedding_dim: int) -> dict[str, Any]:
        return {
            "embedding_dim": embedding_dim,
            "use_sparse_embeddings": True,
            "sparse_idf": True,
            "similarity": "cosine",
            "progress_bar": False,
            "write_batch_size": self.settings.qdrant.write_batch_size,
            # Local mode ignores payload indexes (and warns); a server uses them.
            "payload_fields_to_index": PAYLOAD_INDEXES if self.is_server else None,
            "wait_result_from_api": True,
        }

    def write_manifest(self, version: str, manifest: IndexManifest) -> None:
        if self.is_server:
            client = self._server_client()
            try:
                client.update_collection(version, metadata={"concerta": manifest.__dict__})
            finally:
                client.close()
            return
        manifest.write(self.root / "versions" / version / MANIFEST)

    def publish(self, working: str) -> str:
        """Make a finished working copy the served version (atomic). Returns its name."""
        if self.is_server:
            from qdrant_client.http import models as rest

            client = self._server_client()
            try:
                old = self.current()
                actions: list[Any] = []
                if old:
                    actions.append(
                        rest.DeleteAliasOperation(
                            delete_alias=rest.DeleteAlias(alias_name=self.collection)
                        )
                    )
                actions.append(
                    rest.CreateAliasOperation(
                        create_alias=rest.CreateAlias(
                            collection_name=working, alias_name=self.collection
                        )
                    )
                )
                client.update_collection_aliases(change_aliases_operations=actions)
            finally:
                client.close()
            return working
        final = working.removesuffix(".tmp")
        os.replace(self.version_dir(working), self.version_dir(final))
        # Publication order, for prune: names alone cannot order versions made within
        # one clock tick.
        with open(self.root / "PUBLISHED", "a", encoding="utf-8") as log:
            log.write(final + "\n")
        tmp_pointer = self.pointer.with_name(f"CURRENT.{os.getpid()}.tmp")
        tmp_pointer.write_text(final + "\n", encoding="utf-8")
        with open(tmp_pointer, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_pointer, self.pointer)
        return final

    def discard(self, working: str) -> None:
        if self.is_server:
            client = self._server_client()
            try:
                client.delete_collection(working)
            finally:
                client.close()
            return
        shutil.rmtree(self.version_dir(working), ignore_errors=True)

    def prune(self, keep: int = 2) -> None:
        """Remove old versions and leftovers of interrupted runs (keep the newest ones:
        a server may still be reading the previous version for a moment)."""
        if self.is_server:
            return
        versions_dir = self.root / "versions"
        if not versions_dir.is_dir():
            return
        current = self.current()
        try:
            published = (self.root / "PUBLISHED").read_text(encoding="utf-8").split()
        except FileNotFoundError:
            published = []
        keep_set = set(published[-keep:]) | ({current} if current else set())
        if len(published) > 100:  # keep the log short
            (self.root / "PUBLISHED").write_text("\n".join(published[-keep:]) + "\n", "utf-8")
        for path in versions_dir.iterdir():
            if path.name not in keep_set:
                shutil.rmtree(path, ignore_errors=True)

    # Server helpers ----------------------------------------------------------------
    def _server_client(self) -> Any:
        from qdrant_client import QdrantClient

        api_key = self.settings.qdrant_api_key
        return QdrantClient(
            url=self.settings.qdrant_url,
            api_key=api_key.get_secret_value() if api_key else None,
        )

    def _copy_server_collection(self, source: str, target: str) -> None:
        client = self._server_client()
        try:
            info = client.get_collection(source)
            params = info.config.params
            client.create_collection(
                target,
                vectors_config=params.vectors,
                sparse_vectors_config=params.sparse_vectors,
                shard_number=self.settings.qdrant.shard_number,
                replication_factor=self.settings.qdrant.replication_factor,
            )
            offset = None
            while True:
                points, offset = client.scroll(
                    source, limit=256, offset=offset, with_payload=True, with_vectors=True
                )
                if points:
                    from qdrant_client.http import models as rest

                    client.upsert(
                        target,
                        points=[
                            rest.PointStruct(id=p.id, vector=p.vector or {}, payload=p.payload)
                            for p in points
                        ],
                    )
                if offset is None:
                    break
        finally:
            client.close()
