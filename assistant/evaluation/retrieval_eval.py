"""Retrieval quality on a question set.

Catalogue questions (gold_codis): recall@1/5/10 and MRR@10 over the resources returned.
recall@k = |gold ∩ top-k| / min(|gold|, k), so recall@1 is "the first result is gold".
Regulation questions (gold_articles): article@1/3 = a gold (document, article) or FAQ
entry is among the first k results (resources count for positions).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from assistant.evaluation.questions import Question, load_questions
from assistant.models import Filters, Hit
from index_config.analyzer import fold

__all__ = ["Question", "SearchFn", "evaluate_retrieval", "load_questions", "summarise_retrieval"]

SearchFn = Callable[[str, Filters, int], list[Hit]]
CATALOGUE_METRICS = ("recall@1", "recall@5", "recall@10", "mrr@10")
ARTICLE_METRICS = ("article@1", "article@3", "article@10")


def article_key(doc: str, article: str) -> tuple[str, str]:
    return fold(doc.removeprefix("doc:")), fold(article).rstrip("?. ").strip()


def hit_article_key(hit: Hit) -> tuple[str, str] | None:
    if hit.kind == "recurs" or not hit.article:
        return None
    return article_key(hit.doc_id, hit.article)


def _recall(gold: set[str], ranked: list[str], k: int) -> float:
    return len(gold & set(ranked[:k])) / min(len(gold), k)


def _rr(gold: set[str], ranked: list[str], k: int = 10) -> float:
    for rank, codi in enumerate(ranked[:k], start=1):
        if codi in gold:
            return 1.0 / rank
    return 0.0


def score_question(q: Question, hits: list[Hit]) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": q.id, "type": q.type, "split": q.split}
    if q.gold_codis:
        gold = set(q.gold_codis)
        ranked = [h.codi for h in hits if h.kind == "recurs" and h.codi]
        entry.update(
            {
                "recall@1": _recall(gold, ranked, 1),
                "recall@5": _recall(gold, ranked, 5),
                "recall@10": _recall(gold, ranked, 10),
                "mrr@10": _rr(gold, ranked),
                "ranked": ranked[:5],
            }
        )
    if q.gold_articles:
        gold_a = {article_key(g["doc"], g["article"]) for g in q.gold_articles}
        keys = [hit_article_key(h) for h in hits]
        positions = [i for i, k in enumerate(keys) if k is not None and k in gold_a]
        first = positions[0] + 1 if positions else None
        entry.update(
            {
                "article@1": float(first is not None and first <= 1),
                "article@3": float(first is not None and first <= 3),
                "article@10": float(first is not None),
                "ranked_articles": [" / ".join(k) for k in keys if k is not None][:3],
            }
        )
    return entry


def summarise_retrieval(details: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Means overall and per question type, from score_question entries."""
    rows = list(details)

    def mean(subset: list[dict[str, Any]], names: tuple[str, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in names:
            values = [r[name] for r in subset if name in r]
            if values:
                out[name] = round(sum(values) / len(values), 4)
        out["n"] = max((sum(1 for r in subset if n in r) for n in names), default=0)
        return out

    per_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        per_type[row["type"]].append(row)
    return {
        "catalogue": mean(rows, CATALOGUE_METRICS),
        "regulations": mean(rows, ARTICLE_METRICS),
        "per_type": {
            t: mean(v, CATALOGUE_METRICS + ARTICLE_METRICS) for t, v in sorted(per_type.items())
        },
    }


def evaluate_retrieval(questions: list[Question], search: SearchFn) -> dict[str, Any]:
    """Metrics overall and per question type, plus per-question details."""
    details = [
        score_question(q, search(q.question, Filters.parse(q.filters), 10))
        for q in questions
        if q.gold_codis or q.gold_articles
    ]
    return {**summarise_retrieval(details), "questions": details}
