"""Calibrate the grounding decision on the TUNING half, and show it on both halves.

    python bench/calibrate_decision.py [--data-dir DIR] [--write]

Asks every question of data/questions-dev.jsonl and data/questions-dev2.jsonl through the
real AssistantService (follow-ups as conversations) and records, for each turn that
reached the calibrated model (assistant/ask/decision.py), its features and whether it is
in scope. Fits a logistic regression (features standardised, light L2) on the tuning half
only, prints the weights, the trade-off curve (threshold -> in-scope answered / out-of-scope
refused) on the tuning half and, at the chosen threshold, both halves. With --write the
weights and threshold go into index_config/default.yaml (`ask.decision`).

The threshold is chosen on leave-one-out probabilities of the tuning half: the one whose
worse margin to the targets (in-scope answered 0.92, out-of-scope refused 0.88) is largest,
ties to the higher share answered. Questions refused before the model (years, codes, named supports,
injection, small talk) are reported apart: the model never sees them.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

import numpy as np
import yaml

from assistant.ask.decision import FEATURES, features
from assistant.ask.pipeline import Plan
from assistant.evaluation.questions import Question, load_questions
from assistant.service import AssistantService
from index_config.settings import DECISION_YAML, PROJECT_DIR, Settings
from ingest.job import IngestJob

FILES = [
    PROJECT_DIR / "data" / "questions-dev.jsonl",
    PROJECT_DIR / "data" / "questions-dev2.jsonl",
]
MODEL_REASONS = {None, "no_evidence"}
# The targets of the issue "Answers that hold on questions nobody tuned for": the chosen
# threshold is the one that stays furthest above the lower of the two.
TARGET_ANSWERED = 0.92
TARGET_REFUSED = 0.88


def collect(service: AssistantService, questions: list[Question]) -> list[dict[str, Any]]:
    plans: list[Plan] = []
    original = service.pipeline.plan

    def capture(*args: Any, **kwargs: Any) -> Plan:
        plan = original(*args, **kwargs)
        plans.append(plan)
        return plan

    service.pipeline.plan = capture  # type: ignore[method-assign]
    rows = []
    for q in questions:
        conversation = None
        turns = q.turns or [{"question": q.question}]
        for index, turn in enumerate(turns):
            answer = service.ask(turn["question"], conversation, q.filters if index == 0 else {})
            conversation = answer.conversation_id
            plan = plans[-1]
            decision = plan.decision
            row: dict[str, Any] = {
                "id": f"{q.id}#{index + 1}",
                "split": q.split,
                "in_scope": q.in_scope,
                "answered": answer.grounded,
                "reason": decision.reason if decision else None,
                "modelled": decision is not None and decision.reason in MODEL_REASONS,
            }
            if row["modelled"] and decision is not None:
                row["x"] = features(plan.analysis, decision.evidence)
            rows.append(row)
    service.pipeline.plan = original  # type: ignore[method-assign]
    return rows


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1.0) -> tuple[np.ndarray, float]:
    """Logistic regression by Newton's method on standardised features; returns raw
    (unstandardised) weights and bias."""
    mean, sd = x.mean(axis=0), x.std(axis=0)
    sd[sd == 0] = 1.0
    z = np.c_[np.ones(len(x)), (x - mean) / sd]
    w = np.zeros(z.shape[1])
    penalty = l2 * np.eye(len(w))
    penalty[0, 0] = 0.0
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-z @ w))
        grad = z.T @ (p - y) + penalty @ w
        hess = z.T @ (z * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    raw = w[1:] / sd
    bias = w[0] - float((w[1:] * mean / sd).sum())
    return raw, float(bias)


def rates(rows: list[dict[str, Any]], p: dict[str, float], threshold: float) -> tuple[float, float]:
    """(in-scope answered, out-of-scope refused) if the model used this threshold."""
    inside = [r for r in rows if r["in_scope"]]
    outside = [r for r in rows if not r["in_scope"]]

    def answered(r: dict[str, Any]) -> bool:
        return p[r["id"]] >= threshold if r["modelled"] else bool(r["answered"])

    a = sum(answered(r) for r in inside) / max(len(inside), 1)
    b = sum(not answered(r) for r in outside) / max(len(outside), 1)
    return a, b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--write", action="store_true", help="store the fit in default.yaml")
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="concerta-calibrate-"))
    settings = Settings(data_dir=data_dir)
    if not (data_dir / "qdrant" / "CURRENT").exists():
        IngestJob(settings).run(settings.resolved_sources())
    service = AssistantService(settings)
    service.warm_up()
    try:
        rows = collect(service, load_questions(*FILES))
    finally:
        service.close()
    tune = [r for r in rows if r["split"] == "tune" and r["modelled"]]
    x = np.array([[r["x"][f] for f in FEATURES] for r in tune])
    y = np.array([float(r["in_scope"]) for r in tune])
    weights, bias = fit(x, y)

    def predict(w: np.ndarray, b: float, r: dict[str, Any]) -> float:
        return float(1 / (1 + np.exp(-(b + np.dot(w, [r["x"][f] for f in FEATURES])))))

    # The threshold is chosen on out-of-fold probabilities (leave one out): a threshold
    # picked on the probabilities the model was fitted to would flatter it.
    p = {}
    for i, r in enumerate(tune):
        keep = np.arange(len(tune)) != i
        w_i, b_i = fit(x[keep], y[keep])
        p[r["id"]] = predict(w_i, b_i, r)
    for r in rows:
        if r["modelled"] and r["split"] != "tune":
            p[r["id"]] = predict(weights, bias, r)
    tune_all = [r for r in rows if r["split"] == "tune"]
    check_all = [r for r in rows if r["split"] == "check"]
    print(f"fitted on {len(tune)} tuning turns ({int(y.sum())} in scope)\n")
    print("| feature | weight |\n|---|---:|")
    print(f"| bias | {bias:.3f} |")
    for name, value in zip(FEATURES, weights, strict=True):
        print(f"| {name} | {value:.3f} |")
    print("\nTrade-off on the tuning half (all turns; refusals before the model count as such):\n")
    print("| threshold | in-scope answered | out-of-scope refused |\n|---:|---:|---:|")
    best = (-9.0, 0.0, 0.5)
    for threshold in np.round(np.arange(0.05, 0.96, 0.025), 3):
        a, b = rates(tune_all, p, float(threshold))
        print(f"| {threshold:.3f} | {a:.3f} | {b:.3f} |")
        margin = min(a - TARGET_ANSWERED, b - TARGET_REFUSED)
        if (margin, a) > (best[0], best[1]):
            best = (margin, a, float(threshold))
    threshold = best[2]
    print(f"\nChosen threshold {threshold:.2f}:\n")
    print("| half | in-scope answered | out-of-scope refused |\n|---|---:|---:|")
    for name, subset in (("tune", tune_all), ("check", check_all), ("all", rows)):
        a, b = rates(subset, p, threshold)
        print(f"| {name} | {a:.3f} | {b:.3f} |")
    before = [r for r in rows if not r["modelled"]]
    print(f"\nRefused before the model: {sum(not r['answered'] for r in before)} turns by reason:")
    reasons: dict[str, int] = {}
    for r in before:
        if not r["answered"]:
            reasons[str(r["reason"])] = reasons.get(str(r["reason"]), 0) + 1
    for reason, count in sorted(reasons.items()):
        print(f"- {reason}: {count}")
    if args.write:
        values = {
            "bias": round(bias, 4),
            "weights": {
                name: round(float(v), 4) for name, v in zip(FEATURES, weights, strict=True)
            },
            "threshold": round(threshold, 3),
        }
        header = (
            "# The grounding decision's calibrated weights (assistant/ask/decision.py), written\n"
            "# by `python bench/calibrate_decision.py --write` from the TUNING half of\n"
            "# data/questions-dev*.jsonl. Edit by recalibrating, not by hand.\n"
        )
        body = yaml.safe_dump({"ask": {"decision": values}}, sort_keys=False)
        DECISION_YAML.write_text(header + body, encoding="utf-8")
        print(f"\nwritten to {DECISION_YAML}")


if __name__ == "__main__":
    main()
