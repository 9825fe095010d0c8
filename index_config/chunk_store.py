"""ChunkStore: the index chunks in one Qdrant collection, the same interface for every engine.

Two engines implement it: Qdrant Edge in-process (edge_store.py, the embedded default) and a
Qdrant server or cluster through qdrant-client (server_store.py; qdrant-client's local mode,
the reference implementation of the server's semantics, stands in for a server in tests).
Both lay chunks out the same way (points.py) and translate the same Haystack filters
(qdrant_filters.py), and a congruence test checks that they rank alike.

It is a Haystack DocumentStore (count/filter/write/delete documents, to_dict/from_dict)
plus what the project needs on top: batched dense + sparse searches, searches fused by the
engine over prefetches, reading a few chunks by id, and moving whole points (with their
vectors) between versions.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from haystack import Document
from haystack.dataclasses import SparseEmbedding
from haystack.document_stores.errors import DuplicateDocumentError
from haystack.document_stores.types import DuplicatePolicy

from index_config.points import ChunkPoint, ScoredChunk, point_id, ranked
from index_config.qdrant_filters import FilterBuilder, FilterSyntaxError, translate
from index_config.store_errors import StoreError

Fields = bool | list[str]
WRITE_BATCH = 256


@dataclass(frozen=True)
class VectorQuery:
    """One nearest-neighbour search on one of the two named vectors."""

    using: Literal["dense", "sparse"]
    vector: list[float] | SparseEmbedding
    limit: int
    filters: dict[str, Any] | None = None

    @property
    def is_empty(self) -> bool:
        return isinstance(self.vector, SparseEmbedding) and not self.vector.indices


@dataclass(frozen=True)
class EngineFusion:
    """How the engine fuses prefetched lists: weighted RRF, DBSF, or a formula
    (`dense_weight * dense + sparse_weight * sparse / sparse_scale`). A side whose weight is
    0 is not fused at all (so (1, 0) ranks by the dense side alone, for any method)."""

    method: Literal["rrf", "dbsf", "formula"]
    dense_weight: float = 1.0
    sparse_weight: float = 1.0
    rrf_k: int = 60
    sparse_scale: float = 1.0

    def weight(self, using: str) -> float:
        return self.dense_weight if using == "dense" else self.sparse_weight

    def formula_terms(self, queries: list[VectorQuery]) -> list[tuple[int, float]]:
        """(prefetch position, factor) per query: the formula's $score[i] weights."""
        return [
            (i, self.weight(q.using) / (self.sparse_scale if q.using == "sparse" else 1.0))
            for i, q in enumerate(queries)
        ]


@dataclass(frozen=True)
class FusedQuery:
    """Prefetches (dense first), fused by the engine into one list."""

    queries: tuple[VectorQuery, ...]
    fusion: EngineFusion
    limit: int


Request = VectorQuery | FusedQuery


