"""The OpenAPI document tells the truth: schemathesis (`--checks all`) against the real
app, served by uvicorn on 127.0.0.1, on the real service and the sample index.

Every operation gets schema-valid and schema-violating requests: no 5xx, no status code
or body the document does not declare, everything the schema allows accepted and
everything it forbids rejected. Bounded in cases (`--max-examples`) and in time (the
subprocess timeout); the seed is fixed so a failure reproduces (CONCERTA_FUZZ_SEED and
CONCERTA_FUZZ_EXAMPLES explore further). The few things JSON Schema cannot say are in
tests/support/schemathesis.toml, each with its reason.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.api import create_app
from assistant.conversation import ConversationStore
from assistant.service import AssistantService
from index_config.settings import (
    AskLimit,
    FeedbackLimit,
    GapSettings,
    LimitSettings,
    SearchLimit,
)
from tests.conftest import make_settings
from tests.support.live_server import serving

pytestmark = pytest.mark.integration

TOKEN = "fuzz-operator-token-0123456789abcdef"
CONFIG = Path(__file__).resolve().parent.parent / "support" / "schemathesis.toml"
ST = Path(sys.executable).with_name("st")
SEED = os.environ.get("CONCERTA_FUZZ_SEED", "3")
EXAMPLES = os.environ.get("CONCERTA_FUZZ_EXAMPLES", "10")
MAX_SECONDS = 900
UNLIMITED = {"per_minute": 1_000_000, "burst": 1_000_000}


@pytest.fixture(scope="module")
def fuzzed_url(
    assistant_service: AssistantService, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The app on the session index with a conversation store of its own (the fuzzer's
    thousand questions stay out of other tests' counts), an operator token so the
    report routes are exercised too, and rate limits out of the way: a 429 is a valid
    answer, but it would hide what the routes behind it do."""
    settings = make_settings(
        tmp_path_factory.mktemp("fuzz") / "data",
        admin_token=TOKEN,
        limits=LimitSettings(
            ask=AskLimit(**UNLIMITED),
            search=SearchLimit(**UNLIMITED),
            feedback=FeedbackLimit(**UNLIMITED),
        ),
        # The report clusters every refused question: keep it interactive under the fuzzer.
        gaps=GapSettings(max_questions=30),
    )
    service = AssistantService(settings, searcher=assistant_service.searcher)
    service.conversations = ConversationStore(settings.sqlite_path)
    try:
        with serving(create_app(service=service)) as url:
            yield url
    finally:
        service.conversations.close()


def test_schemathesis_finds_nothing(fuzzed_url: str, tmp_path: Path) -> None:
    command: list[Any] = [
        ST,
        "--config-file", CONFIG,
        "--no-color",
        "run", f"{fuzzed_url}/openapi.json",
        "--checks", "all",
        "--header", f"Authorization: Bearer {TOKEN}",
        "--max-examples", EXAMPLES,
        "--seed", SEED,
        "--workers", "1",
        "--request-timeout", "120",
        "--generation-database", "none",
        "--report", "junit",
        "--report-dir", tmp_path,
    ]  # fmt: skip
    result = subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        timeout=MAX_SECONDS,
        cwd=tmp_path,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-20_000:]
    assert "No issues found" in output, output[-20_000:]
    document = httpx.get(f"{fuzzed_url}/openapi.json").json()
    operations = sum(len(methods) for methods in document["paths"].values())
    # every operation of the document
    assert f"{operations} selected / {operations} total" in output
