"""Question sets (format of shared/questions-dev*.jsonl) and their fixed tuning/check split.

Every weight, threshold and decision is tuned on the tuning half only; the check half
shows how much of the tuning was overfitting. The split is a hash of the question id, so
it never changes when files are added or reordered.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Split = Literal["tune", "check"]


def split_of(question_id: str) -> Split:
    """ "tune" or "check", half and half, fixed by the id."""
    return "tune" if hashlib.sha256(question_id.encode()).digest()[0] % 2 == 0 else "check"


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

    @property
    def split(self) -> Split:
        return split_of(self.id)

    @property
    def in_scope(self) -> bool:
        return self.type != "fora"


def load_questions(*paths: Path) -> list[Question]:
    questions = []
    for path in paths:
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


def select(questions: list[Question], split: str) -> list[Question]:
    """All questions ("all"), or one half ("tune", "check")."""
    if split == "all":
        return list(questions)
    return [q for q in questions if q.split == split]
