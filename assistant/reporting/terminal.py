"""`concerta report` without --json: the report as rich tables, in Catalan."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from assistant.models import Hit
from assistant.reporting.models import Report

# Every refusal reason of assistant/ask/decision.py, as the catalogue managers read it.
REASONS = {
    "no_evidence": "cap font ho cobreix",
    "ineligible": "els recursos que hi encaixen no són per a qui pregunta",
    "false_premise": "un suport que el catàleg no té",
    "other_administration": "qüestió d'una altra administració",
    "out_of_period": "anys que les fonts no cobreixen",
    "unknown_code": "codis que les fonts no tenen",
    "small_talk": "conversa fora de l'àmbit",
    "injection": "intent de canviar les instruccions",
    "unknown": "motiu no registrat",
}


def _pct(rate: float) -> str:
    return f"{rate * 100:.1f} %".replace(".", ",")


def _day(value: object) -> str:
    text = str(value)[:10]
    year, month, day = text.split("-")
    return f"{int(day)}/{int(month)}/{year}"


def _hit_line(hit: Hit) -> str:
    if hit.codi:
        return f"{hit.codi} · {hit.title}"
    if hit.article and hit.article != hit.title:
        return f"{hit.article} · {hit.title}"
    return hit.title


def print_report(report: Report, out: Console) -> None:
    p = report.period
    out.print(
        f"[bold]Informe del {_day(p.from_)} al {_day(p.to)}[/bold] (dies en hora de {p.timezone})",
        highlight=False,
    )
    figures = Table("Xifra", "Valor", title="Xifres del període", title_justify="left")
    figures.add_row("Preguntes", str(report.questions))
    figures.add_row("Converses", str(report.conversations))
    figures.add_row("Amb resposta", f"{report.answered} ({_pct(report.answered_rate)})")
    figures.add_row("Sense resposta", f"{report.refused} ({_pct(report.refused_rate)})")
    for code, n in report.refusal_reasons.items():
        figures.add_row(f"  motiu: {REASONS.get(code, code)}", str(n))
    figures.add_row("Valoracions útils", str(report.feedback.up))
    figures.add_row("Valoracions no útils", str(report.feedback.down))
    figures.add_row("Cerques", str(report.searches))
    figures.add_row(
        "Cerques sense resultat", str(sum(s.count for s in report.zero_result_searches))
    )
    out.print(figures)

    days = Table(
        "Dia", "Preguntes", "Amb resposta", "Sense resposta", title="Per dia", title_justify="left"
    )
    for d in report.by_day:
        if d.questions:
            days.add_row(_day(d.date), str(d.questions), str(d.answered), str(d.refused))
    out.print(days if days.row_count else "[dim]Cap pregunta en aquest període.[/dim]")

    gaps = Table(
        "Tema",
        "Preguntes",
        "Exemples",
        "Recursos més propers",
        title="Necessitats sense resposta (refusades o valorades com a no útils)",
        title_justify="left",
        show_lines=True,
    )
    for gap in report.gaps:
        nearest = "\n".join(_hit_line(h) for h in gap.nearest)
        gaps.add_row(gap.label, str(gap.count), "\n".join(f"«{q}»" for q in gap.examples), nearest)
    out.print(gaps if gaps.row_count else "[dim]Cap necessitat sense resposta.[/dim]")

    rated = Table(
        "Dia",
        "Valoració",
        "Pregunta",
        "Comentari",
        title="Valoracions negatives i comentaris",
        title_justify="left",
    )
    for item in report.feedback.items:
        rated.add_row(
            _day(item.created_at),
            "no útil" if item.rating < 0 else "útil",
            item.question or "",
            item.comment or "",
        )
    if rated.row_count:
        out.print(rated)

    resources = Table(
        "Codi", "Recurs", "Respostes", title="Recursos més citats", title_justify="left"
    )
    for r in report.top_resources:
        resources.add_row(r.codi, r.title, str(r.citations))
    if resources.row_count:
        out.print(resources)
    articles = Table(
        "Article",
        "Document",
        "Respostes",
        title="Articles i preguntes freqüents més citats",
        title_justify="left",
    )
    for a in report.top_articles:
        articles.add_row(a.article, a.title, str(a.citations))
    if articles.row_count:
        out.print(articles)
    zero = Table(
        "Cerca", "Filtres", "Vegades", title="Cerques sense cap resultat", title_justify="left"
    )
    for s in report.zero_result_searches:
        filters = ", ".join(f"{k}={v}" for k, v in s.filters.items())
        zero.add_row(s.query, filters, str(s.count))
    if zero.row_count:
        out.print(zero)
