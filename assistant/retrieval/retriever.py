"""HybridChunkRetriever: dense + Catalan sparse candidates from one index version, fused.

The engine does the searching: both searches go in one call (a batch), and only the point
ids, scores and unit ids travel back; the whole payload is read for the few chunks that
make the final list. By default the engine fuses the two prefetches with distribution-based
score fusion (DBSF: each list scaled by its mean and spread, then summed), which measured
better on the tuning questions than our WeightedScoreFusion, Qdrant's weighted RRF and a
formula (bench/README.md); the others stay selectable (`retrieval.fusion`).
"""

from __future__ import annotations

from dataclasses import replace

from haystack import Document, component
from haystack.dataclasses import SparseEmbedding

from assistant.retrieval.fusion import Normalisation, WeightedScoreFusion
from assistant.retrieval.instruments import InstrumentRegulations
from assistant.retrieval.restatements import RestatementLinks
from index_config.chunk_store import ChunkStore, EngineFusion, VectorQuery
from index_config.points import ScoredChunk
from index_config.settings import FusionMethod

UNIT = ["meta.unit_id"]


@component
class HybridChunkRetriever:
    """Fused Documents (whole payload) with their raw scores in `_dense_score` and
    `_sparse_score`; one result per unit (resource, article or FAQ entry). `dense` and
    `sparse`: each side's own ranking, one (id-only) Document per unit, best first: the
    grounding decision reads how far the best result stands out from the rest."""

    def __init__(
        self,
        document_store: ChunkStore,
        fusion: FusionMethod = "dbsf",
        weights: tuple[float, float] = (0.35, 0.65),
        candidates: int = 50,
        rrf_k: int = 60,
        sparse_scale: float = 10.0,
        normalisation: Normalisation = "dbsf",
        restatements: RestatementLinks | None = None,
        restatement_weight: float = 0.0,
        instruments: InstrumentRegulations | None = None,
        instrument_bonus: float = 0.0,
    ) -> None:
        """`restatements`: FAQ <-> article links of this version; each unit of the fused
        list gains `restatement_weight` x its best partner's score (restatements.py)."""
        self.document_store = document_store
        self.fusion = fusion
        self.weights = weights
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.sparse_scale = sparse_scale
        self.normalisation: Normalisation = normalisation
        self.restatements = restatements or RestatementLinks()
        self.restatement_weight = restatement_weight
        self.instruments = instruments or InstrumentRegulations()
        self.instrument_bonus = instrument_bonus

    @component.output_types(documents=list[Document], dense=list[Document], sparse=list[Document])
    def run(
        self,
        query_embedding: list[float],
        query_sparse_embedding: SparseEmbedding,
        filters: dict | None = None,
        top_k: int = 10,
        weights: tuple[float, float] | None = None,
        instruments: tuple[str, ...] = (),
    ) -> dict[str, list[Document]]:
        """`instruments`: those the question names (lexicon.yaml): their regulations'
        articles are nudged up (instruments.py)."""
        candidates = max(self.candidates, top_k)
        # A unit has ~1.1 chunks on average: 2x candidates keep about `candidates` units.
        limit = candidates * 2
        queries = [
            VectorQuery("dense", query_embedding, limit, filters),
            VectorQuery("sparse", query_sparse_embedding, limit, filters),
        ]
        dense_weight, sparse_weight = weights or self.weights
        if self.fusion == "weighted":
            dense, sparse = self.document_store.search(queries, UNIT)
            fused = WeightedScoreFusion(dense_weight, sparse_weight, self.normalisation).run(
                dense=_units(dense, candidates), sparse=_units(sparse, candidates), top_k=limit
            )["documents"]
        else:
            engine = EngineFusion(
                self.fusion, dense_weight, sparse_weight, self.rrf_k, self.sparse_scale
            )
            # The fused list and both plain lists (for the raw scores) in one engine call.
            fused_points, (dense, sparse) = self.document_store.hybrid_search(
                queries, engine, limit, UNIT
            )
            fused = _units(fused_points, limit)
        fused = self.instruments.nudge(
            fused, self.instruments.regulations_of(instruments), self.instrument_bonus
        )
        # Restatement partners are looked for among all candidates, then the list is cut.
        fused = self.restatements.corroborate(fused, self.restatement_weight)[:top_k]
        raw = {
            "_dense_score": {r.unit_id: r.score for r in reversed(dense)},
            "_sparse_score": {r.unit_id: r.score for r in reversed(sparse)},
        }
        ranking = [(d.id, float(d.score or 0.0)) for d in fused]
        return {
            "documents": self._hydrate(ranking, raw),
            "dense": _units(dense, candidates),
            "sparse": _units(sparse, candidates),
        }

    def _hydrate(
        self, ranking: list[tuple[str, float]], raw: dict[str, dict[str, float]]
    ) -> list[Document]:
        """The whole chunks of the final list, with fused and raw scores."""
        full = {d.id: d for d in self.document_store.get_documents([cid for cid, _ in ranking])}
        out = []
        for chunk_id, score in ranking:
            doc = full.get(chunk_id)
            if doc is None:
                continue
            unit = str(doc.meta.get("unit_id", doc.id))
            meta = {
                **doc.meta,
                "_dense_score": raw["_dense_score"].get(unit, 0.0),
                "_sparse_score": raw["_sparse_score"].get(unit, 0.0),
            }
            out.append(replace(doc, score=score, meta=meta))
        return out


def _units(results: list[ScoredChunk], limit: int) -> list[Document]:
    """Each unit's best chunk (results arrive best first), so one resource or article
    cannot fill the list with its own pieces."""
    seen: set[str] = set()
    out = []
    for r in results:
        if r.unit_id not in seen:
            seen.add(r.unit_id)
            out.append(Document(id=r.chunk_id, score=r.score, meta={"unit_id": r.unit_id}))
            if len(out) == limit:
                break
    return out