class ChunkStore(ABC):
    """One version's chunks in one Qdrant collection (or Edge shard)."""

    filter_builder: FilterBuilder

    # Engine primitives ----------------------------------------------------------------
    @abstractmethod
    def _upsert(self, points: list[ChunkPoint]) -> None: ...

    @abstractmethod
    def _delete_ids(self, ids: list[str]) -> None: ...

    @abstractmethod
    def _delete_filter(self, engine_filter: Any) -> None: ...

    @abstractmethod
    def _scroll(
        self, engine_filter: Any, fields: Fields, vectors: bool, limit: int, offset: Any
    ) -> tuple[list[ChunkPoint], Any]: ...

    @abstractmethod
    def _count(self, engine_filter: Any) -> int: ...

    @abstractmethod
    def _facet(self, key: str, engine_filter: Any, limit: int) -> dict[Any, int]:
        """Exact counts of the values of an indexed payload field."""

    @abstractmethod
    def _retrieve(self, ids: list[str], fields: Fields, vectors: bool) -> list[ChunkPoint]: ...

    @abstractmethod
    def _query_batch(self, requests: list[Request], fields: Fields) -> list[list[ScoredChunk]]:
        """One engine call for several searches, plain or fused."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """Haystack serialisation (each store has its `from_dict`)."""

    def flush(self) -> None:
        """Make every write durable (a server does it on each write)."""
        return None

    def optimize(self) -> None:
        """Build indexes and merge segments (a server does it in the background)."""
        return None

    # Errors -----------------------------------------------------------------------
    @contextlib.contextmanager
    def _engine(self, what: str) -> Iterator[None]:
        """Engines raise their own exceptions (Edge: plain Exception): one StoreError."""
        try:
            yield
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"{what} failed: {exc}") from exc

    def _filter(self, filters: dict[str, Any] | None) -> Any:
        try:
            return translate(filters, self.filter_builder)
        except (TypeError, ValueError) as exc:  # a value the engine's classes refuse
            if isinstance(exc, StoreError):
                raise
            raise FilterSyntaxError(f"filter not expressible: {exc}") from exc

    # Haystack DocumentStore protocol ----------------------------------------------------
    def count_documents(self) -> int:
        with self._engine("count"):
            return self._count(None)

    def count_filtered(self, filters: dict[str, Any] | None) -> int:
        """How many chunks match the Haystack filters (counted by the engine)."""
        with self._engine("count"):
            return self._count(self._filter(filters))

    def filter_documents(self, filters: dict[str, Any] | None = None) -> list[Document]:
        """Every chunk matching the Haystack filters (no vectors), in point id order."""
        return [p.to_document() for p in self._scan(filters, True, vectors=False)]

    def write_documents(
        self, documents: list[Document], policy: DuplicatePolicy = DuplicatePolicy.NONE
    ) -> int:
        """Write chunks with their `embedding` and `sparse_embedding`. NONE means FAIL."""
        for doc in documents:
            if not isinstance(doc, Document):
                raise ValueError(f"not a Document: {doc!r}")
        if policy in (DuplicatePolicy.NONE, DuplicatePolicy.FAIL, DuplicatePolicy.SKIP):
            existing = {d.id for d in self.get_documents([d.id for d in documents])}
            if existing and policy != DuplicatePolicy.SKIP:
                raise DuplicateDocumentError(f"documents already exist: {sorted(existing)[:5]}")
            documents = [d for d in documents if d.id not in existing]
        self.upsert_points([ChunkPoint.from_document(d) for d in documents])
        return len(documents)

    def delete_documents(self, document_ids: list[str]) -> None:
        self.delete_points(document_ids)

    # Writes ---------------------------------------------------------------------------
    def upsert_points(self, points: Iterable[ChunkPoint]) -> None:
        batch: list[ChunkPoint] = []
        with self._engine("upsert"):
            for point in points:
                batch.append(point)
                if len(batch) == WRITE_BATCH:
                    self._upsert(batch)
                    batch = []
            if batch:
                self._upsert(batch)

    def delete_points(self, chunk_ids: list[str]) -> None:
        if chunk_ids:
            with self._engine("delete"):
                self._delete_ids([point_id(c) for c in chunk_ids])

    def delete_by_filter(self, filters: dict[str, Any]) -> None:
        with self._engine("delete by filter"):
            self._delete_filter(self._filter(filters))

    # Reads ----------------------------------------------------------------------------
    def scan(
        self, fields: list[str], filters: dict[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        """The payload (only `fields`, and always "id") of every matching chunk."""
        wanted = list(dict.fromkeys(["id", *fields]))
        for point in self._scan(filters, wanted, vectors=False):
            yield point.payload

    def _scan(
        self, filters: dict[str, Any] | None, fields: Fields, vectors: bool, batch: int = 2048
    ) -> Iterator[ChunkPoint]:
        engine_filter = self._filter(filters)
        offset: Any = None
        while True:
            with self._engine("scroll"):
                points, offset = self._scroll(engine_filter, fields, vectors, batch, offset)
            yield from points
            if offset is None:
                return

    def facet(
        self, key: str, filters: dict[str, Any] | None = None, limit: int = 1000
    ) -> dict[Any, int]:
        """How many chunks have each value of an indexed payload field (e.g. "meta.any"):
        the engine counts from its payload index, so no payload is read."""
        with self._engine("facet"):
            return self._facet(key, self._filter(filters), limit)

    def get_documents(self, chunk_ids: list[str]) -> list[Document]:
        """The chunks with these ids (whole payload, no vectors), in the order asked."""
        return [p.to_document() for p in self._get(chunk_ids, True, vectors=False)]

    def export_points(self, chunk_ids: list[str]) -> list[ChunkPoint]:
        """Whole points (payload and both vectors), to copy them into another version."""
        return self._get(chunk_ids, True, vectors=True)

    def _get(self, chunk_ids: list[str], fields: Fields, vectors: bool) -> list[ChunkPoint]:
        if not chunk_ids:
            return []
        with self._engine("retrieve"):
            found = {
                p.id: p for p in self._retrieve([point_id(c) for c in chunk_ids], fields, vectors)
            }
        return [found[point_id(c)] for c in chunk_ids if point_id(c) in found]

    # Searches ---------------------------------------------------------------------------
    def search(self, queries: list[VectorQuery], fields: Fields = False) -> list[list[ScoredChunk]]:
        """Several searches in one engine call; each list best first (ties by chunk id)."""
        asked: list[Request] = [q for q in queries if not q.is_empty]
        with self._engine("search"):
            results = iter(self._query_batch(asked, _with_id(fields)) if asked else [])
        return [[] if q.is_empty else ranked(next(results)) for q in queries]

    def fused_search(
        self, queries: list[VectorQuery], fusion: EngineFusion, limit: int, fields: Fields = False
    ) -> list[ScoredChunk]:
        """One query whose prefetches are `queries` (dense first), fused by the engine."""
        fused = _fused(queries, fusion, limit)
        if fused is None:
            return []
        with self._engine("fused search"):
            return ranked(self._query_batch([fused], _with_id(fields))[0])

    def hybrid_search(
        self, queries: list[VectorQuery], fusion: EngineFusion, limit: int, fields: Fields = False
    ) -> tuple[list[ScoredChunk], list[list[ScoredChunk]]]:
        """The engine's fusion of `queries` and each query's own list, in one engine call
        (the lists give each result's raw dense and sparse scores)."""
        fused = _fused(queries, fusion, limit)
        if fused is None:
            return [], [[] for _ in queries]
        asked: list[Request] = [fused, *(q for q in queries if not q.is_empty)]
        with self._engine("hybrid search"):
            results = iter(self._query_batch(asked, _with_id(fields)))
        first = ranked(next(results))
        return first, [[] if q.is_empty else ranked(next(results)) for q in queries]


def _fused(queries: list[VectorQuery], fusion: EngineFusion, limit: int) -> FusedQuery | None:
    # A side weighted 0 is left out, whatever the method (DBSF has no weights of its own).
    asked = tuple(q for q in queries if not q.is_empty and fusion.weight(q.using) > 0)
    return FusedQuery(asked, fusion, limit) if asked else None


def _with_id(fields: Fields) -> Fields:
    if fields is True:
        return True
    return list(dict.fromkeys(["id", *(fields or [])]))
