"""ServerChunkStore: one index version as a collection on a Qdrant server or cluster.

The same layout, filters and searches as EdgeChunkStore, through qdrant-client. Tests give
it a client in local mode (`QdrantClient(path=...)` or ":memory:"): qdrant-client's
reference implementation of the server's semantics, since no server runs on the build
machine. Payload indexes are created on a server; local mode has none (and warns).
"""

from __future__ import annotations

import warnings
from typing import Any

from haystack.dataclasses import SparseEmbedding
from qdrant_client import QdrantClient
from qdrant_client.http import models

from index_config.chunk_store import ChunkStore, Fields, FusedQuery, Request, VectorQuery
from index_config.points import DENSE, PAYLOAD_INDEXES, SPARSE, ChunkPoint, ScoredChunk
from index_config.qdrant_filters import ClientFilterBuilder
from index_config.store_errors import StoreError

_SCHEMA = {"keyword": models.PayloadSchemaType.KEYWORD, "integer": models.PayloadSchemaType.INTEGER}


def is_local_mode(client: QdrantClient) -> bool:
    """Whether the client runs qdrant-client's in-process reference instead of a server."""
    from qdrant_client.local.qdrant_local import QdrantLocal

    return isinstance(getattr(client, "_client", None), QdrantLocal)


class ServerChunkStore(ChunkStore):
    """A collection. `embedding_dim` given: create the collection if it does not exist."""

    def __init__(
        self,
        client: QdrantClient,
        collection: str,
        embedding_dim: int | None = None,
        shard_number: int | None = None,
        replication_factor: int | None = None,
    ) -> None:
        self.client = client
        self.collection = collection
        self.embedding_dim = embedding_dim
        self.shard_number = shard_number
        self.replication_factor = replication_factor
        self.filter_builder = ClientFilterBuilder()
        self._ready = False

    def to_dict(self) -> dict[str, Any]:
        # The client (URL, API key) belongs to the deployment, not to the store.
        return {
            "type": f"{type(self).__module__}.{type(self).__name__}",
            "init_parameters": {
                "collection": self.collection,
                "embedding_dim": self.embedding_dim,
                "shard_number": self.shard_number,
                "replication_factor": self.replication_factor,
            },
        }

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], client: QdrantClient | None = None
    ) -> ServerChunkStore:
        if client is None:
            raise StoreError("a ServerChunkStore needs a QdrantClient to be rebuilt")
        return cls(client, **data["init_parameters"])

    # Lifecycle -----------------------------------------------------------------------
    def _ensure(self) -> None:
        if self._ready:
            return
        with self._engine("open collection"):
            if not self.client.collection_exists(self.collection):
                if self.embedding_dim is None:
                    raise StoreError(f"no collection {self.collection}")
                self.create()
        self._ready = True

    def create(self) -> None:
        assert self.embedding_dim is not None
        self.client.create_collection(
            self.collection,
            vectors_config={
                DENSE: models.VectorParams(size=self.embedding_dim, distance=models.Distance.COSINE)
            },
            sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
            shard_number=self.shard_number,
            replication_factor=self.replication_factor,
        )
        if is_local_mode(self.client):
            return  # local mode has no payload indexes (it only warns)
        for field, schema in PAYLOAD_INDEXES:
            self.client.create_payload_index(
                self.collection, field_name=field, field_schema=_SCHEMA[schema], wait=True
            )

    def close(self) -> None:
        """The client is shared by the versions of a deployment: its owner closes it."""
        self._ready = False

    # Engine primitives -------------------------------------------------------------
    def _upsert(self, points: list[ChunkPoint]) -> None:
        self._ensure()
        self.client.upsert(self.collection, points=[_to_client(p) for p in points], wait=True)

    def _delete_ids(self, ids: list[str]) -> None:
        self._ensure()
        self.client.delete(self.collection, models.PointIdsList(points=list(ids)), wait=True)

    def _delete_filter(self, engine_filter: Any) -> None:
        if engine_filter is None:
            raise StoreError("refusing to delete by an empty filter")
        self._ensure()
        self.client.delete(self.collection, models.FilterSelector(filter=engine_filter), wait=True)

    def _scroll(
        self, engine_filter: Any, fields: Fields, vectors: bool, limit: int, offset: Any
    ) -> tuple[list[ChunkPoint], Any]:
        self._ensure()
        records, next_offset = self.client.scroll(
            self.collection,
            scroll_filter=engine_filter,
            limit=limit,
            offset=offset,
            with_payload=_payload(fields),
            with_vectors=vectors,
        )
        return [_from_client(r.id, r.payload, r.vector) for r in records], next_offset

    def _count(self, engine_filter: Any) -> int:
        self._ensure()
        return int(self.client.count(self.collection, count_filter=engine_filter, exact=True).count)

    def _facet(self, key: str, engine_filter: Any, limit: int) -> dict[Any, int]:
        self._ensure()
        response = self.client.facet(
            self.collection, key=key, facet_filter=engine_filter, limit=limit, exact=True
        )
        return {hit.value: int(hit.count) for hit in response.hits}

    def _retrieve(self, ids: list[str], fields: Fields, vectors: bool) -> list[ChunkPoint]:
        self._ensure()
        records = self.client.retrieve(
            self.collection, ids=list(ids), with_payload=_payload(fields), with_vectors=vectors
        )
        return [_from_client(r.id, r.payload, r.vector) for r in records]

    def _query_batch(self, requests: list[Request], fields: Fields) -> list[list[ScoredChunk]]:
        self._ensure()
        with warnings.catch_warnings():
            # Local mode warns that a formula is evaluated in Python; a server does not.
            warnings.simplefilter("ignore", UserWarning)
            responses = self.client.query_batch_points(
                self.collection, requests=[self._request(r, fields) for r in requests]
            )
        return [[_scored(p) for p in r.points] for r in responses]

    def _request(self, r: Request, fields: Fields) -> models.QueryRequest:
        if isinstance(r, VectorQuery):
            return models.QueryRequest(
                query=_query_vector(r),
                using=r.using,
                filter=self._filter(r.filters),
                limit=r.limit,
                with_payload=_payload(fields),
                with_vector=False,
            )
        prefetch = [
            models.Prefetch(
                query=_query_vector(q), using=q.using, filter=self._filter(q.filters), limit=q.limit
            )
            for q in r.queries
        ]
        return models.QueryRequest(
            prefetch=prefetch,
            query=_scoring(r),
            limit=r.limit,
            with_payload=_payload(fields),
            with_vector=False,
        )


