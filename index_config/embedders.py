"""Factories for the dense embedders (sentence-transformers, loaded from a local folder)
and the fingerprint that says how an index version was built."""

from __future__ import annotations

import hashlib
import inspect
import json
from typing import Any

from haystack import Document
from haystack.utils import ComponentDevice
from haystack_integrations.components.embedders.sentence_transformers import (
    SentenceTransformersDocumentEmbedder,
    SentenceTransformersTextEmbedder,
)

from index_config.settings import Settings

# Bump when converters or rendering change, so every document is re-processed.
PIPELINE_VERSION = "3"


def index_fingerprint(settings: Settings) -> str:
    payload = {
        "pipeline": PIPELINE_VERSION,
        "model": settings.embedding_model,
        "analyzer": settings.analyzer.model_dump(),
        "chunking": settings.chunking.model_dump(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def document_embedder(settings: Settings) -> SentenceTransformersDocumentEmbedder:
    return SentenceTransformersDocumentEmbedder(
        model=settings.embedding_model_path(),
        device=ComponentDevice.from_str("cpu"),
        batch_size=settings.embedding_batch_size,
        progress_bar=False,
        meta_fields_to_embed=["title"],
        normalize_embeddings=True,
        local_files_only=True,
    )


def embedding_dimension(embedder: Any) -> int:
    """The output size of a warmed-up dense embedder (the model says it; for other
    embedders, such as Haystack's mock ones in unit tests, embed one word)."""
    backend = getattr(embedder, "embedding_backend", None)
    model = getattr(backend, "model", None)
    if model is not None:
        return int(model.get_embedding_dimension() or 0)
    if "text" in inspect.signature(embedder.run).parameters:
        return len(embedder.run(text="dimensió")["embedding"])
    probe = Document(content="dimensió")
    return len(embedder.run(documents=[probe])["documents"][0].embedding)


def text_embedder(settings: Settings) -> SentenceTransformersTextEmbedder:
    return SentenceTransformersTextEmbedder(
        model=settings.embedding_model_path(),
        device=ComponentDevice.from_str("cpu"),
        progress_bar=False,
        normalize_embeddings=True,
        local_files_only=True,
    )
