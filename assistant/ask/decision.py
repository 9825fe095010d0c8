"""decide(): answer or refuse, with the reason and the evidence. Pure: no I/O, no wording.

Refusals with a cause that needs no statistics come first (an attempt to change the
instructions, words only for the assistant, years or codes the indexed documents do not
have, a named support that no resource is about, and a question none of whose words the
best sources have). Everything else goes through one
calibrated model: a logistic regression over the evidence signals, fitted on the tuning
half of the public questions (bench/calibrate_decision.py prints its trade-off curve). Its
weights and threshold are named settings in index_config (decision:), so a deployment can
recalibrate on its own labelled questions without touching code.

Eligibility sets aside the resources the asker cannot get (a town too large for a band).
When those were the question's best matches, the same decision is taken again with them:
a question answerable only for other bodies is refused as "ineligible", naming them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

from assistant.ask.analysis import QueryAnalysis
from assistant.ask.evidence import Evidence
from index_config.settings import DecisionWeights

RefusalReason = Literal[
    "injection",
    "small_talk",
    "out_of_period",
    "unknown_code",
    "false_premise",
    "other_administration",
    "ineligible",
    "no_evidence",
]


# The signals the calibrated model uses, chosen by leave-one-out on the tuning half among
# the grounding signals `features()` offers (bench/calibrate_decision.py fits their
# weights): how much of what the question asks, among the words the index knows, the best
# source covers; the share of its weight in words no document has; the raw sparse score
# (rare question words found together); a citizen's first-person wording.
FEATURES = ("known_coverage", "unknown_share", "log_sparse", "personal")


def features(analysis: QueryAnalysis, evidence: Evidence) -> dict[str, float]:
    """The calibrated model's inputs, by the names of DecisionWeights' fields (and a few
    more signals that bench/calibrate_decision.py can try)."""
    return {
        "known_coverage": evidence.known_coverage,
        "topic_coverage": evidence.topic_coverage,
        "dense_top": evidence.dense_top,
        "agreement": float(evidence.agreement),
        "informative": float(min(evidence.informative, 15)),
        "coverage": evidence.coverage,
        "unknown_share": evidence.unknown_share,
        "dense_gap": evidence.dense_gap,
        "log_sparse": evidence.log_sparse,
        "foreign_unmatched": float(evidence.foreign_unmatched),
        "personal": float(analysis.personal),
    }


def probability(model: DecisionWeights, values: dict[str, float]) -> float:
    """P(answerable) under the logistic model."""
    z = model.bias + sum(weight * values[name] for name, weight in model.weights.items())
    return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))


@dataclass(frozen=True)
class Decision:
    answer: bool
    reason: RefusalReason | None
    probability: float
    evidence: Evidence
    # What the refusal names: the years, the codes, the purpose of a named support.
    detail: tuple[str, ...] = ()
    # The question's best matches are resources the asker cannot get (population band,
    # recipients), and with them it would have been answered: the answer names them.
    set_aside: bool = False


def decide(
    analysis: QueryAnalysis,
    evidence: Evidence,
    weights: DecisionWeights,
    calibrated: bool = True,
    set_aside: Evidence | None = None,
) -> Decision:
    """`calibrated=False` applies only the refusals with a named cause: for a follow-up
    whose own words an article already covers, the model (fitted on whole questions)
    would judge a three-word turn by the wrong standard. `set_aside`: the evidence as if
    eligibility had kept everyone, when the question's best matches are resources the
    asker cannot get. The same decision judges it: when the question is answerable only
    with them, the refusal says so ("ineligible") rather than that nothing covers it."""
    plain = _decide(analysis, evidence, weights, calibrated)
    if set_aside is None:
        return plain
    wider = _decide(analysis, set_aside, weights, calibrated)
    if not wider.answer:
        return plain
    if plain.answer:
        return replace(plain, set_aside=True)
    if plain.reason in ("no_evidence", "false_premise"):
        return Decision(False, "ineligible", plain.probability, set_aside, set_aside=True)
    return plain


def _decide(
    analysis: QueryAnalysis,
    evidence: Evidence,
    weights: DecisionWeights,
    calibrated: bool,
) -> Decision:

    def refuse(reason: RefusalReason, p: float = 0.0, *detail: str) -> Decision:
        return Decision(False, reason, p, evidence, tuple(detail))

    if analysis.injection:
        return refuse("injection")
    if analysis.greeting_only or (analysis.assistant_directed and evidence.coverage < 0.5):
        return refuse("small_talk")
    if evidence.candidates == 0:
        return refuse("no_evidence")
    if evidence.unknown_years:
        return refuse("out_of_period", 0.0, *(str(y) for y in evidence.unknown_years))
    if evidence.unknown_codes:
        return refuse("unknown_code", 0.0, *evidence.unknown_codes)
    if evidence.named_support_found is False and analysis.named_support:
        return refuse("false_premise", 0.0, *analysis.named_support)
    if evidence.foreign_unmatched:
        return refuse("other_administration")
    if not calibrated:
        return Decision(True, None, 1.0, evidence)
    # None of the words the question asks about is in any of the best sources, not even
    # as a synonym or a near spelling: whatever ranked them (a near spelling of an unseen
    # word found elsewhere, the dense side's crowd) no answer could be grounded in them.
    # The model never saw such a turn answered (every in-scope turn of both files covers
    # at least a tenth), so it is not left to extrapolate.
    if evidence.informative and evidence.coverage <= 0.0:
        return refuse("no_evidence")
    p = probability(weights, features(analysis, evidence))
    if p < weights.threshold:
        return refuse("no_evidence", p)
    return Decision(True, None, p, evidence)
