"""Retrieval benchmark: naive BM25 vs dense vs Catalan sparse vs the hybrid, on one index.

    python bench/bench_retrieval.py [--questions FILE] [--data-dir DIR] [--rounds 2]
                                    [--torch-threads 1]

Builds the index itself with the project's IngestJob, into a temporary CONCERTA data dir
(or --data-dir: give an empty one, else the "first" run is not a fresh build), timing it
and a second, no-op ingest. Compares on the dev question set, with
`assistant.evaluation.retrieval_eval.evaluate_retrieval`:

1. naive BM25 - Haystack's InMemoryBM25Retriever with its defaults (BM25L, regex word
   tokens, lowercase) over the SAME chunks the index holds (built with the project's
   converters), grouped per unit so each resource or article appears once;
2. dense only, 3. Catalan sparse only, 4. the hybrid with the configured weights - all
   three through `Searcher.retrieve(..., weights=...)` on the index built here;
plus a sweep of the hybrid's dense weight. Latency is per search call, sequential
(one client thread, torch on `--torch-threads` threads, default 1), warm, over every dev
query (filters included), `--rounds` times.
Prints Markdown tables; writes JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import offline  # noqa: F401  (bench/offline.py: before any model library)

# isort: split

from haystack import Document
from haystack.components.retrievers.in_memory import InMemoryBM25Retriever
from haystack.document_stores.in_memory import InMemoryDocumentStore

from assistant.evaluation.retrieval_eval import (
    Question,
    SearchFn,
    evaluate_retrieval,
    load_questions,
)
from assistant.models import Filters, Hit
from assistant.retrieval.searcher import Searcher
from index_config.embedders import index_fingerprint, text_embedder
from index_config.settings import PROJECT_DIR, Settings
from ingest.job import IngestJob, IngestReport
from ingest.sources import convert_item, resolve

RESULTS_DIR = PROJECT_DIR / "bench" / "results"
DEFAULT_QUESTIONS = PROJECT_DIR / "data" / "questions-dev.jsonl"
SWEEP_DENSE_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5)
METRICS = (
    ("catalogue", "recall@1", "R@1"),
    ("catalogue", "recall@5", "R@5"),
    ("catalogue", "recall@10", "R@10"),
    ("catalogue", "mrr@10", "MRR@10"),
    ("regulations", "article@1", "art@1"),
    ("regulations", "article@3", "art@3"),
)


# Naive BM25 baseline ------------------------------------------------------------------
def build_chunks(settings: Settings) -> list[Document]:
    """The chunks IngestJob would write, from the project's own converters."""
    _, items, missing = resolve(settings.resolved_sources())
    if missing:
        raise SystemExit(f"missing sources: {[m.source for m in missing]}")
    fingerprint = index_fingerprint(settings)
    chunks: list[Document] = []
    seen: set[str] = set()
    for item in items:
        docs, _ = convert_item(
            item, settings.chunking.max_words, settings.chunking.overlap_words, fingerprint
        )
        for doc in docs:
            if doc.doc_id in seen:  # IngestJob keeps the first of duplicate ids too
                continue
            seen.add(doc.doc_id)
            chunks.extend(doc.chunks)
    return chunks


def matches(meta: dict[str, Any], filters: Filters) -> bool:
    """The same filter semantics as the Qdrant path: a list field matches any element;
    obert_a is inside the resource's application window."""
    for key in ("kind", "tipologia", "classe", "area", "destinataris", "any"):
        wanted = getattr(filters, key)
        if wanted is None:
            continue
        value = meta.get(key)
        if isinstance(value, list) and wanted not in value:
            return False
        if not isinstance(value, list) and value != wanted:
            return False
    if filters.obert_a is not None:
        day = int(filters.obert_a.strftime("%Y%m%d"))
        start, end = meta.get("termini_inici_num"), meta.get("termini_fi_num")
        if start is None or end is None or not start <= day <= end:
            return False
    return True


