"""Calibrate the staff page's relevance cut-off (assistant/web/static/staff.js, RELEVANCE).

    python bench/calibrate_staff_cutoff.py [--data-dir DIR]

The staff page asks /api/search for 20 results and shows only those that are relevant:
none when no result shares a word with the query (every `metadata.sparse_score` is 0:
"xyzzy qwerty"), otherwise those whose fused score is at least a share of the best one.
This script measures, for every share in a sweep, on the TUNING half of the development
questions (data/questions-dev*.jsonl, gold resources and articles) and then on the check
half: how many gold results the cut keeps (recall of the gold found in the 20) and how
many non-gold results it drops (what a person no longer has to read past). It also runs
a few nonsense queries, which must show nothing.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

from assistant.evaluation.questions import Question, load_questions
from assistant.evaluation.retrieval_eval import article_key, hit_article_key
from assistant.models import Hit
from assistant.service import AssistantService
from index_config import Settings

ROOT = Path(__file__).resolve().parents[1]
SHARES = (0.0, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6)
NONSENSE = ("xyzzy qwerty", "asdf ghjkl", "lorem ipsum dolor", "zzz qqq www")
TOP_K = 20


def is_gold(q: Question, hit: Hit) -> bool:
    if hit.codi and hit.codi in q.gold_codis:
        return True
    key = hit_article_key(hit)
    gold = {article_key(g["doc"], g["article"]) for g in q.gold_articles}
    return key is not None and key in gold


def kept(hits: list[Hit], share: float) -> list[Hit]:
    """The page's rule: nothing without a shared word; else score >= share x best."""
    if not hits or not any(float(h.metadata.get("sparse_score") or 0) > 0 for h in hits):
        return []
    best = hits[0].score
    return [h for h in hits if h.score >= share * best]


def sweep(service: AssistantService, questions: list[Question], label: str) -> None:
    runs = [(q, service.search(q.question, TOP_K, q.filters)) for q in questions]
    print(f"\n{label}: {len(runs)} questions with gold results")
    print("share | gold kept | non-gold dropped | mean shown")
    for share in SHARES:
        gold_found = gold_kept = other = other_dropped = shown = 0
        for q, hits in runs:
            keep = {h.id for h in kept(hits, share)}
            shown += len(keep)
            for hit in hits:
                if is_gold(q, hit):
                    gold_found += 1
                    gold_kept += hit.id in keep
                else:
                    other += 1
                    other_dropped += hit.id not in keep
        print(
            f"{share:5.2f} | {gold_kept / max(gold_found, 1):9.3f} | "
            f"{other_dropped / max(other, 1):16.3f} | {shown / max(len(runs), 1):10.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    settings = Settings(data_dir=args.data_dir) if args.data_dir else Settings()
    service = AssistantService(settings)
    service.warm_up()
    try:
        questions = [
            q
            for q in load_questions(
                ROOT / "data/questions-dev.jsonl", ROOT / "data/questions-dev2.jsonl"
            )
            if q.gold_codis or q.gold_articles
        ]
        sweep(service, [q for q in questions if q.split == "tune"], "tuning half")
        sweep(service, [q for q in questions if q.split == "check"], "check half")
        print("\nnonsense queries (must show nothing):")
        for query in NONSENSE:
            hits = service.search(query, TOP_K)
            print(f"  {query!r}: {len(kept(hits, 0.0))} shown")
    finally:
        service.close()


if __name__ == "__main__":
    main()
