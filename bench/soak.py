"""Soak test: a mixed load (ask, stream, search, feedback) at full speed from 8 clients.

    python bench/soak.py [--minutes 10] [--clients 8] [--data-dir DIR] [--json FILE]

Ingests the sample corpus into DIR (idempotent), starts `concerta serve`'s app with
uvicorn in a subprocess on 127.0.0.1 and drives it with httpx until the time is up.
Reports requests, status codes, p50/p95/max latency, the server's resident memory and
the SQLite file's size at the start and at the end, and the machine's load (`uptime`).

Rate limits stay on, at their defaults, and the clients are of two kinds so that both
the limits and the service are measured:
- client 0 always sends from one address: it is over its limit most of the time, and
  its 429s are expected (they are counted apart, never as errors);
- the other clients send each request from a different address (10.x.y.z, through
  X-Forwarded-For from a trusted proxy: the server trusts 127.0.0.1 for this run), so
  the limits never stop them and what they measure is the service. They also fill the
  limiter's table of clients, which must stay bounded.
The conversation store is bounded for the run (CONCERTA_PRIVACY__MAX_TURNS, purged every
minute), so the SQLite file must stop growing once it is full.

Loopback only; every loop is bounded by the clock. Prints a Markdown table and writes the
numbers as JSON (bench/results/soak-<time>.json unless --json says where).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
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

# The mix of one client's requests (weights), and the follow-ups it asks.
MIX = {"ask": 4, "stream": 2, "search": 3, "feedback": 1}
FOLLOW_UPS = ["I fins quan es pot demanar?", "I quin és l'import?", "I qui el pot demanar?"]
SEARCHES = ["camins municipals", "wifi a la plaça", "justificació de l'ajut", "biblioteca"]
FIXED_ADDRESS = "10.9.0.1"
MAX_TURNS = 3000
SAMPLE_SECONDS = 30.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def sqlite_mb(data_dir: Path) -> float:
    files = [data_dir / f"concerta.sqlite3{suffix}" for suffix in ("", "-wal", "-shm")]
    return round(sum(f.stat().st_size for f in files if f.exists()) / 1024 / 1024, 2)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def start_server(data_dir: Path, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        {
            "CONCERTA_LIMITS__TRUSTED_PROXIES": '["127.0.0.1"]',
            "CONCERTA_PRIVACY__MAX_TURNS": str(MAX_TURNS),
            "CONCERTA_PRIVACY__PURGE_INTERVAL_SECONDS": "60",
        }
    )
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER_CODE, str(data_dir), str(port)],
        cwd=PROJECT_DIR,
        env=env,
        stdout=log_path.open("wb"),
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


@dataclass
class Tally:
    """What the clients saw: per kind of request, its statuses and latencies."""

    statuses: dict[str, collections.Counter[int]] = field(
        default_factory=lambda: collections.defaultdict(collections.Counter)
    )
    latencies: dict[str, list[float]] = field(default_factory=lambda: collections.defaultdict(list))
    failures: collections.Counter[str] = field(default_factory=collections.Counter)
    limited_client: collections.Counter[int] = field(default_factory=collections.Counter)

    def add(self, kind: str, status: int, seconds: float, fixed: bool) -> None:
        self.statuses[kind][status] += 1
        self.latencies[kind].append(seconds)
        if fixed:
            self.limited_client[status] += 1


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return round(ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))] * 1000, 1)


class Client:
    """One simulated official: asks, follows up, streams, searches and rates answers."""

    def __init__(self, number: int, http: httpx.AsyncClient, questions: list[str]) -> None:
        self.number = number
        self.http = http
        self.questions = questions
        self.random = random.Random(number)
        self.last: dict[str, Any] | None = None

    def address(self) -> str:
        if self.number == 0:
            return FIXED_ADDRESS
        r = self.random
        return f"10.{r.randrange(10, 250)}.{r.randrange(256)}.{r.randrange(1, 255)}"

    def question(self) -> dict[str, Any]:
        if self.last and self.random.random() < 0.3:
            return {
                "question": self.random.choice(FOLLOW_UPS),
                "conversation_id": self.last["conversation_id"],
            }
        return {"question": self.random.choice(self.questions)}

    async def one(self, tally: Tally) -> None:
        kind = self.random.choices(list(MIX), weights=list(MIX.values()))[0]
        if kind == "feedback" and not (self.last and self.last.get("message_id")):
            kind = "ask"
        headers = {"X-Forwarded-For": self.address()}
        started = time.perf_counter()
        try:
            if kind == "ask":
                response = await self.http.post("/api/ask", json=self.question(), headers=headers)
                if response.status_code == 200:
                    self.last = response.json()
            elif kind == "stream":
                async with self.http.stream(
                    "POST", "/api/ask/stream", json=self.question(), headers=headers
                ) as response:
                    events = b"".join([chunk async for chunk in response.aiter_bytes()])
                if response.status_code == 200 and b"event: sources" not in events:
                    tally.failures["stream without its final event"] += 1
            elif kind == "search":
                search = {"query": self.random.choice(SEARCHES + self.questions), "top_k": 10}
                response = await self.http.post("/api/search", json=search, headers=headers)
            else:
                assert self.last is not None
                rating = {
                    "conversation_id": self.last["conversation_id"],
                    "message_id": self.last["message_id"],
                    "rating": self.random.choice([1, -1]),
                }
                response = await self.http.post("/api/feedback", json=rating, headers=headers)
        except httpx.HTTPError as exc:
            tally.failures[type(exc).__name__] += 1
            return
        tally.add(kind, response.status_code, time.perf_counter() - started, self.number == 0)

    async def run(self, tally: Tally, until: float) -> None:
        while time.monotonic() < until:
            await self.one(tally)


async def soak(base: str, clients: int, seconds: float, questions: list[str], pid: int) -> Any:
    tally = Tally()
    samples: list[tuple[float, float]] = []
    until = time.monotonic() + seconds
    started = time.monotonic()

    async def sample_memory() -> None:
        while time.monotonic() < until:
            samples.append((round(time.monotonic() - started), rss_mb(pid)))
            await asyncio.sleep(min(SAMPLE_SECONDS, max(0.0, until - time.monotonic())))

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:
        workers = [Client(n, http, questions) for n in range(clients)]
        await asyncio.gather(sample_memory(), *(w.run(tally, until) for w in workers))
        metrics = (await http.get("/metrics")).text
    return tally, samples, metrics


def summary(tally: Tally) -> dict[str, Any]:
    every = [s for values in tally.latencies.values() for s in values]
    statuses: collections.Counter[int] = collections.Counter()
    for counter in tally.statuses.values():
        statuses.update(counter)
    rows = {}
    for kind in MIX:
        values = tally.latencies.get(kind, [])
        rows[kind] = {
            "requests": len(values),
            "statuses": dict(sorted(tally.statuses[kind].items())),
            "p50_ms": percentile(values, 0.5),
            "p95_ms": percentile(values, 0.95),
            "max_ms": percentile(values, 1.0),
        }
    # Anything but an answer or a 429 is an error (a 404 too: no conversation is purged
    # under a client's feet while it is still being used).
    errors = sum(n for status, n in statuses.items() if status not in (200, 429))
    return {
        "requests": len(every),
        "statuses": dict(sorted(statuses.items())),
        "errors": errors + sum(tally.failures.values()),
        "failures": dict(tally.failures),
        "p50_ms": percentile(every, 0.5),
        "p95_ms": percentile(every, 0.95),
        "max_ms": percentile(every, 1.0),
        "by_kind": rows,
        "fixed_address_client": dict(sorted(tally.limited_client.items())),
    }


def markdown(result: dict[str, Any]) -> str:
    s = result["summary"]
    lines = [
        "| what | requests | status codes | p50 ms | p95 ms | max ms |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for kind, row in s["by_kind"].items():
        codes = ", ".join(f"{k}: {v}" for k, v in row["statuses"].items())
        lines.append(
            f"| {kind} | {row['requests']} | {codes} | {row['p50_ms']} | {row['p95_ms']} "
            f"| {row['max_ms']} |"
        )
    codes = ", ".join(f"{k}: {v}" for k, v in s["statuses"].items())
    lines.append(
        f"| **all** | **{s['requests']}** | {codes} | {s['p50_ms']} | {s['p95_ms']} "
        f"| {s['max_ms']} |"
    )
    fixed = ", ".join(f"{k}: {v}" for k, v in s["fixed_address_client"].items())
    lines += [
        "",
        f"- errors (any status but 200 and 429, or a transport error): {s['errors']} "
        f"{s['failures'] or ''}".rstrip(),
        f"- the fixed-address client: {fixed} (its 429s are the limits at work)",
        f"- server resident memory: {result['rss_start_mb']} MB at the start, "
        f"{result['rss_end_mb']} MB at the end (max {result['rss_max_mb']} MB)",
        f"- SQLite file: {result['sqlite_start_mb']} MB at the start, "
        f"{result['sqlite_end_mb']} MB at the end (max turns {MAX_TURNS})",
        f"- `concerta_rate_limited_total`: {result['rate_limited_total']}",
        f"- load average (uptime) at the start: {result['load_start']}; "
        f"at the end: {result['load_end']}",
        f"- {result['clients']} clients for {result['minutes']} min, "
        f"{result['cpus']} CPUs, {result['started_at']}",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument(
        "--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "concerta-soak"
    )
    parser.add_argument("--json", type=Path, default=None, help="where to write the numbers")
    args = parser.parse_args()

    rows = [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines()]
    questions = [str(r["question"]) for r in rows if r.get("question")]
    settings = Settings(data_dir=args.data_dir)
    ingest(settings)
    port = free_port()
    log_path = Path(tempfile.gettempdir()) / "concerta-soak-server.log"
    process = start_server(args.data_dir, port, log_path)
    try:
        base = f"http://127.0.0.1:{port}"
        # First requests load what is loaded lazily; they are not part of the numbers.
        for question in questions[:3]:
            httpx.post(f"{base}/api/ask", json={"question": question}, timeout=120)
        started_at = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        rss_start, sqlite_start, load_start = rss_mb(process.pid), sqlite_mb(args.data_dir), load()
        tally, samples, metrics = asyncio.run(
            soak(base, args.clients, args.minutes * 60, questions, process.pid)
        )
        rss_end, sqlite_end, load_end = rss_mb(process.pid), sqlite_mb(args.data_dir), load()
    finally:
        process.terminate()
        process.wait(timeout=60)
    limited = next(
        (
            line.split()[-1]
            for line in metrics.splitlines()
            if line.startswith("concerta_rate_limited_total")
        ),
        "0",
    )
    result = {
        "started_at": started_at,
        "minutes": args.minutes,
        "clients": args.clients,
        "cpus": os.cpu_count(),
        "summary": summary(tally),
        "rss_start_mb": rss_start,
        "rss_end_mb": rss_end,
        "rss_max_mb": max([rss_end, *(mb for _, mb in samples)]),
        "rss_samples": samples,
        "sqlite_start_mb": sqlite_start,
        "sqlite_end_mb": sqlite_end,
        "rate_limited_total": limited,
        "load_start": load_start,
        "load_end": load_end,
    }
    out = args.json or RESULTS_DIR / f"soak-{dt.datetime.now():%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(markdown(result))
    print(f"\n(numbers in {out}; server log in {log_path})", file=sys.stderr)


if __name__ == "__main__":
    main()
