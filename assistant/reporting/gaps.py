"""GapFinder: groups the questions the catalogue did not answer into needs ("gaps").

Questions are embedded with the assistant's own dense query model and grouped by
average-linkage agglomerative clustering on cosine distance: two groups merge while
their questions are, on average, closer than `max_distance`. The rule is one number a
manager can reason about ("these phrasings are closer than that"), needs no count of
groups chosen in advance and, given the same questions, always gives the same groups.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import pdist, squareform

Embed = Callable[[str], Sequence[float]]


@dataclass
class QuestionGroup:
    """Questions that ask for the same thing, the most central first."""

    questions: list[str]  # distinct texts, the most central first
    count: int  # questions asked, repeats included

    @property
    def central(self) -> str:
        return self.questions[0]


def _key(question: str) -> str:
    return " ".join(question.split()).casefold()


class GapFinder:
    def __init__(self, embed: Embed, max_distance: float) -> None:
        self.embed = embed
        self.max_distance = max_distance

    def group(self, questions: Sequence[str]) -> list[QuestionGroup]:
        """Groups of the given questions, the largest first (ties: first asked first)."""
        counts: Counter[str] = Counter()
        texts: dict[str, str] = {}
        for question in questions:
            key = _key(question)
            if key:
                counts[key] += 1
                texts.setdefault(key, " ".join(question.split()))
        keys = list(texts)  # first asked first
        if not keys:
            return []
        if len(keys) == 1:
            return [QuestionGroup([texts[keys[0]]], counts[keys[0]])]
        vectors = np.array([self.embed(texts[k]) for k in keys], dtype=np.float64)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)
        condensed = pdist(vectors, metric="cosine").clip(min=0.0)
        labels = fcluster(
            linkage(condensed, method="average"), t=self.max_distance, criterion="distance"
        )
        distances = squareform(condensed)
        groups = []
        for cluster in dict.fromkeys(labels):  # clusters in order of their first question
            members = [i for i, label in enumerate(labels) if label == cluster]
            # The most central question is the one closest, on average, to the others.
            spread = distances[np.ix_(members, members)].sum(axis=1)
            ordered = [members[j] for j in np.argsort(spread, kind="stable")]
            groups.append(
                QuestionGroup(
                    [texts[keys[i]] for i in ordered], sum(counts[keys[i]] for i in members)
                )
            )
        groups.sort(key=lambda g: -g.count)  # stable: ties keep the first-asked order
        return groups