def naive_bm25(chunks: list[Document]) -> SearchFn:
    store = InMemoryDocumentStore()  # default BM25 tokenisation and algorithm
    store.write_documents(chunks)
    retriever = InMemoryBM25Retriever(store)
    everything = store.count_documents()

    def search(query: str, filters: Filters, k: int) -> list[Hit]:
        # Rank every chunk, then filter and keep the best chunk of each unit.
        ranked = retriever.run(query=query, top_k=everything)["documents"]
        hits: list[Hit] = []
        units: set[str] = set()
        for doc in ranked:
            meta = doc.meta
            unit = meta.get("unit_id", doc.id)
            if unit in units or not matches(meta, filters):
                continue
            units.add(unit)
            hits.append(
                Hit(
                    id=doc.id,
                    doc_id=str(meta.get("doc_id", doc.id)),
                    kind=meta.get("kind", "normativa"),
                    title=str(meta.get("title") or ""),
                    snippet="",
                    score=float(doc.score or 0.0),
                    url=meta.get("url"),
                    source=str(meta.get("source", "")),
                    codi=meta.get("codi"),
                    article=meta.get("article"),
                )
            )
            if len(hits) == k:
                break
        return hits

    return search


# Project retrieval ---------------------------------------------------------------------
def searcher_fn(searcher: Searcher, weights: tuple[float, float], single: bool) -> SearchFn:
    def search(query: str, filters: Filters, k: int) -> list[Hit]:
        hits = [r.hit for r in searcher.retrieve(query, filters, k, weights=weights)]
        # With one weight at 0 the fusion still lists the other side's units at score 0
        # after the real ones; a single-signal method must not be credited for them.
        return [h for h in hits if h.score > 0] if single else hits

    return search


# Measurement ---------------------------------------------------------------------------
def timed_ingest(settings: Settings) -> tuple[float, IngestReport]:
    started = time.perf_counter()
    report = IngestJob(settings).run(settings.resolved_sources())
    return time.perf_counter() - started, report


def latency(
    search: Callable[[str, Filters, int], object],
    questions: list[Question],
    rounds: int,
    warm_up: bool = True,
) -> dict[str, Any]:
    """Sequential calls over every question; a warm-up pass (skipped when the evaluation
    has just run the same queries) is not counted."""
    queries = [(q.question, Filters.parse(q.filters)) for q in questions]
    if warm_up:
        for query, filters in queries:
            search(query, filters, 10)
    samples: list[float] = []
    for _ in range(rounds):
        for query, filters in queries:
            t0 = time.perf_counter()
            search(query, filters, 10)
            samples.append(time.perf_counter() - t0)
    ordered = sorted(samples)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))] * 1000, 1)

    return {
        "calls": len(ordered),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 1),
    }


def metric_cells(metrics: dict[str, Any]) -> list[str]:
    return [f"{metrics[group].get(name, 0.0):.3f}" for group, name, _ in METRICS]


def markdown(results: dict[str, Any]) -> str:
    cat_n = results["methods"][0]["metrics"]["catalogue"]["n"]
    reg_n = results["methods"][0]["metrics"]["regulations"]["n"]
    header = [label for _, _, label in METRICS]
    lines = [
        f"Catalogue questions: {cat_n}; regulation/FAQ questions: {reg_n}; "
        f"latency over {results['methods'][0]['latency']['calls']} calls per method.",
        "",
        "| method | " + " | ".join(header) + " | p50 ms | p95 ms |",
        "|---" * (len(header) + 3) + "|",
    ]
    for row in results["methods"]:
        lat = row["latency"]
        cells = [row["name"], *metric_cells(row["metrics"]), str(lat["p50_ms"]), str(lat["p95_ms"])]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Fusion-weight sweep (hybrid, sparse weight = 1 - dense weight):",
        "",
        "| dense w | sparse w | " + " | ".join(header) + " |",
        "|---" * (len(header) + 2) + "|",
    ]
    for row in results["sweep"]:
        mark = " (configured)" if row["configured"] else ""
        cells = [f"{row['dense']:.1f}{mark}", f"{row['sparse']:.1f}", *metric_cells(row["metrics"])]
        lines.append("| " + " | ".join(cells) + " |")
    ing, emb = results["ingest"], results["query_embedding"]
    lines += [
        "",
        f"Ingest ({ing['chunks']} chunks, {ing['documents']} documents): first run "
        f"{ing['first_s']:.1f} s (`{ing['first_summary']}`), no-op re-ingest "
        f"{ing['noop_s']:.1f} s (`{ing['noop_summary']}`). Query embedding alone: "
        f"p50 {emb['p50_ms']} ms, p95 {emb['p95_ms']} ms.",
    ]
    return "\n".join(lines)


