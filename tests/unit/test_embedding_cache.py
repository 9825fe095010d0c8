"""The embedding cache: a text is embedded once per model (Haystack's MockDocumentEmbedder
stands in for the model; the SQLite file is real)."""

from __future__ import annotations

from pathlib import Path

import pytest
from haystack import Document
from haystack.components.embedders import MockDocumentEmbedder

from index_config.embedding_cache import CachedDocumentEmbedder, EmbeddingCache, text_key


def embedder(folder: Path, model: str = "model-a") -> CachedDocumentEmbedder:
    return CachedDocumentEmbedder(
        MockDocumentEmbedder(dimension=8), EmbeddingCache(folder, model), meta_fields=["title"]
    )


def docs(*texts: str, title: str = "T") -> list[Document]:
    return [Document(id=f"d{i}", content=t, meta={"title": title}) for i, t in enumerate(texts)]


def test_a_text_is_embedded_once_and_its_vector_comes_back(tmp_path: Path) -> None:
    first = embedder(tmp_path)
    out = first.run(documents=docs("un", "dos"))["documents"]
    assert (first.hits, first.misses) == (0, 2)
    first.cache.close()
    again = embedder(tmp_path)  # another process, later
    back = again.run(documents=docs("dos", "tres", "un"))["documents"]
    assert (again.hits, again.misses) == (2, 1)
    # Stored as float32, what the models give (the mock's float64 loses its last digits).
    assert back[0].embedding == pytest.approx(out[1].embedding, rel=1e-6)
    assert back[2].embedding == pytest.approx(out[0].embedding, rel=1e-6)
    assert [d.id for d in back] == ["d0", "d1", "d2"]
    assert all(len(d.embedding or []) == 8 for d in back)


def test_models_and_embedded_fields_are_kept_apart(tmp_path: Path) -> None:
    a = embedder(tmp_path, "model-a")
    a.run(documents=docs("un"))
    b = embedder(tmp_path, "model-b")
    b.run(documents=docs("un"))
    assert b.misses == 1
    # The title is read by the model too: another title is another text.
    assert text_key(docs("un", title="A")[0], ["title"]) != text_key(docs("un")[0], ["title"])
    a.run(documents=docs("un", title="Un altre títol"))
    assert a.misses == 2
