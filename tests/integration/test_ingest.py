"""`concerta ingest` semantics on small corpora in temporary data folders (real model, local
Qdrant): counts, idempotence, updates and deletions, bad sources, kill -9 and the lock."""

from __future__ import annotations

import io
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from assistant.cli import app
from assistant.retrieval.searcher import Searcher
from index_config import Settings
from index_config.analyzer import CatalanAnalyzer
from index_config.documents_index import DocumentIndex
from index_config.settings import PROJECT_DIR
from index_config.term_stats import TermStatistics
from index_config.versions import index_versions
from ingest.job import IngestJob, IngestLockedError, IngestReport, ingest_lock
from tests.conftest import SAMPLE_DIR, make_settings

pytestmark = pytest.mark.integration

CONCERTA = Path(sys.executable).parent / "concerta"
MINI = Path(__file__).resolve().parents[1] / "data" / "mini"
SUMMARY = re.compile(r"^added=(\d+) updated=(\d+) unchanged=(\d+) deleted=(\d+) failed=(\d+)$")
MINI_DOCS = {
    "recurs:22101",
    "recurs:22133",
    "recurs:22426",
    "doc:guia-justificacio",
    "doc:nota-informativa",
    "doc:faq-mini",
}


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A private copy of the mini corpus: 3 catalogue records, Markdown, text, HTML."""
    folder = tmp_path / "corpus"
    shutil.copytree(MINI, folder)
    return folder


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


def ingest(settings: Settings, *sources: Path | str) -> IngestReport:
    console = Console(file=io.StringIO())
    return IngestJob(settings, console=console).run([str(s) for s in sources])


def counts(report: IngestReport) -> tuple[int, int, int, int, int]:
    match = SUMMARY.match(report.summary_line())
    assert match, report.summary_line()
    a, u, c, d, f = (int(g) for g in match.groups())
    return a, u, c, d, f


def indexed(settings: Settings) -> dict[str, list[dict[str, object]]]:
    """doc_id -> chunk metadata of the published version (read directly from Qdrant Edge)."""
    versions = index_versions(settings)
    current = versions.current()
    assert current is not None
    opened = versions.open(current)
    try:
        out: dict[str, list[dict[str, object]]] = {}
        for chunk in sorted(opened.store.filter_documents(), key=lambda d: d.id):
            out.setdefault(str(chunk.meta["doc_id"]), []).append(
                {**chunk.meta, "id": chunk.id, "content": chunk.content}
            )
        assert opened.count == sum(len(chunks) for chunks in out.values())
        return out
    finally:
        opened.close()


def pointer(settings: Settings) -> str:
    return (settings.qdrant_dir / "CURRENT").read_text("utf-8").strip()


def rewrite_record(path: Path, codi: str, **changes: object) -> None:
    lines = path.read_text("utf-8").splitlines()
    out = []
    for line in lines:
        record = json.loads(line)
        if record["codi"] == codi:
            record.update(changes)
        out.append(json.dumps(record, ensure_ascii=False))
    path.write_text("\n".join(out) + "\n", "utf-8")


def drop_record(path: Path, codi: str) -> None:
    lines = [ln for ln in path.read_text("utf-8").splitlines() if f'"codi": "{codi}"' not in ln]
    path.write_text("\n".join(lines) + "\n", "utf-8")


# Counting and idempotence ---------------------------------------------------------------------
def test_first_run_counts_documents_second_run_changes_nothing(
    settings: Settings, corpus: Path
) -> None:
    first = ingest(settings, corpus)
    assert counts(first) == (6, 0, 0, 0, 0)
    assert first.summary_line() == "added=6 updated=0 unchanged=0 deleted=0 failed=0"
    docs = indexed(settings)
    assert set(docs) == MINI_DOCS
    # One chunk per resource; files may have several (one per article / FAQ entry).
    assert all(len(docs[d]) == 1 for d in MINI_DOCS if d.startswith("recurs:"))
    assert len(docs["doc:guia-justificacio"]) == 4
    assert {c["kind"] for c in docs["doc:faq-mini"]} >= {"faq"}
    published = pointer(settings)
    assert published == first.version

    second = ingest(settings, corpus)
    assert counts(second) == (0, 0, 6, 0, 0)
    # Nothing changed: no new version is published.
    assert pointer(settings) == published == second.version
    versions = [p.name for p in (settings.qdrant_dir / "versions").iterdir()]
    assert versions == [published]


def test_changed_removed_and_new_documents(settings: Settings, corpus: Path) -> None:
    ingest(settings, corpus)
    catalogue = corpus / "cataleg-mini.jsonl"

    rewrite_record(catalogue, "22133", nom="Ajuts per a xarxes wifi a les places")
    report = ingest(settings, corpus)
    assert counts(report) == (0, 1, 5, 0, 0)
    (chunk,) = indexed(settings)["recurs:22133"]
    assert chunk["title"] == "Ajuts per a xarxes wifi a les places"

    drop_record(catalogue, "22426")
    (corpus / "nota-informativa.txt").unlink()
    (corpus / "nova.md").write_text("# Nota nova\n\nText de la nota nova sobre camins.\n", "utf-8")
    report = ingest(settings, corpus)
    assert counts(report) == (1, 0, 4, 2, 0)
    assert set(indexed(settings)) == (MINI_DOCS - {"recurs:22426", "doc:nota-informativa"}) | {
        "doc:nova"
    }


def test_changed_file_replaces_all_its_chunks(settings: Settings, corpus: Path) -> None:
    ingest(settings, corpus)
    guide = corpus / "guia-justificacio.md"
    guide.write_text("# Guia breu de justificació dels recursos\n\nNomés un paràgraf.\n", "utf-8")
    assert counts(ingest(settings, corpus)) == (0, 1, 5, 0, 0)
    chunks = indexed(settings)["doc:guia-justificacio"]
    assert [c["content"] for c in chunks] == [
        "Guia breu de justificació dels recursos\nNomés un paràgraf."
    ]


def test_documents_from_sources_not_given_now_are_kept(settings: Settings, corpus: Path) -> None:
    assert counts(ingest(settings, corpus / "cataleg-mini.jsonl")) == (3, 0, 0, 0, 0)
    assert counts(ingest(settings, corpus / "guia-justificacio.md")) == (1, 0, 0, 0, 0)
    assert set(indexed(settings)) == {
        "recurs:22101",
        "recurs:22133",
        "recurs:22426",
        "doc:guia-justificacio",
    }
    # A file given on its own is a scope too: removing it deletes only its document.
    (corpus / "guia-justificacio.md").unlink()
    report = ingest(settings, corpus / "guia-justificacio.md")
    assert counts(report)[3] == 1
    assert set(indexed(settings)) == {"recurs:22101", "recurs:22133", "recurs:22426"}


# Bad sources -----------------------------------------------------------------------------------
def test_bad_sources_are_named_the_rest_goes_on_and_nothing_is_lost(
    settings: Settings, corpus: Path
) -> None:
    ingest(settings, corpus)
    before = indexed(settings)
    junk = random.Random(3).randbytes(3000)
    (corpus / "malmes.pdf").write_bytes(junk)
    (corpus / "buit.md").write_bytes(b"")
    (corpus / "brossa.txt").write_bytes(b"\x00" + junk)
    (corpus / "dades.xyz").write_text("res", "utf-8")
    (corpus / "utf16.md").write_bytes("# Títol\n\nText en UTF-16.\n".encode("utf-16"))
    (corpus / "cp.txt").write_bytes(b"\x81\x8d\x8f\x90\x9d" * 40)
    # A file indexed before that is now broken keeps its old document.
    (corpus / "nota-informativa.txt").write_bytes(b"")
    # A bad catalogue line: the good lines (and a new good one) are still indexed.
    catalogue = corpus / "cataleg-mini.jsonl"
    extra = json.loads(
        (SAMPLE_DIR / "cataleg" / "cataleg-2022.jsonl").read_text("utf-8").split("\n")[3]
    )
    with catalogue.open("a", encoding="utf-8") as fh:
        fh.write('{"codi": "99999", "nom": "Sense la resta de camps"}\n')
        fh.write(json.dumps(extra, ensure_ascii=False) + "\n")
    missing = corpus.parent / "no-existeix.pdf"

    runner = CliRunner()
    result = runner.invoke(
        app,
        ["ingest", str(corpus), str(missing)],
        # Wide enough that rich does not wrap a failure line.
        env={"CONCERTA_DATA_DIR": str(settings.data_dir), "COLUMNS": "500"},
    )
    assert result.exit_code == 2, result.output
    stdout_lines = result.stdout.strip().splitlines()
    assert SUMMARY.match(stdout_lines[-1]), result.stdout
    assert stdout_lines[-1] == "added=1 updated=0 unchanged=5 deleted=0 failed=9"
    errors = result.stderr
    # Each failure named with its reason, in Catalan for the person running the command.
    for name, reason in [
        ("malmes.pdf", "no és un PDF llegible"),
        ("buit.md", "el fitxer és buit"),
        ("brossa.txt", "són dades binàries, no text"),
        ("dades.xyz", "tipus de fitxer no admès"),
        ("utf16.md", "són dades binàries, no text"),
        ("cp.txt", "codificació de text il·legible"),
        ("nota-informativa.txt", "el fitxer és buit"),
        ("cataleg-mini.jsonl:4", "falta el camp"),
        (str(missing), "no existeix aquest fitxer ni aquesta carpeta"),
    ]:
        pattern = rf"^no indexat {re.escape(name)}: .*{reason}"
        assert re.search(pattern, errors, re.M), (name, errors)

    after = indexed(settings)
    assert set(after) == set(before) | {f"recurs:{extra['codi']}"}
    assert after["doc:nota-informativa"] == before["doc:nota-informativa"]


def test_missing_source_alone_fails_without_touching_the_index(
    settings: Settings, corpus: Path
) -> None:
    ingest(settings, corpus)
    published = pointer(settings)
    report = ingest(settings, corpus.parent / "no-existeix")
    assert counts(report) == (0, 0, 0, 0, 1)
    assert report.failures[0].reason == "no such file or directory"
    assert pointer(settings) == published
    assert set(indexed(settings)) == MINI_DOCS


# Concurrency and crashes -----------------------------------------------------------------------
def test_second_ingest_fails_fast_while_one_holds_the_lock(
    settings: Settings, corpus: Path
) -> None:
    with ingest_lock(settings.data_dir):
        start = time.monotonic()
        with pytest.raises(IngestLockedError):
            ingest(settings, corpus)
        result = CliRunner().invoke(
            app, ["ingest", str(corpus)], env={"CONCERTA_DATA_DIR": str(settings.data_dir)}
        )
        assert time.monotonic() - start < 5
    assert result.exit_code == 1
    assert "ja hi ha una altra indexació en marxa" in result.stderr
    assert not (settings.qdrant_dir / "CURRENT").exists()


@pytest.fixture
def child_env(settings: Settings) -> Iterator[dict[str, str]]:
    env = {
        **os.environ,
        "CONCERTA_DATA_DIR": str(settings.data_dir),
        "HF_HUB_OFFLINE": "1",
        # The run must spend seconds embedding: no vectors from earlier runs.
        "CONCERTA_EMBEDDING_CACHE": "false",
    }
    yield env


def test_kill_9_mid_run_leaves_the_published_index_intact(
    settings: Settings, corpus: Path, child_env: dict[str, str]
) -> None:
    ingest(settings, corpus)
    published = pointer(settings)
    before = indexed(settings)
    # A large change (141 resources and 4 regulations added) so that the run spends
    # seconds embedding.
    shutil.copy(SAMPLE_DIR / "cataleg" / "cataleg-2022.jsonl", corpus / "cataleg-mini.jsonl")
    shutil.copytree(SAMPLE_DIR / "normativa", corpus / "normativa")
    versions_dir = settings.qdrant_dir / "versions"

    child = subprocess.Popen(
        [str(CONCERTA), "ingest", str(corpus)],
        cwd=PROJECT_DIR,
        env=child_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 180
        working: list[Path] = []
        while not working and child.poll() is None and time.monotonic() < deadline:
            working = [p for p in versions_dir.iterdir() if p.name.endswith(".tmp")]
            time.sleep(0.02)
        assert working, f"no working copy seen (exit {child.poll()})"
        # While it runs, another ingest on the same folder is refused at once.
        start = time.monotonic()
        with pytest.raises(IngestLockedError):
            ingest(settings, corpus)
        assert time.monotonic() - start < 5
        time.sleep(0.3)
        assert child.poll() is None, "the run finished before it could be killed"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate()
    assert child.returncode == -signal.SIGKILL

    # The published version is untouched and complete; the leftover is still there.
    assert pointer(settings) == published
    assert any(p.name.endswith(".tmp") for p in versions_dir.iterdir())
    assert indexed(settings) == before
    searcher = Searcher(settings)
    try:
        searcher.warm_up()
        assert searcher.index is not None
        assert searcher.index.get().version == published
        assert searcher.index.get().count == sum(len(c) for c in before.values())
        hits = searcher.search("xarxes wifi públiques", top_k=3)
        assert hits[0].codi == "22133"
    finally:
        searcher.close()

    # The next run succeeds, publishes the change and removes the leftover.
    report = ingest(settings, corpus)
    assert counts(report) == (145, 0, 6, 0, 0)
    assert pointer(settings) != published
    assert not any(p.name.endswith(".tmp") for p in versions_dir.iterdir())
    assert len([d for d in indexed(settings) if d.startswith("recurs:")]) == 144


def test_overlapping_sources_are_not_a_failure(settings: Settings, corpus: Path) -> None:
    report = ingest(settings, corpus, corpus / "guia-justificacio.md")
    assert counts(report) == (6, 0, 0, 0, 0)


# URLs and live readers -------------------------------------------------------------------------
@pytest.fixture
def web_server() -> Iterator[str]:
    """A local HTTP server: the mini FAQ at /faq-mini.html and, without extension, at
    /preguntes (served as text/html); anything else is 404."""
    pages = {
        "/faq-mini.html": ("text/html; charset=utf-8", (MINI / "faq-mini.html").read_bytes()),
        "/preguntes": ("text/html", (MINI / "faq-mini.html").read_bytes()),
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            page = pages.get(self.path)
            if page is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", page[0])
            self.send_header("Content-Length", str(len(page[1])))
            self.end_headers()
            self.wfile.write(page[1])

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_urls_are_fetched_converted_and_failures_named(settings: Settings, web_server: str) -> None:
    url = f"{web_server}/faq-mini.html"
    report = ingest(settings, url, f"{web_server}/preguntes", f"{web_server}/no-hi-es.pdf")
    assert counts(report) == (2, 0, 0, 0, 1)
    assert report.failures[0].source == "no-hi-es.pdf"
    assert "404" in report.failures[0].reason
    docs = indexed(settings)
    assert set(docs) == {"doc:faq-mini", "doc:preguntes"}
    faq = [c for c in docs["doc:faq-mini"] if c["kind"] == "faq"]
    assert len(faq) == 2 and all(c["url"] == url for c in faq)
    # Fetched again unchanged: nothing to do.
    assert counts(ingest(settings, url)) == (0, 0, 1, 0, 0)


def test_a_running_searcher_follows_a_new_version(settings: Settings, corpus: Path) -> None:
    ingest(settings, corpus)
    searcher = Searcher(settings)
    try:
        searcher.warm_up()
        assert searcher.index is not None
        before = searcher.index.get()
        query = "colònies de ratpenats al campanar"
        assert all(h.doc_id != "doc:ratpenats" for h in searcher.search(query, top_k=10))
        (corpus / "ratpenats.md").write_text(
            "# Ratpenats\n\nQuè cal fer amb les colònies de ratpenats al campanar.\n", "utf-8"
        )
        assert counts(ingest(settings, corpus)) == (1, 0, 6, 0, 0)
        time.sleep(searcher.index.check_interval + 0.1)
        hits = searcher.search(query, top_k=3)
        assert hits[0].doc_id == "doc:ratpenats"
        after = searcher.index.get()
        assert after.version != before.version and after.count == before.count + 1
    finally:
        searcher.close()


# Versions built from the served one ---------------------------------------------------------
def ranking(settings: Settings, queries: list[str]) -> list[list[tuple[str, float]]]:
    searcher = Searcher(settings)
    try:
        searcher.warm_up()
        return [[(h.id, round(h.score, 4)) for h in searcher.search(q, top_k=8)] for q in queries]
    finally:
        searcher.close()


def test_updates_reuse_an_older_version_and_rank_as_a_fresh_build(
    settings: Settings, corpus: Path, tmp_path: Path
) -> None:
    catalogue = corpus / "cataleg-mini.jsonl"
    builds = [ingest(settings, corpus)]
    rewrite_record(catalogue, "22133", nom="Ajuts per a xarxes wifi a les places")
    builds.append(ingest(settings, corpus))
    rewrite_record(catalogue, "22426", nom="Control de la legionel·la a les dutxes municipals")
    (corpus / "nova.md").write_text("# Nota nova\n\nCamins rurals i ponts.\n", "utf-8")
    builds.append(ingest(settings, corpus))
    # The first update copies the served version (nothing older exists); the next one
    # reuses the first version, writing only what differs from the served one (the
    # resource renamed by the previous run), then its own changes.
    assert [b.build for b in builds] == ["empty", "copied", "recycled"]
    assert builds[2].caught_up == 1
    assert counts(builds[2]) == (1, 1, 5, 0, 0)
    remaining = sorted(p.name for p in (settings.qdrant_dir / "versions").iterdir())
    assert remaining == sorted([str(builds[1].version), str(builds[2].version)])

    fresh = make_settings(tmp_path / "fresh")
    assert counts(ingest(fresh, corpus)) == (7, 0, 0, 0, 0)
    assert indexed(settings) == indexed(fresh)
    queries = ["xarxes wifi a les places", "legionel·la a les dutxes", "camins rurals", "termini"]
    assert ranking(settings, queries) == ranking(fresh, queries)

    # Term statistics were updated, not recounted, and equal a count over every chunk.
    versions = index_versions(settings)
    opened = versions.open(str(versions.current()))
    try:
        recount = TermStatistics(
            CatalanAnalyzer(settings.analyzer), opened.store.filter_documents()
        )
        assert opened.term_stats == recount and recount.n == opened.count
        # So was the document index saved with the version: it equals the payloads.
        saved, read_back = (
            {k: (d.doc_hash, d.source_path, sorted(d.chunks)) for k, d in index.items()}
            for index in (versions.document_index(opened), DocumentIndex.from_store(opened.store))
        )
        assert saved == read_back and len(saved) == 7
    finally:
        opened.close()
