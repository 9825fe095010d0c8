"""Retrieval quality on a question file (format of shared/questions-dev.jsonl).

Catalogue questions (gold_codis): recall@1/5/10 and MRR@10 over the resources returned.
recall@k = |gold ∩ top-k| / min(|gold|, k), so recall@1 is "the first result is gold".
Regulation questions (gold_articles): article@1/3 = a gold (document, article) or FAQ
entry is among the first k results.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.models import Filters, Hit
from index_config.analyzer import fold

SearchFn = Callable[[str, Filters, int], list[Hit]]


@dataclass
class Question:
    id: str
    type: str
    question: str
    gold_codis: list[str]
    gold_articles: list[dict[str, str]]
    expected_facts: list[str]
    filters: dict[str, Any]
    turns: list[dict[str, Any]] = field(default_factory=list)


def load_questions(path: Path) -> list[Question]:
    questions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        raw = json.loads(line)
        questions.append(
            Question(
                id=raw["id"],
                type=raw.get("type", ""),
                question=raw["question"],
                gold_codis=[str(c) for c in raw.get("gold_codis", [])],
                gold_articles=raw.get("gold_articles", []),
                expected_facts=raw.get("expected_facts", []),
                filters=raw.get("filters") or {},
                turns=raw.get("turns") or [],
            )
        )
    return questions


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


def evaluate_retrieval(questions: list[Question], search: SearchFn) -> dict[str, Any]:
    """Metrics overall and per question type, plus per-question details."""
    per_type: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    overall: dict[str, dict[str, list[float]]] = {
        "recurs": defaultdict(list),
        "normativa": defaultdict(list),
    }
    details = []
    for q in questions:
        if not q.gold_codis and not q.gold_articles:
            continue
        hits = search(q.question, Filters.parse(q.filters), 10)
        entry: dict[str, Any] = {"id": q.id, "type": q.type}
        if q.gold_codis:
            gold = set(q.gold_codis)
            ranked = [h.codi for h in hits if h.kind == "recurs" and h.codi]
            scores = {
                "recall@1": _recall(gold, ranked, 1),
                "recall@5": _recall(gold, ranked, 5),
                "recall@10": _recall(gold, ranked, 10),
                "mrr@10": _rr(gold, ranked),
            }
            for name, value in scores.items():
                per_type[q.type][name].append(value)
                overall["recurs"][name].append(value)
            entry.update(scores, ranked=ranked[:5])
        if q.gold_articles:
            gold_a = {article_key(g["doc"], g["article"]) for g in q.gold_articles}
            keys = [hit_article_key(h) for h in hits]
            ranked_a = [k for k in keys if k is not None]
            # A result list counts by position among all results (resources included).
            positions = [i for i, k in enumerate(keys) if k is not None and k in gold_a]
            first = positions[0] + 1 if positions else None
            scores = {
                "article@1": 1.0 if first is not None and first <= 1 else 0.0,
                "article@3": 1.0 if first is not None and first <= 3 else 0.0,
                "article@10": 1.0 if first is not None else 0.0,
            }
            for name, value in scores.items():
                per_type[q.type][name].append(value)
                overall["normativa"][name].append(value)
            entry.update(scores, ranked_articles=[" / ".join(k) for k in ranked_a[:3]])
        details.append(entry)

    def mean(values: dict[str, list[float]]) -> dict[str, float]:
        return {k: round(sum(v) / len(v), 4) for k, v in values.items() if v}

    return {
        "catalogue": {**mean(overall["recurs"]), "n": len(overall["recurs"]["mrr@10"])},
        "regulations": {**mean(overall["normativa"]), "n": len(overall["normativa"]["article@1"])},
        "per_type": {
            t: {**mean(v), "n": max(len(x) for x in v.values())} for t, v in per_type.items()
        },
        "questions": details,
    }
