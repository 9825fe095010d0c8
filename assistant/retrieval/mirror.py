"""VectorMirror: the published local-mode version's vectors in memory, scored with numpy.

Qdrant's local mode is a pure-Python reference implementation: its sparse search costs
about 0.4 ms per point and copies every candidate's payload, so it dominated query time
(measured: ~105 of ~150 ms per query on 262 chunks). A version never changes once
published, so the embedded deployment loads its points once and scores them here, with
Qdrant's own formulas (cosine; sparse dot product with IDF = ln((N - df + 0.5)/(df + 0.5) + 1)).
tests/integration/test_mirror.py checks it returns what Qdrant returns. A Qdrant server
(CONCERTA_QDRANT_URL) is queried directly: its search is native code.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from haystack import Document
from haystack.dataclasses import SparseEmbedding
from haystack_integrations.document_stores.qdrant import QdrantDocumentStore
from scipy.sparse import csr_matrix

from assistant.models import Filters


class VectorMirror:
    def __init__(self, documents: list[Document]) -> None:
        self.documents = documents
        n = len(documents)
        dim = max((len(d.embedding or []) for d in documents), default=0)
        dense = np.zeros((n, dim), dtype=np.float32)
        for i, doc in enumerate(documents):
            if doc.embedding:
                vector = np.asarray(doc.embedding, dtype=np.float32)
                norm = float(np.linalg.norm(vector))
                dense[i] = vector / norm if norm else vector
        self.dense = dense
        rows, cols, values = [], [], []
        self._column: dict[int, int] = {}
        for i, doc in enumerate(documents):
            sparse = doc.sparse_embedding
            if sparse is None:
                continue
            for index, value in zip(sparse.indices, sparse.values, strict=True):
                col = self._column.setdefault(index, len(self._column))
                rows.append(i)
                cols.append(col)
                values.append(value)
        self.sparse = csr_matrix((values, (rows, cols)), shape=(n, max(len(self._column), 1)))
        with_sparse = sum(1 for d in documents if d.sparse_embedding is not None)
        df = np.bincount(np.asarray(cols, dtype=np.int64), minlength=self.sparse.shape[1])
        self.idf = np.log((with_sparse - df + 0.5) / (df + 0.5) + 1.0)
        self._meta = [d.meta for d in documents]

    @classmethod
    def load(cls, store: QdrantDocumentStore) -> VectorMirror:
        """All points of a version, with their dense and sparse vectors."""
        previous = store.return_embedding
        store.return_embedding = True
        try:
            documents = store.filter_documents()
        finally:
            store.return_embedding = previous
        return cls(documents)

    # Filters -----------------------------------------------------------------------
    def _mask(self, filters: Filters | None) -> np.ndarray:
        mask = np.ones(len(self.documents), dtype=bool)
        if filters is None or filters.is_empty():
            return mask
        wanted: dict[str, Any] = filters.model_dump(exclude_none=True)
        day = wanted.pop("obert_a", None)
        day_num = int(day.strftime("%Y%m%d")) if day else None
        for i, meta in enumerate(self._meta):
            for key, value in wanted.items():
                actual = meta.get(key)
                ok = value in actual if isinstance(actual, list) else actual == value
                if not ok:
                    mask[i] = False
                    break
            if mask[i] and day_num is not None:
                start, end = meta.get("termini_inici_num"), meta.get("termini_fi_num")
                mask[i] = start is not None and end is not None and start <= day_num <= end
        return mask

    # Scoring -----------------------------------------------------------------------
    def _top(
        self, scores: np.ndarray, mask: np.ndarray, limit: int, positive: bool
    ) -> list[Document]:
        scores = np.where(mask, scores, -np.inf)
        if positive:
            scores = np.where(scores > 0, scores, -np.inf)
        count = min(limit, int(np.isfinite(scores).sum()))
        if count <= 0:
            return []
        top = np.argpartition(-scores, count - 1)[:count]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [
            replace(
                self.documents[i], score=float(scores[i]), embedding=None, sparse_embedding=None
            )
            for i in top
        ]

    def dense_search(
        self, embedding: list[float], filters: Filters | None, limit: int
    ) -> list[Document]:
        query = np.asarray(embedding, dtype=np.float32)
        norm = float(np.linalg.norm(query))
        if norm:
            query = query / norm
        return self._top(self.dense @ query, self._mask(filters), limit, positive=False)

    def sparse_search(
        self, embedding: SparseEmbedding, filters: Filters | None, limit: int
    ) -> list[Document]:
        query = np.zeros(self.sparse.shape[1], dtype=np.float64)
        for index, value in zip(embedding.indices, embedding.values, strict=True):
            col = self._column.get(index)
            if col is not None:
                query[col] += value * self.idf[col]
        if not query.any():
            return []
        scores = np.asarray(self.sparse @ query).ravel()
        return self._top(scores, self._mask(filters), limit, positive=True)