# Conversions ----------------------------------------------------------------------------
def _payload(fields: Fields) -> Any:
    if isinstance(fields, bool):
        return fields
    return models.PayloadSelectorInclude(include=list(fields))


def _scoring(r: FusedQuery) -> Any:
    fusion, queries = r.fusion, list(r.queries)
    if fusion.method == "rrf":
        weights = [fusion.weight(q.using) for q in queries]
        return models.RrfQuery(rrf=models.Rrf(k=fusion.rrf_k, weights=weights))
    if fusion.method == "dbsf":
        return models.FusionQuery(fusion=models.Fusion.DBSF)
    terms: list[Any] = [
        models.MultExpression(mult=[factor, f"$score[{i}]"])
        for i, factor in fusion.formula_terms(queries)
    ]
    return models.FormulaQuery(
        formula=models.SumExpression(sum=terms),
        defaults={f"$score[{i}]": 0.0 for i in range(len(queries))},
    )


def _query_vector(q: VectorQuery) -> Any:
    if isinstance(q.vector, SparseEmbedding):
        return models.SparseVector(indices=list(q.vector.indices), values=list(q.vector.values))
    return list(q.vector)


def _to_client(point: ChunkPoint) -> models.PointStruct:
    vector: dict[str, Any] = {}
    if point.dense is not None:
        vector[DENSE] = list(point.dense)
    if point.sparse is not None and point.sparse.indices:
        vector[SPARSE] = models.SparseVector(
            indices=list(point.sparse.indices), values=list(point.sparse.values)
        )
    return models.PointStruct(id=point.id, vector=vector, payload=point.payload)


def _from_client(pid: Any, payload: dict[str, Any] | None, vector: Any) -> ChunkPoint:
    dense: list[float] | None = None
    sparse: SparseEmbedding | None = None
    if isinstance(vector, dict):
        raw = vector.get(DENSE)
        dense = [float(x) for x in raw] if isinstance(raw, list) else None
        raw_sparse = vector.get(SPARSE)
        if isinstance(raw_sparse, models.SparseVector):
            sparse = SparseEmbedding(
                indices=list(raw_sparse.indices), values=list(raw_sparse.values)
            )
    return ChunkPoint(id=str(pid), payload=payload or {}, dense=dense, sparse=sparse)


def _scored(point: Any) -> ScoredChunk:
    return ScoredChunk(id=str(point.id), score=float(point.score), payload=point.payload or {})
