"""Restatements: which FAQ entries restate which articles, and the corroboration they lend.

The FAQ answers in plain words what an article rules ("Es pot cobrar una part de l'import
per avançat?" restates the catalogue's article on advance payment). An official's question
is often worded like one and about the other, so a result list should let the two back
each other: an article whose FAQ also matched the question is more likely the one asked
about than an article that matched alone.

Links are computed per index version, from the version's own dense vectors, when the
version is opened (off the request path): a FAQ entry is linked to its nearest article and
to any other article within `margin` cosine of it. Nothing is written at ingest, so a
partial re-ingest can never leave stale links behind.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace

import numpy as np
from haystack import Document

from index_config.chunk_store import ChunkStore
from index_config.settings import RestatementSettings

REGULATION_KINDS = ("faq", "normativa")


class RestatementLinks:
    """unit id -> the units it restates or is restated by (symmetric)."""

    def __init__(self, links: dict[str, set[str]] | None = None) -> None:
        self.links: dict[str, set[str]] = links or {}

    def __len__(self) -> int:
        return sum(len(v) for v in self.links.values()) // 2

    def partners(self, unit: str) -> set[str]:
        return self.links.get(unit, set())

    @classmethod
    def from_vectors(
        cls,
        units: list[tuple[str, str, list[float]]],
        settings: RestatementSettings,
    ) -> RestatementLinks:
        """`units`: (unit id, kind, dense vector) of every FAQ and article chunk (a unit
        with several chunks appears several times; the best pair of chunks counts)."""
        faq = [(u, v) for u, k, v in units if k == "faq"]
        articles = [(u, v) for u, k, v in units if k == "normativa"]
        if not faq or not articles:
            return cls()
        article_ids = [u for u, _ in articles]
        matrix = _normalised(np.array([v for _, v in articles], dtype=np.float32))
        best_by_faq: dict[str, dict[str, float]] = defaultdict(dict)
        for unit, vector in faq:
            query = _normalised(np.array([vector], dtype=np.float32))[0]
            for article, score in zip(article_ids, matrix @ query, strict=True):
                seen = best_by_faq[unit].get(article)
                if seen is None or score > seen:
                    best_by_faq[unit][article] = float(score)
        links: dict[str, set[str]] = defaultdict(set)
        for unit, scores in best_by_faq.items():
            ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
            top = ranked[0][1]
            for article, score in ranked[: settings.max_links]:
                if score < top - settings.margin:
                    break
                links[unit].add(article)
                links[article].add(unit)
        return cls(dict(links))

    @classmethod
    def from_store(cls, store: ChunkStore, settings: RestatementSettings) -> RestatementLinks:
        """Read the FAQ and article chunks' vectors from an index version."""
        if settings.weight <= 0:
            return cls()
        kinds = {"field": "meta.kind", "operator": "in", "value": list(REGULATION_KINDS)}
        ids = [str(p["id"]) for p in store.scan(["meta.unit_id"], kinds)]
        units = [
            (str(p.payload.get("meta", {}).get("unit_id", p.chunk_id)), kind, list(p.dense))
            for p in store.export_points(ids)
            if p.dense is not None and (kind := str(p.payload.get("meta", {}).get("kind")))
        ]
        return cls.from_vectors(units, settings)

    def corroborate(self, fused: Iterable[Document], weight: float) -> list[Document]:
        """Re-rank a fused list (one Document per unit, best first) so that each unit
        gains `weight` times the best fused score among its restatement partners in the
        same list. The best result stays first: a unit that matched the question best on
        its own is not displaced by a pair that matched it less. Scores are the re-ranked
        ones (scaled so that none is above the best result's), so the list stays in order
        for whatever sorts it again (the ask path's nudges, API clients)."""
        docs = list(fused)
        if weight <= 0 or len(docs) < 3 or not self.links:
            return docs
        score = {_unit(d): float(d.score or 0.0) for d in docs}
        head, rest = docs[:1], docs[1:]
        ceiling = score[_unit(head[0])]
        boosted = []
        for position, doc in enumerate(rest):
            partners = (score[p] for p in self.partners(_unit(doc)) if p in score)
            gain = weight * max(partners, default=0.0)
            boosted.append((score[_unit(doc)] + gain, position, doc))
        boosted.sort(key=lambda item: (-item[0], item[1]))
        # Scaled, not capped, under the best result's score: capping tied every boosted
        # unit at the ceiling, and the ask path's later nudges and cut-offs then saw no
        # gaps between them (bench/README.md).
        top = max((value for value, _, _ in boosted), default=0.0)
        scale = ceiling / top if top > ceiling > 0 else 1.0
        return head + [replace(doc, score=value * scale) for value, _, doc in boosted]


def _unit(doc: Document) -> str:
    return str(doc.meta.get("unit_id", doc.id))


def _normalised(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return matrix / norms
