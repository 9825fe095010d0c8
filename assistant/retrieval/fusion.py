"""WeightedScoreFusion: combine the dense and the Catalan sparse rankings.

Each list's scores are normalised, then summed with per-model weights (index_config).
Normalisation matters more than the weights: multilingual-e5 cosines crowd into a narrow
band (0.80-0.90), so scaling each list by its best score (the earlier default, "max")
left the dense side almost constant and the weight barely mattered. Distribution-based
normalisation ("dbsf", as in Qdrant's DBSF fusion: each list mapped from mean-3 sd .. mean+3
sd to 0..1) lets the dense side discriminate; measured on the tuning half (bench/README.md).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

import numpy as np
from haystack import Document, component

Normalisation = Literal["max", "dbsf"]


def normalised(docs: list[Document], method: Normalisation = "dbsf") -> dict[str, float]:
    scores = {d.meta.get("unit_id", d.id): float(d.score or 0.0) for d in docs}
    if not scores:
        return {}
    if method == "max":
        top = max(scores.values())
        if top <= 0:
            return dict.fromkeys(scores, 0.0)
        return {k: max(v, 0.0) / top for k, v in scores.items()}
    values = np.fromiter(scores.values(), dtype=float)
    mean, sd = float(values.mean()), float(values.std())
    if sd <= 1e-12:
        return dict.fromkeys(scores, 1.0)
    low, span = mean - 3 * sd, 6 * sd
    return {k: (v - low) / span for k, v in scores.items()}


@component
class WeightedScoreFusion:
    """Fuses two ranked lists of documents (one per unit) into one by weighted score."""

    def __init__(
        self,
        dense_weight: float = 0.4,
        sparse_weight: float = 0.6,
        normalisation: Normalisation = "dbsf",
    ) -> None:
        self.dense_weight = dense_weight
        self.sparse_weight = sparse_weight
        self.normalisation: Normalisation = normalisation

    @component.output_types(documents=list[Document])
    def run(
        self, dense: list[Document], sparse: list[Document], top_k: int = 10
    ) -> dict[str, list[Document]]:
        dense_n = normalised(dense, self.normalisation)
        sparse_n = normalised(sparse, self.normalisation)
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
