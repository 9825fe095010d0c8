"""Scale benchmark: ingest, re-ingest and serving from 1,000 to 100,000 chunks.

    python bench/bench_scale.py [--sizes 1000,10000] [--engine-sizes 100000]
                                [--work-dir DIR] [--requests 200] [--keep]

Synthetic catalogues are built from the sample records (data/sample/cataleg): codes
renumbered, sentences, actions and keywords of other records mixed in, application
windows shifted, so that every resource is a distinct text; one chunk per resource.

`--sizes` (the real model, multilingual-e5-small by default): a fresh ingest, timed, and
the embedding floor: the dense model's own batch embedding time for the same chunks,
measured in the same run; then a re-ingest with nothing changed and two re-ingests with
1 % of the resources changed (the first copies the served version, the second reuses the
previous one and writes only the differences).

`--engine-sizes`: the engine is what is measured, so chunks take their vectors from a
stand-in: the real model's vectors of 1,008 distinct synthetic texts (7 x 144 records,
each chunk mapped to one made from the same sample record), plus noise. Timed: the
ingest (everything but embedding), unchanged and 1 % re-ingests, and, in a fresh process
serving the index like `concerta serve` (AssistantService): start-up, search p50/p95
without and with filters (the query embedded by the real model), the first ask after
start and ask p50, resident memory; plus the version's size on disk.

The load average is recorded next to every number (the machine may be shared). Writes
JSON to bench/results/ and prints a Markdown table. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

import offline  # noqa: F401  (bench/offline.py: before any model library)

# isort: split

os.environ.setdefault("CONCERTA_TODAY", "2022-03-15")

import numpy as np
from haystack import Document, component
from rich.console import Console

from index_config.embedders import document_embedder, index_fingerprint
from index_config.settings import PROJECT_DIR, Settings
from ingest.job import IngestJob, IngestReport
from ingest.sources import SourceItem, convert_item

RESULTS_DIR = PROJECT_DIR / "bench" / "results"
SAMPLE = PROJECT_DIR / "data" / "sample" / "cataleg" / "cataleg-2022.jsonl"
QUESTIONS = [
    PROJECT_DIR / "data" / "questions-dev.jsonl",
    PROJECT_DIR / "data" / "questions-dev2.jsonl",
]
STAND_IN_TEXTS = 1008  # 7 x 144 sample records: chunk i takes the vector of text i % 1008
FILTERS: list[dict[str, Any]] = [
    {"tipologia": "econòmic"},
    {"kind": "recurs", "obert_a": "2022-03-15"},
    {"destinataris": "Consells comarcals"},
    {"area": "Àrea de Cultura"},
]


# Synthetic catalogues --------------------------------------------------------------------
def sample_records() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SAMPLE.read_text("utf-8").splitlines() if line.strip()]


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]


def synthetic_record(i: int, records: list[dict[str, Any]], revision: int = 0) -> dict[str, Any]:
    """Resource i: sample record i % 144, renumbered, with other records' sentences mixed in
    (deterministic: the same i gives the same record at every size)."""
    rng = random.Random(i)
    base, other = records[i % len(records)], records[rng.randrange(len(records))]
    third = records[rng.randrange(len(records))]
    record = json.loads(json.dumps(base))
    record["codi"] = f"{i:05d}"
    record["nom"] = f"{base['nom']}: {other['nom'].lower()}"
    own, theirs = _sentences(base["descripcio"]), _sentences(other["descripcio"])
    mixed = own[: max(2, len(own) // 2)] + rng.sample(theirs, min(2, len(theirs)))
    mixed += _sentences(third["descripcio"])[:1]
    if revision:
        mixed.append(f"Text revisat en la convocatòria {revision} per a l'edició {i}.")
    record["descripcio"] = " ".join(mixed)
    record["actuacions"] = base.get("actuacions", [])[:3] + other.get("actuacions", [])[:2]
    record["etiquetes"] = base.get("etiquetes", [])[:4] + third.get("etiquetes", [])[:2]
    if i % 3 == 0:
        record["area"] = other["area"]
        record["destinataris"] = other.get("destinataris", record.get("destinataris", []))
    window = record.get("termini_sollicitud")
    if window:
        shift = dt.timedelta(days=rng.randrange(-40, 40))
        start = dt.date.fromisoformat(window["inici"]) + shift
        end = dt.date.fromisoformat(window["fi"]) + shift
        record["termini_sollicitud"] = {
            "inici": max(start, dt.date(2022, 1, 1)).isoformat(),
            "fi": min(end, dt.date(2022, 12, 31)).isoformat(),
        }
    record["url"] = f"https://cataleg.exemple.cat/recurs/{record['codi']}"
    return record


def write_catalogue(path: Path, n: int, revised: set[int] = frozenset(), revision: int = 0) -> None:  # type: ignore[assignment]
    records = sample_records()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            record = synthetic_record(i, records, revision if i in revised else 0)
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")


def one_percent(n: int, round_: int) -> set[int]:
    rng = random.Random(1000 + round_)
    return set(rng.sample(range(n), max(1, n // 100)))


# Embedders -------------------------------------------------------------------------------
@component
class StandInDocumentEmbedder:
    """The real model's vectors of a few distinct texts, reused with noise: what the
    engine sees at 100,000 chunks without a day of embedding."""

    def __init__(self, base: np.ndarray, noise: float = 0.03) -> None:
        self.base = base
        self.noise = noise

    @property
    def dimension(self) -> int:
        return int(self.base.shape[1])

    def warm_up(self) -> None:
        return None

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, list[Document]]:
        out = []
        for doc in documents:
            i = int(str(doc.meta.get("codi", "0")) or 0)
            rng = np.random.default_rng(zlib.crc32((doc.content or "").encode("utf-8")))
            vector = self.base[i % len(self.base)] + self.noise * rng.standard_normal(
                self.base.shape[1]
            )
            vector /= np.linalg.norm(vector)
            out.append(
                Document(id=doc.id, content=doc.content, meta=doc.meta, embedding=vector.tolist())
            )
        return {"documents": out}


def chunks_of(settings: Settings, catalogue: Path) -> list[Document]:
    item = SourceItem(str(catalogue), catalogue.name, ".jsonl")
    docs, _ = convert_item(
        item,
        settings.chunking.max_words,
        settings.chunking.overlap_words,
        index_fingerprint(settings),
    )
    return [chunk for doc in docs for chunk in doc.chunks]


def embedding_floor(settings: Settings, catalogue: Path) -> dict[str, Any]:
    """The dense model alone on the same chunks, in one batch call (model load excluded)."""
    chunks = chunks_of(settings, catalogue)
    embedder = document_embedder(settings)
    embedder.warm_up()
    load = os.getloadavg()
    cpu, start = cpu_seconds(), time.perf_counter()
    embedder.run(documents=chunks)
    seconds = time.perf_counter() - start
    return {
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu_seconds() - cpu, 2),
        "chunks": len(chunks),
        "load_before": load,
    }


def cpu_seconds() -> float:
    """CPU time of this process, every thread: less disturbed than wall time when other
    processes share the cores."""
    times = os.times()
    return times.user + times.system


def stand_in_vectors(settings: Settings, work: Path, cache_dir: Path) -> np.ndarray:
    """Real vectors of the first 1,008 synthetic texts (kept in bench/results/; texts the
    real-model runs embedded come from their embedding cache)."""
    from index_config.embedding_cache import CachedDocumentEmbedder, EmbeddingCache, model_key

    cache = RESULTS_DIR / f"stand-in-{settings.embedding_model.replace('/', '_')}.npy"
    if cache.is_file():
        return np.load(cache)
    catalogue = work / "stand-in" / "cataleg.jsonl"
    write_catalogue(catalogue, STAND_IN_TEXTS)
    chunks = sorted(chunks_of(settings, catalogue), key=lambda d: int(d.meta["codi"]))
    model = document_embedder(settings)
    embedder = CachedDocumentEmbedder(
        model, EmbeddingCache(cache_dir, model_key(settings)), list(model.meta_fields_to_embed)
    )
    embedder.warm_up()
    embedded = embedder.run(documents=chunks)["documents"]
    embedder.cache.close()
    vectors = np.asarray([d.embedding for d in embedded], dtype=np.float32)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    np.save(cache, vectors)
    return vectors


# Ingests ---------------------------------------------------------------------------------
def timed_ingest(settings: Settings, catalogue: Path, embedder: Any = None) -> dict[str, Any]:
    load = os.getloadavg()
    cpu, start = cpu_seconds(), time.perf_counter()
    report: IngestReport = IngestJob(
        settings, console=Console(file=io.StringIO()), dense_embedder=embedder
    ).run([str(catalogue)])
    seconds = time.perf_counter() - start
    assert report.failed == 0, report.failures
    return {
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu_seconds() - cpu, 2),
        "summary": report.summary_line(),
        "build": report.build,
        "caught_up": report.caught_up,
        "timings": {k: round(v, 2) for k, v in report.timings.items()},
        "load_before": load,
    }


def ingest_series(settings: Settings, work: Path, n: int, embedder: Any = None) -> dict[str, Any]:
    catalogue = work / "corpus" / "cataleg.jsonl"
    write_catalogue(catalogue, n)
    out: dict[str, Any] = {"chunks": n}
    out["first"] = timed_ingest(settings, catalogue, embedder)
    out["unchanged"] = timed_ingest(settings, catalogue, embedder)
    for round_, label in ((1, "one_percent_copied"), (2, "one_percent_recycled")):
        write_catalogue(catalogue, n, one_percent(n, round_), revision=round_)
        # The server would have let the previous version go by now (reader leases).
        out[label] = timed_ingest(settings, catalogue, embedder)
    out["disk_mb"] = round(folder_size(current_version_dir(settings)) / 1e6, 1)
    return out


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def current_version_dir(settings: Settings) -> Path:
    name = (settings.qdrant_dir / "CURRENT").read_text("utf-8").strip()
    return settings.qdrant_dir / "versions" / name


# Serving (a fresh process, like `concerta serve`) --------------------------------------------
def serve_probe(data_dir: Path, requests: int) -> dict[str, Any]:
    from assistant.evaluation.questions import load_questions
    from assistant.service import AssistantService

    questions = [q for q in load_questions(*QUESTIONS) if q.in_scope]
    settings = Settings(data_dir=data_dir)
    process_age_before_startup = process_age()
    load = os.getloadavg()
    start = time.perf_counter()
    service = AssistantService(settings)
    service.warm_up()
    startup = time.perf_counter() - start
    assert service.is_ready(), "index not ready"
    start = time.perf_counter()
    service.ask(questions[0].question)
    first_ask = time.perf_counter() - start

    def timed(fn: Any, count: int) -> list[float]:
        times = []
        for i in range(count):
            t = time.perf_counter()
            fn(i)
            times.append((time.perf_counter() - t) * 1000)
        return times

    texts = [q.question for q in questions]
    plain = timed(lambda i: service.search(texts[i % len(texts)], top_k=10), requests)
    filtered = timed(
        lambda i: service.search(texts[i % len(texts)], 10, FILTERS[i % len(FILTERS)]), requests
    )
    asks = timed(lambda i: service.ask(texts[(i + 1) % len(texts)]), max(20, requests // 2))
    # The same searches with the query vectors computed beforehand: what the index and
    # the hits cost, without the query model (a shared machine slows it most).
    dense = service.searcher._dense
    vectors = {t: dense.run(text=t)["embedding"] for t in texts}
    service.searcher._dense = PrecomputedTextEmbedder(vectors)
    without_model = timed(lambda i: service.search(texts[i % len(texts)], top_k=10), requests)
    filtered_without_model = timed(
        lambda i: service.search(texts[i % len(texts)], 10, FILTERS[i % len(FILTERS)]), requests
    )
    embedding = timed(lambda i: dense.run(text=texts[i % len(texts)]), requests)
    status = Path("/proc/self/status").read_text()
    rss = {k: int(re.search(rf"{k}:\s+(\d+)", status).group(1)) // 1024 for k in ("VmRSS", "VmHWM")}  # type: ignore[union-attr]
    index = service.searcher.index.get() if service.searcher.index else None
    service.close()
    return {
        "chunks": index.count if index else 0,
        "process_to_ready_s": round(process_age_before_startup + startup, 2),
        "startup_s": round(startup, 2),
        "first_ask_ms": round(first_ask * 1000, 1),
        "search_ms": percentiles(plain),
        "filtered_search_ms": percentiles(filtered),
        "ask_ms": percentiles(asks),
        "search_without_query_model_ms": percentiles(without_model),
        "filtered_search_without_query_model_ms": percentiles(filtered_without_model),
        "query_embedding_ms": percentiles(embedding),
        "rss_mb": rss["VmRSS"],
        "peak_rss_mb": rss["VmHWM"],
        "load_before": load,
        "load_after": os.getloadavg(),
    }


@component
class PrecomputedTextEmbedder:
    """The query vectors computed beforehand (to time a search without the query model)."""

    def __init__(self, vectors: dict[str, list[float]]) -> None:
        self.vectors = vectors

    @component.output_types(embedding=list[float])
    def run(self, text: str) -> dict[str, list[float]]:
        return {"embedding": self.vectors[text]}


def process_age() -> float:
    """Seconds since this process started (Python start-up and imports included)."""
    start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return uptime - start_ticks / os.sysconf("SC_CLK_TCK")


def percentiles(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    return {
        "p50": round(statistics.median(ordered), 1),
        "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
        "n": len(ordered),
    }


def run_serve_probe(data_dir: Path, requests: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--serve-probe", str(data_dir), "--requests", str(requests)],
        check=True,
        capture_output=True,
        text=True,
        cwd=PROJECT_DIR,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


# Report ----------------------------------------------------------------------------------
def load_text(load: list[float] | tuple[float, ...]) -> str:
    return "/".join(f"{x:.1f}" for x in load)


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"Machine: {results['machine']}; model {results['model']}; {results['date']}.",
        "",
        "With the real model (embedding floor: the model alone on the same chunks):",
        "",
        "| chunks | ingest (CPU) | embedding floor (CPU) | ratio wall (CPU) | unchanged re-ingest | 1 % changed (copy) | 1 % changed (reuse) | disk | load avg |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in results["real_model"]:
        first, floor = row["first"], row["floor"]
        lines.append(
            f"| {row['chunks']:,} | {first['seconds']:.1f} s ({first['cpu_seconds']:.0f} s)"
            f" | {floor['seconds']:.1f} s ({floor['cpu_seconds']:.0f} s)"
            f" | {first['seconds'] / floor['seconds']:.2f}"
            f" ({first['cpu_seconds'] / floor['cpu_seconds']:.2f})"
            f" | {row['unchanged']['seconds']:.1f} s"
            f" | {row['one_percent_copied']['seconds']:.1f} s"
            f" | {row['one_percent_recycled']['seconds']:.1f} s | {row['disk_mb']:.0f} MB"
            f" | {load_text(first['load_before'])}, {load_text(floor['load_before'])} |"
        )
    lines += [
        "",
        "The engine, vectors from the stand-in (ingest times are everything but embedding):",
        "",
        "| chunks | ingest | unchanged re-ingest | 1 % changed (copy) | 1 % changed (reuse) | start-up (process) | search p50 / p95 | filtered p50 / p95 | search without query model p50 / p95 | query embedding p50 / p95 | first ask | ask p50 | RSS | disk | load avg |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in results["engine"]:
        s = row["serve"]
        lines.append(
            f"| {row['chunks']:,} | {row['first']['seconds']:.1f} s | {row['unchanged']['seconds']:.1f} s"
            f" | {row['one_percent_copied']['seconds']:.1f} s"
            f" | {row['one_percent_recycled']['seconds']:.1f} s"
            f" | {s['startup_s']:.1f} s ({s['process_to_ready_s']:.1f} s)"
            f" | {s['search_ms']['p50']:.1f} / {s['search_ms']['p95']:.1f} ms"
            f" | {s['filtered_search_ms']['p50']:.1f} / {s['filtered_search_ms']['p95']:.1f} ms"
            f" | {s['search_without_query_model_ms']['p50']:.1f}"
            f" / {s['search_without_query_model_ms']['p95']:.1f} ms"
            f" | {s['query_embedding_ms']['p50']:.1f} / {s['query_embedding_ms']['p95']:.1f} ms"
            f" | {s['first_ask_ms']:.0f} ms | {s['ask_ms']['p50']:.1f} ms | {s['rss_mb']:,} MB"
            f" | {row['disk_mb']:.0f} MB | {load_text(s['load_before'])} |"
        )
    lines += ["", "Ingest phases (seconds):", ""]
    for kind in ("real_model", "engine"):
        for row in results[kind]:
            for label in ("first", "unchanged", "one_percent_copied", "one_percent_recycled"):
                t = row[label]["timings"]
                phases = ", ".join(f"{k} {v:.1f}" for k, v in t.items())
                extra = (
                    f" ({row[label]['build']}, {row[label]['caught_up']} caught up)"
                    if row[label]["build"]
                    else ""
                )
                lines.append(f"- {row['chunks']:,} {label}{extra}: {phases}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="chunks ingested with the real model")
    parser.add_argument("--engine-sizes", default="100000", help="chunks with stand-in vectors")
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--requests", type=int, default=200, help="searches per serving row")
    parser.add_argument("--keep", action="store_true", help="keep the data folders")
    parser.add_argument("--serve-probe", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_probe is not None:
        print(json.dumps(serve_probe(args.serve_probe, args.requests)))
        return
    sizes = [int(s) for s in args.sizes.split(",") if s]
    engine_sizes = [int(s) for s in args.engine_sizes.split(",") if s]
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="concerta-scale-"))
    settings = Settings(data_dir=work / "unused")
    results: dict[str, Any] = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "model": settings.embedding_model,
        "real_model": [],
        "engine": [],
    }
    try:
        for n in sizes:
            folder = work / f"real-{n}"
            run_settings = Settings(
                data_dir=folder / "data", embedding_cache_dir=folder / "embedding-cache"
            )
            row = ingest_series(run_settings, folder, n)
            row["floor"] = embedding_floor(run_settings, folder / "corpus" / "cataleg.jsonl")
            results["real_model"].append(row)
            print(json.dumps(row), file=sys.stderr)
        if engine_sizes:
            cache_dir = work / f"real-{min(sizes)}" / "embedding-cache" if sizes else work / "cache"
            stand_in = StandInDocumentEmbedder(stand_in_vectors(settings, work, cache_dir))
            for n in engine_sizes:
                folder = work / f"engine-{n}"
                run_settings = Settings(data_dir=folder / "data")
                row = ingest_series(run_settings, folder, n, stand_in)
                row["serve"] = run_serve_probe(folder / "data", args.requests)
                results["engine"].append(row)
                print(json.dumps(row), file=sys.stderr)
    finally:
        if not args.keep and args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    (RESULTS_DIR / f"scale-{stamp}.json").write_text(json.dumps(results, indent=2), "utf-8")
    print(markdown(results))


if __name__ == "__main__":
    main()
