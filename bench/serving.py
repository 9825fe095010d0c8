"""What the load benchmarks (bench_api.py, soak.py) share: an offline environment, the
sample corpus ingested into a data dir, a free loopback port and the server's command.

Import it first: it sets the offline variables before any model library is imported.
"""

from __future__ import annotations

import socket
import sys
from contextlib import closing

import offline  # noqa: F401  (bench/offline.py: before any model library)

# isort: split

from index_config.settings import PROJECT_DIR, Settings

RESULTS_DIR = PROJECT_DIR / "bench" / "results"
DEFAULT_QUESTIONS = PROJECT_DIR / "data" / "questions-dev.jsonl"
# `concerta serve`'s app in a subprocess: python -c SERVER_CODE <data dir> <port>.
SERVER_CODE = (
    "import sys; from pathlib import Path; from index_config import Settings; "
    "from assistant.api import run_server; "
    "run_server(Settings(data_dir=Path(sys.argv[1])), port=int(sys.argv[2]))"
)


def ingest(settings: Settings) -> None:
    """The sample corpus into the settings' data dir (idempotent)."""
    from ingest.job import IngestJob

    report = IngestJob(settings).run(settings.resolved_sources())
    print(f"ingest: {report}", file=sys.stderr)


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
