"""Refusal threshold trade-off on the dev set: for each `min_coverage`, the share of
in-scope turns answered with a gold source and the share of out-of-scope questions refused.

    python bench/calibrate_refusal.py [--data-dir DIR] [--questions FILE]

Builds (or reuses) an index of the sample corpus in DIR; prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

from assistant.evaluation.answer_eval import evaluate_answers
from assistant.evaluation.retrieval_eval import load_questions
from assistant.service import AssistantService
from index_config.settings import PROJECT_DIR, Settings
from ingest.job import IngestJob

THRESHOLDS = (0.0, 0.25, 0.3, 0.35, 0.375, 0.4, 0.45, 0.5, 0.6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument(
        "--questions", type=Path, default=PROJECT_DIR / "data" / "questions-dev.jsonl"
    )
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="concerta-calibrate-"))
    settings = Settings(data_dir=data_dir)
    IngestJob(settings).run(settings.resolved_sources())
    questions = load_questions(args.questions)
    service = AssistantService(settings)
    service.warm_up()
    print("| min_coverage | in-scope turns citing gold | in-scope refused | out-of-scope refused |")
    print("|---|---|---|---|")
    try:
        for threshold in THRESHOLDS:
            service.settings = settings.model_copy(update={"min_coverage": threshold})
            result = evaluate_answers(questions, lambda q, c, f: service.ask(q, c, f))
            mark = " (configured)" if threshold == settings.min_coverage else ""
            print(
                f"| {threshold}{mark} | {result['cites_gold']:.3f} | "
                f"{result['refused_in_scope']} of {result['in_scope']} | "
                f"{result['refusal_rate']:.2f} ({round(result['refusal_rate'] * result['out_of_scope'])}"
                f" of {result['out_of_scope']}) |"
            )
    finally:
        service.close()


if __name__ == "__main__":
    main()