def run(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    settings = Settings(data_dir=data_dir)
    questions = load_questions(args.questions)
    configured = settings.retrieval.weights_for(settings.embedding_model)
    load_before = os.getloadavg()

    first_s, first = timed_ingest(settings)
    noop_s, noop = timed_ingest(settings)
    chunks = build_chunks(settings)

    searcher = Searcher(settings)
    searcher.warm_up()
    methods: list[tuple[str, SearchFn]] = [
        ("naive BM25 (Haystack in-memory, defaults)", naive_bm25(chunks)),
        ("dense only", searcher_fn(searcher, (1.0, 0.0), single=True)),
        ("Catalan sparse only", searcher_fn(searcher, (0.0, 1.0), single=True)),
        (
            f"hybrid (dense {configured.dense:g} / sparse {configured.sparse:g})",
            searcher_fn(searcher, (configured.dense, configured.sparse), single=False),
        ),
    ]
    rows = []
    try:
        for name, fn in methods:
            print(f"... {name}", flush=True)
            rows.append(
                {
                    "name": name,
                    "metrics": evaluate_retrieval(questions, fn),
                    # The evaluation just ran these queries: that was the warm-up.
                    "latency": latency(fn, questions, args.rounds, warm_up=False),
                }
            )
        sweep = []
        for dense_w in SWEEP_DENSE_WEIGHTS:
            sparse_w = round(1.0 - dense_w, 2)
            fn = searcher_fn(searcher, (dense_w, sparse_w), single=False)
            metrics = evaluate_retrieval(questions, fn)
            metrics.pop("questions")
            sweep.append(
                {
                    "dense": dense_w,
                    "sparse": sparse_w,
                    "configured": (dense_w, sparse_w) == (configured.dense, configured.sparse),
                    "metrics": metrics,
                }
            )
    finally:
        searcher.close()

    # The query embedding alone, to read the searcher latencies against.
    embedder = text_embedder(settings)
    embedder.warm_up()

    def embed(query: str, filters: Filters, k: int) -> object:
        return embedder.run(text=query)

    embedding = latency(embed, questions, args.rounds)

    return {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        },
        "questions": str(args.questions),
        "embedding_model": settings.embedding_model,
        "torch_threads": args.torch_threads or None,
        "rounds": args.rounds,
        "configured_weights": {"dense": configured.dense, "sparse": configured.sparse},
        "ingest": {
            "first_s": round(first_s, 2),
            "first_summary": first.summary_line(),
            "noop_s": round(noop_s, 2),
            "noop_summary": noop.summary_line(),
            "chunks": len(chunks),
            "documents": len({c.meta["doc_id"] for c in chunks}),
        },
        "methods": rows,
        "sweep": sweep,
        "query_embedding": embedding,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="default: a temporary folder, removed after"
    )
    parser.add_argument("--rounds", type=int, default=2, help="timed passes over the queries")
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=1,
        help="torch intra-op threads (default 1: one query at a time on a shared machine; "
        "0 = torch's own choice)",
    )
    args = parser.parse_args()
    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)

    if args.data_dir is not None:
        results = run(args, args.data_dir)
    else:
        with tempfile.TemporaryDirectory(prefix="concerta-bench-") as tmp:
            results = run(args, Path(tmp))

    print(markdown(results))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = RESULTS_DIR / f"retrieval-{stamp}.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"\nwrote {out.relative_to(PROJECT_DIR)}")


if __name__ == "__main__":
    main()
