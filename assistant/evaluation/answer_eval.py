"""Answer quality: does /api/ask cite the gold resource or article, refuse out-of-scope
questions, follow conversations, and carry the expected facts?"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from assistant.evaluation.retrieval_eval import Question, article_key, hit_article_key
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


def evaluate_answers(questions: list[Question], ask: AskFn) -> dict[str, Any]:
    in_scope = cited = refused_in_scope = 0
    out_scope = refused = 0
    facts_total = facts_found = 0
    follow_total = follow_ok = 0
    details = []
    for q in questions:
        conversation: str | None = None
        for index, turn in enumerate(_turns(q)):
            answer = ask(turn["question"], conversation, q.filters if index == 0 else {})
            conversation = answer.conversation_id
            row: dict[str, Any] = {
                "id": f"{q.id}#{index + 1}",
                "type": q.type,
                "grounded": answer.grounded,
            }
            if q.type == "fora":
                out_scope += 1
                refused += not answer.grounded
            else:
                in_scope += 1
                ok = answer.grounded and _cites_gold(answer, turn)
                cited += ok
                refused_in_scope += not answer.grounded
                row["cites_gold"] = ok
                if index > 0:
                    follow_total += 1
                    follow_ok += ok
                for fact in turn.get("expected_facts", []):
                    facts_total += 1
                    found = _norm(fact) in _norm(answer.answer)
                    facts_found += found
                    row.setdefault("facts", {})[fact] = found
            row["sources"] = [h.codi or h.article for h in answer.sources][:4]
            details.append(row)
    return {
        "in_scope": in_scope,
        "cites_gold": round(cited / in_scope, 4) if in_scope else None,
        "refused_in_scope": refused_in_scope,
        "out_of_scope": out_scope,
        "refusal_rate": round(refused / out_scope, 4) if out_scope else None,
        "follow_ups": follow_total,
        "follow_ups_cite_gold": round(follow_ok / follow_total, 4) if follow_total else None,
        "expected_facts": round(facts_found / facts_total, 4) if facts_total else None,
        "answers": details,
    }
