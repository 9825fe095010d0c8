"""The Haystack DocumentStore protocol on both chunk stores: Qdrant Edge (a real shard in a
temporary folder) and qdrant-client's local mode (the server path's reference)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from haystack import Document
from haystack.dataclasses import SparseEmbedding
from haystack.document_stores.errors import DuplicateDocumentError
from haystack.document_stores.types import DuplicatePolicy
from qdrant_client import QdrantClient

from index_config.chunk_store import ChunkStore, VectorQuery
from index_config.edge_store import EdgeChunkStore
from index_config.server_store import ServerChunkStore
from index_config.store_errors import StoreError

pytestmark = pytest.mark.integration


@pytest.fixture(params=["edge", "reference"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ChunkStore]:
    if request.param == "edge":
        edge = EdgeChunkStore(tmp_path / "shard", embedding_dim=3)
        yield edge
        edge.close()
    else:
        client = QdrantClient(":memory:")
        yield ServerChunkStore(client, "chunks", embedding_dim=3)
        client.close()


def chunk(i: int, text: str = "text", kind: str = "recurs") -> Document:
    return Document(
        id=f"recurs:{i}#0",
        content=f"{text} {i}",
        meta={"doc_id": f"recurs:{i}", "unit_id": f"recurs:{i}", "kind": kind, "any": 2022},
        embedding=[1.0, float(i), 0.5],
        sparse_embedding=SparseEmbedding(indices=[i, 100], values=[1.0, 0.5]),
    )


def test_write_count_filter_and_delete(store: ChunkStore) -> None:
    assert store.count_documents() == 0
    assert (
        store.write_documents([chunk(i, kind="faq" if i % 2 else "recurs") for i in range(6)]) == 6
    )
    assert store.count_documents() == 6
    faq = store.filter_documents({"field": "meta.kind", "operator": "==", "value": "faq"})
    assert sorted(d.id for d in faq) == ["recurs:1#0", "recurs:3#0", "recurs:5#0"]
    assert faq[0].embedding is None and faq[0].meta["any"] == 2022
    store.delete_documents(["recurs:1#0", "recurs:2#0", "recurs:404#0"])
    assert store.count_documents() == 4
    store.delete_by_filter({"field": "meta.kind", "operator": "==", "value": "faq"})
    assert sorted(d.id for d in store.filter_documents()) == ["recurs:0#0", "recurs:4#0"]


def test_facets_count_the_values_of_an_indexed_field(store: ChunkStore) -> None:
    docs = [chunk(i, kind="faq" if i % 3 == 0 else "recurs") for i in range(7)]
    for doc in docs[:4]:
        doc.meta.update(any=2021, url_host="cataleg.exemple.cat")
    store.write_documents(docs)
    recurs = {"field": "meta.kind", "operator": "==", "value": "recurs"}
    assert store.facet("meta.any") == {2021: 4, 2022: 3}
    assert store.facet("meta.any", recurs) == {2021: 2, 2022: 2}
    assert store.facet("meta.url_host", recurs) == {"cataleg.exemple.cat": 2}


def test_duplicate_policies(store: ChunkStore) -> None:
    store.write_documents([chunk(1, "old")])
    with pytest.raises(DuplicateDocumentError):
        store.write_documents([chunk(1, "new")])
    with pytest.raises(DuplicateDocumentError):
        store.write_documents([chunk(1, "new")], policy=DuplicatePolicy.FAIL)
    assert store.write_documents([chunk(1, "new"), chunk(2)], policy=DuplicatePolicy.SKIP) == 1
    assert store.get_documents(["recurs:1#0"])[0].content == "old 1"
    store.write_documents([chunk(1, "new")], policy=DuplicatePolicy.OVERWRITE)
    assert store.get_documents(["recurs:1#0"])[0].content == "new 1"
    assert store.count_documents() == 2


def test_points_keep_their_vectors_and_searches_find_them(store: ChunkStore) -> None:
    store.write_documents([chunk(i) for i in range(4)])
    (point,) = store.export_points(["recurs:2#0"])
    assert point.sparse is not None and list(point.sparse.indices) == [2, 100]
    assert point.dense is not None and len(point.dense) == 3
    dense, sparse, empty = store.search(
        [
            VectorQuery("dense", [1.0, 3.0, 0.5], 2),
            VectorQuery("sparse", SparseEmbedding(indices=[2], values=[1.0]), 5),
            VectorQuery("sparse", SparseEmbedding(indices=[], values=[]), 5),
        ]
    )
    assert [r.chunk_id for r in dense] == ["recurs:3#0", "recurs:2#0"]
    assert [r.chunk_id for r in sparse] == ["recurs:2#0"] and empty == []


def test_to_dict_and_from_dict(store: ChunkStore, tmp_path: Path) -> None:
    data = store.to_dict()
    if isinstance(store, EdgeChunkStore):
        store.close()
        again: ChunkStore = EdgeChunkStore.from_dict(data)
    else:
        assert isinstance(store, ServerChunkStore)
        again = ServerChunkStore.from_dict(data, client=store.client)
    assert again.to_dict() == data
    assert data["type"].endswith(type(store).__name__)


def test_engine_errors_become_store_errors(store: ChunkStore) -> None:
    store.write_documents([chunk(1)])
    with pytest.raises(StoreError):
        store.search([VectorQuery("dense", [1.0, 2.0], 3)])  # wrong dimension


def test_an_empty_folder_is_not_a_shard(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no Qdrant Edge shard"):
        EdgeChunkStore(tmp_path / "nothing").count_documents()
