"""WeightedScoreFusion: combine the dense and the Catalan sparse rankings.

Measured on the dev set, reciprocal rank fusion lets a weak English-only dense model pull
good sparse results down. A weighted sum of normalised scores keeps the better signal in
charge: each list is scaled by its own best score, so the top sparse hit is 1.0, and the
dense side (cosine, scaled the same way) breaks ties. The weights live in index_config
and a stronger model can earn a larger one.
"""

from __future__ import annotations

from dataclasses import replace

from haystack import Document, component


def _normalised(docs: list[Document]) -> dict[str, float]:
    scores = {d.meta.get("unit_id", d.id): float(d.score or 0.0) for d in docs}
    if not scores:
        return {}
    top = max(scores.values())
    if top <= 0:
        return dict.fromkeys(scores, 0.0)
    return {k: max(v, 0.0) / top for k, v in scores.items()}


@component
class WeightedScoreFusion:
    """Fuses two ranked lists of documents (one per unit) into one by weighted score."""

    def __init__(self, dense_weight: float = 0.2, sparse_weight: float = 0.8) -> None:
        self.dense_weight = dense_weight
        self.sparse_weight = sparse_weight

    @component.output_types(documents=list[Document])
    def run(
        self, dense: list[Document], sparse: list[Document], top_k: int = 10
    ) -> dict[str, list[Document]]:
        dense_n, sparse_n = _normalised(dense), _normalised(sparse)
        by_unit: dict[str, Document] = {}
        raw: dict[str, dict[str, float]] = {}
        for source, docs in (("dense", dense), ("sparse", sparse)):
            for doc in docs:
                unit = doc.meta.get("unit_id", doc.id)
                by_unit.setdefault(unit, doc)
                raw.setdefault(unit, {})[source] = float(doc.score or 0.0)
        fused = []
        for unit, doc in by_unit.items():
            score = self.dense_weight * dense_n.get(unit, 0.0) + self.sparse_weight * sparse_n.get(
                unit, 0.0
            )
            meta = {
                **doc.meta,
                "_dense_score": raw[unit].get("dense", 0.0),
                "_sparse_score": raw[unit].get("sparse", 0.0),
            }
            fused.append(replace(doc, score=score, meta=meta))
        fused.sort(key=lambda d: d.score or 0.0, reverse=True)
        return {"documents": fused[:top_k]}
