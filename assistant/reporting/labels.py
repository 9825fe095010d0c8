"""GapLabeller: names a group of questions by its most distinctive Catalan words.

A word names a group when many of the group's questions use it and few of the period's
other questions do (TF-IDF: share of the group's questions containing it, times its
inverse document frequency over every question of the period). Words of how people ask
("volem", "ens poden ajudar": index_config/query_fillers.txt) and stopwords never name a
group. Singular and plural count as one word; the label shows the form people typed most.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache

from index_config.analyzer import DATA_DIR, CatalanAnalyzer, fold, light_stem

_WORD = re.compile(r"[0-9a-zà-ÿ·ŀ]+")
MIN_WORD_CHARS = 3
# Words of asking for support that query_fillers.txt lacks: they say that help is asked
# for, not for what, so they neither name a gap nor take part in grouping questions.
SUPPORT_WORDS = (
    "ajut", "ajuts", "subvenció", "subvencions", "finançament", "diners", "podeu", "cap",
)  # fmt: skip


@lru_cache(maxsize=1)
def asking_words() -> frozenset[str]:
    """The words of how people ask, folded (the same list the grounding check ignores)."""
    text = (DATA_DIR / "query_fillers.txt").read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if not ln.startswith("#")]
    return frozenset(fold(w) for ln in lines for w in ln.split())


class GapLabeller:
    def __init__(self, analyzer: CatalanAnalyzer, skip: Iterable[str] | None = None) -> None:
        self.analyzer = analyzer
        words = asking_words() if skip is None else frozenset(skip)
        self.skip = words | {fold(w) for w in SUPPORT_WORDS}

    def topic_text(self, question: str) -> str:
        """The question without the words of how it is asked, as typed otherwise:
        "Hi ha algun ajut per contractar socorristes?" -> "contractar socorristes".
        The dense model then compares needs rather than phrasings (which dominate the
        similarity of short questions)."""
        text = unicodedata.normalize("NFC", question).lower()
        kept = [w for w in _WORD.findall(text) if self._informative(w)]
        return " ".join(kept) or question.strip()

    def _informative(self, raw: str) -> bool:
        tokens = self.analyzer.tokens(raw)  # empty for stopwords and single letters
        return bool(tokens) and all(t not in self.skip for t in tokens)

    def words(self, question: str) -> set[str]:
        """The informative words of a question, as singular/plural-folded keys."""
        return {
            light_stem(token)
            for token in self.analyzer.tokens(question)
            if token not in self.skip and not token.isdigit() and len(token) >= MIN_WORD_CHARS
        }

    def label(self, group: Sequence[str], period_questions: Sequence[str], terms: int = 3) -> str:
        """Up to `terms` words, most distinctive first, joined by " · "."""
        return " · ".join(self.top_words(group, period_questions, terms))

    def top_words(
        self, group: Sequence[str], period_questions: Sequence[str], terms: int = 3
    ) -> list[str]:
        df: Counter[str] = Counter()
        for question in period_questions:
            df.update(self.words(question))
        n = max(len(period_questions), len(group))
        in_group: Counter[str] = Counter()
        for question in group:
            in_group.update(self.words(question))

        def score(key: str) -> float:
            # Smoothed IDF: a word of every question still scores above zero.
            idf = math.log((1 + n) / (1 + df.get(key, 0))) + 1
            return in_group[key] / len(group) * idf

        best = sorted(in_group, key=lambda key: (-score(key), key))[:terms]
        surface = self._surface_forms(group)
        return [surface.get(key, key) for key in best]

    def _surface_forms(self, group: Sequence[str]) -> dict[str, str]:
        """For each word key, the spelling typed most often (accents kept, lowercase)."""
        seen: dict[str, Counter[str]] = {}
        for question in group:
            text = unicodedata.normalize("NFC", question).lower()
            for raw in _WORD.findall(text):
                key = light_stem(fold(raw))
                seen.setdefault(key, Counter())[raw.replace("ŀ", "l·")] += 1
        return {key: forms.most_common(1)[0][0] for key, forms in seen.items()}
