"""EdgeChunkStore: one index version in a Qdrant Edge shard (qdrant-edge-py), in-process.

Qdrant Edge is the Qdrant engine as a library: HNSW for the dense vector, an inverted index
with the IDF modifier for the Catalan sparse vector, payload indexes for the filters, all
native code over memory-mapped files. The shard is created without a write-ahead log: a
version is written once by one ingest (which flushes before publishing and throws the
folder away if it dies), then only read. Without a WAL there is no lock file either, so
the server, the bot and `concerta search` can read the same published folder at once.
"""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import qdrant_edge as qe
from haystack import default_from_dict, default_to_dict
from haystack.dataclasses import SparseEmbedding

from index_config.chunk_store import ChunkStore, Fields, FusedQuery, Request, VectorQuery
from index_config.points import DENSE, PAYLOAD_INDEXES, SPARSE, ChunkPoint, ScoredChunk
from index_config.qdrant_filters import EdgeFilterBuilder
from index_config.store_errors import StoreError

_UNIT_FIELDS = {"id", "meta.unit_id"}
_SCHEMA = {"keyword": qe.PayloadSchemaType.Keyword, "integer": qe.PayloadSchemaType.Integer}


class EdgeChunkStore(ChunkStore):
    """A shard folder. `embedding_dim` given: create the shard if the folder has none."""

    def __init__(
        self,
        path: str | Path,
        embedding_dim: int | None = None,
        search_threads: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.embedding_dim = embedding_dim
        self.search_threads = search_threads
        self.filter_builder = EdgeFilterBuilder()
        self._shard: qe.EdgeShard | None = None
        self._lock = threading.Lock()
        # point id -> (chunk id, unit id) of a published version (see attach_units).
        self._units: dict[str, tuple[str, str]] | None = None

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(
            self,
            path=str(self.path),
            embedding_dim=self.embedding_dim,
            search_threads=self.search_threads,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EdgeChunkStore:
        return default_from_dict(cls, data)

    # Lifecycle -----------------------------------------------------------------------
    @property
    def shard(self) -> qe.EdgeShard:
        """Opened on first use (Haystack's lazy store pattern)."""
        if self._shard is None:
            with self._lock:
                if self._shard is None:
                    self._shard = self._open()
        return self._shard

    def _open(self) -> qe.EdgeShard:
        exists = (self.path / "edge_config.json").is_file()
        if not exists and self.embedding_dim is None:
            raise StoreError(f"no Qdrant Edge shard in {self.path}")
        try:
            if exists:
                # No configuration on load: Edge would rewrite it, and readers never write.
                return qe.EdgeShard.load(str(self.path))
            assert self.embedding_dim is not None
            shard = qe.EdgeShard.create(str(self.path), self._config(self.embedding_dim))
            for field, schema in PAYLOAD_INDEXES:
                shard.update(qe.UpdateOperation.create_field_index(field, _SCHEMA[schema]))
            return shard
        except Exception as exc:
            raise StoreError(f"cannot open the Qdrant Edge shard {self.path}: {exc}") from exc

    def _config(self, dim: int) -> qe.EdgeConfig:
        return qe.EdgeConfig(
            vectors={DENSE: qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine)},
            sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
            wal_enabled=False,
            # Persisted with the shard; None lets Edge size the pool from the CPU count.
            max_search_threads=self.search_threads,
        )

    def flush(self) -> None:
        if self._shard is not None:
            with self._engine("flush"):
                self._shard.flush()

    def optimize(self) -> None:
        with self._engine("optimize"):
            self.shard.optimize()

    def close(self) -> None:
        with self._lock:
            shard, self._shard = self._shard, None
        if shard is not None:
            with self._engine("close"):
                shard.close()

    def attach_units(self, units: dict[str, tuple[str, str]]) -> None:
        """Searches then answer chunk and unit ids from this map instead of the payload:
        reading payloads is most of the cost of a search (measured: 0.3 ms for the ids
        and scores of 300 candidates, 5 ms with two payload fields)."""
        self._units = units

    def points_by_id(self, ids: list[str]) -> list[ChunkPoint]:
        """Points by point id, with their chunk and unit ids from the payload."""
        with self._engine("retrieve"):
            return self._retrieve(ids, ["id", "meta.unit_id"], vectors=False)

    def dense_dimension(self) -> int | None:
        """The dense vector size the shard was created with."""
        import json

        try:
            config = json.loads((self.path / "edge_config.json").read_text("utf-8"))
            return int(config["vectors"][DENSE]["size"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    # Engine primitives -------------------------------------------------------------
    def _upsert(self, points: list[ChunkPoint]) -> None:
        self.shard.update(qe.UpdateOperation.upsert_points([_to_edge(p) for p in points]))

    def _delete_ids(self, ids: list[str]) -> None:
        self.shard.update(qe.UpdateOperation.delete_points([uuid.UUID(i) for i in ids]))

    def _delete_filter(self, engine_filter: Any) -> None:
        if engine_filter is None:
            raise StoreError("refusing to delete by an empty filter")
        self.shard.update(qe.UpdateOperation.delete_points_by_filter(engine_filter))

    def _scroll(
        self, engine_filter: Any, fields: Fields, vectors: bool, limit: int, offset: Any
    ) -> tuple[list[ChunkPoint], Any]:
        records, next_offset = self.shard.scroll(
            qe.ScrollRequest(
                offset=offset,
                limit=limit,
                filter=engine_filter,
                with_payload=_payload(fields),
                with_vector=vectors,
            )
        )
        return [_from_edge(r.id, r.payload, r.vector) for r in records], next_offset

    def _count(self, engine_filter: Any) -> int:
        return int(self.shard.count(qe.CountRequest(exact=True, filter=engine_filter)))

    def _facet(self, key: str, engine_filter: Any, limit: int) -> dict[Any, int]:
        response = self.shard.facet(
            qe.FacetRequest(key, limit=limit, exact=True, filter=engine_filter)
        )
        return {hit.value: int(hit.count) for hit in response.hits}

    def _retrieve(self, ids: list[str], fields: Fields, vectors: bool) -> list[ChunkPoint]:
        records = self.shard.retrieve(
            [uuid.UUID(i) for i in ids], with_payload=_payload(fields), with_vector=vectors
        )
        return [_from_edge(r.id, r.payload, r.vector) for r in records]

    def _query_batch(self, requests: list[Request], fields: Fields) -> list[list[ScoredChunk]]:
        units = self._units
        from_map = units is not None and fields is not True and set(fields or []) <= _UNIT_FIELDS
        asked: Fields = False if from_map else fields
        batch = qe.QueryBatchRequest([self._request(r, asked) for r in requests])
        results = self.shard.query_batch(batch)
        if not from_map:
            return [[_scored(p) for p in result] for result in results]
        assert units is not None
        out = []
        for result in results:
            scored = []
            for p in result:
                pid = str(p.id)
                chunk, unit = units.get(pid) or self._unit_of(pid)
                scored.append(
                    ScoredChunk(pid, float(p.score), {"id": chunk, "meta": {"unit_id": unit}})
                )
            out.append(scored)
        return out

    def _unit_of(self, pid: str) -> tuple[str, str]:
        """A point missing from the map (never for a published version): its payload."""
        (point,) = self._retrieve([pid], ["id", "meta.unit_id"], vectors=False)
        meta = point.payload.get("meta") or {}
        return point.chunk_id, str(meta.get("unit_id") or point.chunk_id)

    def _request(self, r: Request, fields: Fields) -> qe.QueryRequest:
        if isinstance(r, VectorQuery):
            return qe.QueryRequest(
                limit=r.limit,
                query=_nearest(r),
                filter=self._filter(r.filters),
                with_payload=_payload(fields),
                with_vector=False,
            )
        prefetches = [
            qe.Prefetch(limit=q.limit, query=_nearest(q), filter=self._filter(q.filters))
            for q in r.queries
        ]
        return qe.QueryRequest(
            limit=r.limit,
            prefetches=prefetches,
            query=_scoring(r),
            with_payload=_payload(fields),
            with_vector=False,
        )


# Conversions ----------------------------------------------------------------------------
def _payload(fields: Fields) -> Any:
    if isinstance(fields, bool):
        return fields
    return qe.PayloadSelector.Include(list(fields))


def _scoring(r: FusedQuery) -> Any:
    fusion, queries = r.fusion, list(r.queries)
    if fusion.method == "rrf":
        return qe.Fusion.Rrf(k=fusion.rrf_k, weights=[fusion.weight(q.using) for q in queries])
    if fusion.method == "dbsf":
        return qe.Fusion.Dbsf()
    E = qe.Expression
    terms = [
        E.Mult([E.Constant(factor), E.Variable(f"$score[{i}]")])
        for i, factor in fusion.formula_terms(queries)
    ]
    return qe.Formula(E.Sum(terms), defaults={f"$score[{i}]": 0.0 for i in range(len(queries))})


def _nearest(q: VectorQuery) -> Any:
    if isinstance(q.vector, SparseEmbedding):
        vector: Any = qe.SparseVector(list(q.vector.indices), list(q.vector.values))
    else:
        vector = list(q.vector)
    return qe.Query.Nearest(vector, using=q.using)


def _to_edge(point: ChunkPoint) -> qe.Point:
    vectors: dict[str, Any] = {}
    if point.dense is not None:
        vectors[DENSE] = list(point.dense)
    if point.sparse is not None and point.sparse.indices:
        vectors[SPARSE] = qe.SparseVector(list(point.sparse.indices), list(point.sparse.values))
    return qe.Point(uuid.UUID(point.id), vectors, point.payload)


def _from_edge(pid: Any, payload: dict[str, Any] | None, vector: Any) -> ChunkPoint:
    dense: list[float] | None = None
    sparse: SparseEmbedding | None = None
    if isinstance(vector, dict):
        raw = vector.get(DENSE)
        dense = [float(x) for x in raw] if raw is not None else None
        raw_sparse = vector.get(SPARSE)
        if raw_sparse is not None:
            sparse = SparseEmbedding(
                indices=list(raw_sparse.indices), values=list(raw_sparse.values)
            )
    return ChunkPoint(id=str(pid), payload=payload or {}, dense=dense, sparse=sparse)


def _scored(point: Any) -> ScoredChunk:
    return ScoredChunk(id=str(point.id), score=float(point.score), payload=point.payload or {})
