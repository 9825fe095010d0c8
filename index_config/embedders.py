"""Factories for the dense embedders (sentence-transformers, loaded from a local folder)
and the fingerprint that says how an index version was built."""

from __future__ import annotations

import hashlib
import json

from haystack.utils import ComponentDevice
from haystack_integrations.components.embedders.sentence_transformers import (
    SentenceTransformersDocumentEmbedder,
    SentenceTransformersTextEmbedder,
)

from index_config.settings import Settings

# Bump when converters or rendering change, so every document is re-processed.
PIPELINE_VERSION = "2"


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


def text_embedder(settings: Settings) -> SentenceTransformersTextEmbedder:
    return SentenceTransformersTextEmbedder(
        model=settings.embedding_model_path(),
        device=ComponentDevice.from_str("cpu"),
        progress_bar=False,
        normalize_embeddings=True,
        local_files_only=True,
    )
