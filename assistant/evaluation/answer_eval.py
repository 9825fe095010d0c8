"""Answer quality: does /api/ask cite the gold resource or article, answer what is in
scope, refuse what is not, follow conversations, carry the expected facts, and never
state a code, amount or date found neither in its sources nor in the question?"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from assistant.evaluation.questions import Question
from assistant.evaluation.retrieval_eval import article_key, hit_article_key
from assistant.llm.check import check_answer
from assistant.llm.facts import extract_facts
from assistant.models import Answer
from index_config.analyzer import fold

AskFn = Callable[[str, str | None, dict[str, Any]], Answer]


def _turns(q: Question) -> list[dict[str, Any]]:
    if q.turns:
        return q.turns
    return [{"question": q.question, "gold_codis": q.gold_codis, "gold_articles": q.gold_articles,
             "expected_facts": q.expected_facts}]  # fmt: skip


def _cites_gold(answer: Answer, turn: dict[str, Any]) -> bool:
    codis = {h.codi for h in answer.sources if h.codi}
    articles = {hit_article_key(h) for h in answer.sources}
    gold_articles = {article_key(g["doc"], g["article"]) for g in turn.get("gold_articles", [])}
    return bool(codis & set(turn.get("gold_codis", []))) or bool(articles & gold_articles)


def _norm(text: str) -> str:
    return fold(text).replace("\u00a0", " ").replace(" %", "%")


_INVENTION_KINDS = ("catalogue code", "amount", "number", "date", "form code")


def invented_facts(answer: Answer, question: str) -> list[str]:
    """Codes, amounts and dates of the answer in no cited source (the user's own excepted)."""
    asked = extract_facts(question)
    own = {f.shown for f in asked} | {f.key for f in asked}
    return [
        problem
        for problem in check_answer(answer.answer, answer.sources)
        if problem.startswith(_INVENTION_KINDS)
        and ("not in any source" in problem or "only in sources" in problem)
        and not any(f"'{k}'" in problem for k in own)
    ]


def score_conversation(q: Question, ask: AskFn) -> list[dict[str, Any]]:
    rows = []
    conversation: str | None = None
    for index, turn in enumerate(_turns(q)):
        answer = ask(turn["question"], conversation, q.filters if index == 0 else {})
        conversation = answer.conversation_id
        row: dict[str, Any] = {
            "id": f"{q.id}#{index + 1}",
            "type": q.type,
            "split": q.split,
            "in_scope": q.in_scope,
            "follow_up": index > 0,
            "answered": answer.grounded,
            "invented": invented_facts(answer, turn["question"]),
            "sources": [h.codi or h.article for h in answer.sources][:4],
        }
        if q.in_scope:
            row["cites_gold"] = answer.grounded and _cites_gold(answer, turn)
            row["facts"] = {
                fact: _norm(fact) in _norm(answer.answer) for fact in turn.get("expected_facts", [])
            }
        rows.append(row)
    return rows


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def summarise_answers(details: Iterable[dict[str, Any]]) -> dict[str, Any]:
    rows = list(details)

    def metrics(subset: list[dict[str, Any]]) -> dict[str, Any]:
        inside = [r for r in subset if r["in_scope"]]
        outside = [r for r in subset if not r["in_scope"]]
        follow = [r for r in inside if r["follow_up"]]
        facts = [ok for r in inside for ok in r["facts"].values()]
        return {
            "in_scope": len(inside),
            "cites_gold": _rate(sum(r["cites_gold"] for r in inside), len(inside)),
            "answered": _rate(sum(r["answered"] for r in inside), len(inside)),
            "refused_in_scope": sum(not r["answered"] for r in inside),
            "out_of_scope": len(outside),
            "refusal_rate": _rate(sum(not r["answered"] for r in outside), len(outside)),
            "follow_ups": len(follow),
            "follow_ups_cite_gold": _rate(sum(r["cites_gold"] for r in follow), len(follow)),
            "expected_facts": _rate(sum(facts), len(facts)),
            "facts_total": len(facts),
            "invented": sum(len(r["invented"]) for r in subset),
        }

    per_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        per_type[row["type"]].append(row)
    return {
        **metrics(rows),
        "per_type": {t: metrics(v) for t, v in sorted(per_type.items())},
    }


def evaluate_answers(questions: list[Question], ask: AskFn) -> dict[str, Any]:
    details = [row for q in questions for row in score_conversation(q, ask)]
    return {**summarise_answers(details), "answers": details}
