"""API latency benchmark: /api/search and /api/ask at 1 and 8 concurrent clients.

    python bench/bench_api.py [--requests 200] [--data-dir DIR] [--questions FILE]

Ingests the sample corpus into DIR (idempotent), measures the floor in-process (one query
embedding + one raw dense Qdrant query on the served collection, and `service.search` as
a second reference), then starts `concerta serve`'s app with uvicorn in a subprocess on
127.0.0.1 and drives it with httpx. Prints a Markdown table; writes JSON to bench/results/.

The floor is measured before the server starts, so that the two do not share the cores.
Loopback only; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from serving import (  # bench/serving.py: first, it sets the offline environment
    DEFAULT_QUESTIONS,
    PROJECT_DIR,
    RESULTS_DIR,
    SERVER_CODE,
    free_port,
    ingest,
)

from index_config.settings import Settings


def load_questions(path: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [{"question": r["question"], "filters": r.get("filters") or {}} for r in rows]


def summarise(latencies: list[float], wall: float, errors: int = 0) -> dict[str, Any]:
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))] * 1000

    return {
        "requests": len(ordered),
        "errors": errors,
        "p50_ms": round(pct(0.50), 1),
        "p95_ms": round(pct(0.95), 1),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 1),
        "rps": round(len(ordered) / wall, 1) if wall else 0.0,
    }


def time_calls(call: Callable[[int], object], count: int, max_seconds: float) -> dict[str, Any]:
    """Run `call(i)` sequentially up to `count` times or `max_seconds`."""
    latencies: list[float] = []
    started = time.perf_counter()
    for i in range(count):
        t0 = time.perf_counter()
        call(i)
        latencies.append(time.perf_counter() - t0)
        if time.perf_counter() - started > max_seconds:
            break
    return summarise(latencies, time.perf_counter() - started)


def measure_floor(
    settings: Settings, questions: list[dict[str, Any]], count: int, max_seconds: float
) -> dict[str, Any]:
    """Embedding + one dense Qdrant query, then the whole in-process service.search."""
    from assistant.service import AssistantService
    from index_config.chunk_store import VectorQuery
    from index_config.embedders import embedding_dimension, text_embedder
    from index_config.versions import index_versions

    def text(i: int) -> str:
        return str(questions[i % len(questions)]["question"])

    embedder = text_embedder(settings)
    embedder.warm_up()
    embedding_dimension(embedder)
    versions = index_versions(settings)
    version = versions.current()
    if version is None:
        raise SystemExit("no index version: ingest failed?")
    opened = versions.open(version)

    def dense_query(vector: list[float]) -> object:
        return opened.store.search([VectorQuery("dense", vector, 10)])

    try:
        for i in range(5):  # warm caches
            dense_query(embedder.run(text=text(i))["embedding"])
        embed = time_calls(lambda i: embedder.run(text=text(i)), count, max_seconds)
        vectors = [embedder.run(text=text(i))["embedding"] for i in range(len(questions))]
        qdrant = time_calls(lambda i: dense_query(vectors[i % len(vectors)]), count, max_seconds)
        floor = time_calls(
            lambda i: dense_query(embedder.run(text=text(i))["embedding"]), count, max_seconds
        )
    finally:
        opened.close()
        versions.close()

    service = AssistantService(settings)
    service.warm_up()
    try:
        for i in range(5):
            service.search(text(i), top_k=10, filters=questions[i % len(questions)]["filters"])
        in_process = time_calls(
            lambda i: service.search(
                text(i), top_k=10, filters=questions[i % len(questions)]["filters"]
            ),
            count,
            max_seconds,
        )
    finally:
        service.close()
    return {
        "embedding": embed,
        "qdrant_dense_query": qdrant,
        "embedding_plus_qdrant": floor,
        "service_search_in_process": in_process,
    }


def start_server(
    data_dir: Path, port: int, log_path: Path, torch_threads: int | None
) -> subprocess.Popen[bytes]:
    log = log_path.open("wb")
    env = dict(os.environ)
    # One client address drives every request: the per-client rate limits would answer
    # most of them 429 (bench/soak.py measures the limits themselves).
    for group in ("ASK", "SEARCH", "FEEDBACK"):
        env.setdefault(f"CONCERTA_LIMITS__{group}__PER_MINUTE", "1000000")
        env.setdefault(f"CONCERTA_LIMITS__{group}__BURST", "1000000")
    if torch_threads:
        env["OMP_NUM_THREADS"] = str(torch_threads)  # read by torch at import
    else:
        env["OMP_NUM_THREADS"] = str(os.cpu_count() or 1)  # torch's default, not run_server's
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER_CODE, str(data_dir), str(port)],
        cwd=PROJECT_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited early; see {log_path}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    process.terminate()
    raise SystemExit(f"server not ready in time; see {log_path}")


async def drive(
    base: str,
    route: str,
    bodies: list[dict[str, Any]],
    concurrency: int,
    count: int,
    max_seconds: float,
) -> dict[str, Any]:
    """`count` POSTs shared by `concurrency` clients; stops early after `max_seconds`."""
    latencies: list[float] = []
    errors = 0
    next_index = 0
    started = time.perf_counter()

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal next_index, errors
        while next_index < count and time.perf_counter() - started < max_seconds:
            body = bodies[next_index % len(bodies)]
            next_index += 1
            t0 = time.perf_counter()
            response = await client.post(route, json=body)
            if response.status_code == 200:
                latencies.append(time.perf_counter() - t0)
            else:
                errors += 1

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
        for body in bodies[:3]:  # first-request costs are not part of the numbers
            await client.post(route, json=body)
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
    return summarise(latencies, time.perf_counter() - started, errors)


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "| what | clients | requests | p50 ms | p95 ms | req/s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    labels = {
        "embedding": "floor: query embedding",
        "qdrant_dense_query": "floor: raw Qdrant dense query",
        "embedding_plus_qdrant": "floor: embedding + Qdrant query",
        "service_search_in_process": "service.search in-process",
    }
    for key, row in results["floor"].items():
        lines.append(
            f"| {labels[key]} | 1 | {row['requests']} | {row['p50_ms']} | {row['p95_ms']} "
            f"| {row['rps']} |"
        )
    for row in results["http"]:
        lines.append(
            f"| POST {row['route']} | {row['concurrency']} | {row['requests']}"
            f"{' (' + str(row['errors']) + ' errors)' if row['errors'] else ''} "
            f"| {row['p50_ms']} | {row['p95_ms']} | {row['rps']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="per route and concurrency")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--max-seconds", type=float, default=180.0, help="per measurement")
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument(
        "--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "concerta-bench"
    )
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=1,
        help="torch intra-op threads in both processes (0: torch's own choice); "
        "`concerta serve` uses 1 unless OMP_NUM_THREADS is set",
    )
    args = parser.parse_args()
    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)

    load_before = os.getloadavg()
    questions = load_questions(args.questions)
    settings = Settings(data_dir=args.data_dir)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    ingest(settings)
    print("measuring the floor in-process…", file=sys.stderr)
    floor = measure_floor(settings, questions, args.requests, args.max_seconds)

    port = free_port()
    log_path = args.data_dir / "bench-server.log"
    server = start_server(args.data_dir, port, log_path, args.torch_threads)
    http_rows = []
    try:
        base = f"http://127.0.0.1:{port}"
        search_bodies = [
            {"query": q["question"], "top_k": 10, "filters": q["filters"]} for q in questions
        ]
        ask_bodies = [{"question": q["question"], "filters": q["filters"]} for q in questions]
        for route, bodies in (("/api/search", search_bodies), ("/api/ask", ask_bodies)):
            for concurrency in args.concurrency:
                print(f"POST {route} x{concurrency}…", file=sys.stderr)
                row = asyncio.run(
                    drive(base, route, bodies, concurrency, args.requests, args.max_seconds)
                )
                http_rows.append({"route": route, "concurrency": concurrency, **row})
    finally:
        server.terminate()
        server.wait(timeout=30)

    results = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            # Other work on the machine skews every number: keep the load next to them.
            "load_average_1m": {"start": load_before[0], "end": os.getloadavg()[0]},
        },
        "embedding_model": settings.embedding_model,
        "llm": bool(settings.llm_base_url),
        "torch_threads": args.torch_threads,
        "questions": str(args.questions),
        "floor": floor,
        "http": http_rows,
    }
    print(markdown(results))
    load_after = os.getloadavg()[0]
    busy = max(load_before[0], load_after) > (os.cpu_count() or 1)
    print(
        f"\n{os.cpu_count()} CPUs; 1-minute load average {load_before[0]:.1f} at the start, "
        f"{load_after:.1f} at the end"
        + (" (above the CPU count: other work inflated the numbers)." if busy else ".")
    )
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"api-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"\nJSON: {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
