"""`concerta eval`: retrieval and answers on one or several question files, reported on
all questions and on each half of the fixed tuning/check split."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from assistant.evaluation.answer_eval import AskFn, score_conversation, summarise_answers
from assistant.evaluation.questions import Question
from assistant.evaluation.retrieval_eval import SearchFn, score_question, summarise_retrieval
from assistant.models import Filters

HALVES = ("all", "tune", "check")


def run_eval(
    questions: list[Question], search: SearchFn, ask: AskFn | None = None
) -> dict[str, Any]:
    retrieval = [
        score_question(q, search(q.question, Filters.parse(q.filters), 10))
        for q in questions
        if q.gold_codis or q.gold_articles
    ]
    answers = [row for q in questions for row in score_conversation(q, ask)] if ask else []
    result: dict[str, Any] = {"splits": {}, "retrieval_details": retrieval}
    for half in HALVES:

        def keep(row: dict[str, Any], half: str = half) -> bool:
            return half == "all" or row["split"] == half

        entry: dict[str, Any] = {"retrieval": summarise_retrieval(r for r in retrieval if keep(r))}
        if ask:
            entry["answers"] = summarise_answers(r for r in answers if keep(r))
        result["splits"][half] = entry
    if ask:
        result["answer_details"] = answers
    return result


def _fmt(value: Any) -> str:
    return "" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def print_eval(result: dict[str, Any], console: Console) -> None:
    splits = result["splits"]
    table = Table("questions", "half", "n", "R@1", "R@5", "R@10", "MRR@10", "art@1", "art@3",
                  title="Retrieval (top 10)")  # fmt: skip
    keys = ("recall@1", "recall@5", "recall@10", "mrr@10", "article@1", "article@3")
    for half in HALVES:
        r = splits[half]["retrieval"]
        for name, m in [("catalogue", r["catalogue"]), ("regulations", r["regulations"])]:
            table.add_row(name, half, str(m.get("n", "")), *[_fmt(m.get(k)) for k in keys])
    console.print(table)
    if "answers" not in splits["all"]:
        return
    table = Table("metric", *HALVES, title="Answers (/api/ask; follow-ups as conversations)")
    rows = [
        ("in-scope turns", "in_scope"),
        ("citing a gold source", "cites_gold"),
        ("answered (grounded)", "answered"),
        ("follow-up turns citing gold", "follow_ups_cite_gold"),
        ("out-of-scope questions", "out_of_scope"),
        ("out-of-scope refused", "refusal_rate"),
        ("expected facts in the answer", "expected_facts"),
        ("invented codes/amounts/dates", "invented"),
    ]
    for label, key in rows:
        table.add_row(label, *[_fmt(splits[h]["answers"].get(key)) for h in HALVES])
    console.print(table)
    table = Table("type", *[f"{h} gold/answered" for h in HALVES], title="Answers per type")
    types = sorted(splits["all"]["answers"]["per_type"])
    for t in types:
        cells = []
        for h in HALVES:
            m = splits[h]["answers"]["per_type"].get(t)
            if not m:
                cells.append("")
            elif m["in_scope"]:
                cells.append(f"{_fmt(m['cites_gold'])} / {_fmt(m['answered'])} ({m['in_scope']})")
            else:
                cells.append(f"refused {_fmt(m['refusal_rate'])} ({m['out_of_scope']})")
        table.add_row(t, *cells)
    console.print(table)
