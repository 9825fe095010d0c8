"""The lexicon: how officials ask, as data (index_config/lexicon.yaml), compiled once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from index_config.analyzer import DATA_DIR, fold

_GROUP = re.compile(r"\(([^()]*)\)")


def _word_pattern(word: str) -> str:
    """One word of a phrase: a trailing * matches any ending; "(el|la|ho)" any of its
    alternatives (each may end in *), so that a pattern of Catalan grammar ("el pot
    demanar", "demanar-lo") is one entry rather than one per person and pronoun."""
    out, at = [], 0
    for group in _GROUP.finditer(word):
        out.append(_literal(word[at : group.start()]))
        out.append("(?:" + "|".join(_literal(w) for w in group.group(1).split("|")) + ")")
        at = group.end()
    out.append(_literal(word[at:]))
    return "".join(out)


def _literal(piece: str) -> str:
    return re.escape(piece.rstrip("*")) + (r"\w*" if piece.endswith("*") else "")


def _phrase_pattern(phrase: str) -> str:
    """A folded phrase as a whole-word pattern (words as _word_pattern reads them)."""
    body = r"\s+".join(_word_pattern(w) for w in fold(phrase).split())
    # An elided article may precede the phrase ("l'agència tributària").
    return rf"(?<![\w]){body}(?![\w])"


class PhraseSet:
    """Any of a list of phrases, found in folded text."""

    def __init__(self, phrases: list[str]) -> None:
        self.phrases = tuple(phrases)
        self._regex = re.compile("|".join(_phrase_pattern(p) for p in phrases)) if phrases else None

    def search(self, folded_text: str) -> re.Match[str] | None:
        return self._regex.search(folded_text) if self._regex else None

    def found(self, folded_text: str) -> bool:
        return self.search(folded_text) is not None

    def all(self, folded_text: str) -> list[str]:
        return [m.group(0) for m in self._regex.finditer(folded_text)] if self._regex else []

    def spans(self, folded_text: str) -> list[tuple[int, int]]:
        """Every match of every phrase (overlapping ones included)."""
        out = []
        for phrase in self.phrases:
            for m in re.finditer(_phrase_pattern(phrase), folded_text):
                out.append(m.span())
        return out


@dataclass(frozen=True)
class Facet:
    name: str
    ask: PhraseSet
    fields: tuple[str, ...]
    facts: tuple[str, ...]


@dataclass(frozen=True)
class Lexicon:
    facets: tuple[Facet, ...]
    recipients: dict[str, PhraseSet]
    open_now_when: PhraseSet
    open_now_with: PhraseSet
    tipologia: dict[str, PhraseSet]
    # Instrument -> (the words that name it, words of its regulation's title).
    instruments: dict[str, tuple[PhraseSet, str]]
    # The instrument whose resources the catalogue records are.
    resource_instrument: str | None
    follow_leading: frozenset[str]
    follow_pointing: PhraseSet
    follow_enclitics: tuple[str, ...]
    existential: PhraseSet
    max_short_words: int
    max_pointing_words: int
    # Folded kind as a question writes it -> the singular a reply names it by.
    support_kinds: dict[str, str]
    support_links: tuple[str, ...]
    other_administrations: PhraseSet
    personal: PhraseSet
    personal_enclitics: tuple[str, ...]
    assistant_directed: PhraseSet
    greetings: PhraseSet
    injection: PhraseSet
    duration: re.Pattern[str]
    roles: PhraseSet
    measures: PhraseSet
    costs: PhraseSet
    # Every word of the lexicon's phrases (folded; none ending in "*"): what a typo in a
    # question is read back to (spelling.py, `respell`).
    words: frozenset[str] = frozenset()

    def instruments_named(self, folded_text: str) -> tuple[str, ...]:
        """The instruments a (folded) text names, in the lexicon's order."""
        return tuple(
            name for name, (said, _) in self.instruments.items() if said.found(folded_text)
        )

    def facet(self, name: str) -> Facet | None:
        return next((f for f in self.facets if f.name == name), None)


def _tipologia_name(key: str) -> str:
    return {"economic": "econòmic", "material": "material", "tecnic": "tècnic"}.get(key, key)


def load_lexicon(path: Path | None = None) -> Lexicon:
    raw: dict[str, Any] = yaml.safe_load(
        (path or DATA_DIR / "lexicon.yaml").read_text(encoding="utf-8")
    )
    follow = raw["follow_up"]
    return Lexicon(
        facets=tuple(
            Facet(name, PhraseSet(spec["ask"]), tuple(spec["fields"]), tuple(spec["facts"]))
            for name, spec in raw["facets"].items()
        ),
        recipients={k: PhraseSet(v) for k, v in raw["recipients"].items()},
        open_now_when=PhraseSet(raw["open_now"]["when"]),
        open_now_with=PhraseSet(raw["open_now"]["with"]),
        tipologia={_tipologia_name(k): PhraseSet(v) for k, v in raw["tipologia"].items()},
        instruments={
            name: (PhraseSet(spec["named"]), fold(spec["regulation"]))
            for name, spec in raw["instruments"].items()
        },
        resource_instrument=next(
            (name for name, spec in raw["instruments"].items() if spec.get("resources")), None
        ),
        follow_leading=frozenset(fold(w) for w in follow["leading"]),
        follow_pointing=PhraseSet(follow["pointing"]),
        follow_enclitics=tuple(follow["enclitics"]),
        existential=PhraseSet(follow["existential"]),
        max_short_words=int(follow["max_short_words"]),
        max_pointing_words=int(follow["max_pointing_words"]),
        support_kinds={fold(k): v for k, v in raw["named_support"]["kinds"].items()},
        support_links=tuple(fold(k) for k in raw["named_support"]["links"]),
        other_administrations=PhraseSet(raw["other_administrations"]),
        personal=PhraseSet(raw["personal"]),
        personal_enclitics=tuple(raw.get("personal_enclitics") or ()),
        assistant_directed=PhraseSet(raw["assistant_directed"]),
        greetings=PhraseSet(raw["greetings"]),
        injection=PhraseSet(raw["injection"]),
        duration=_duration_pattern(raw["fact_words"]),
        roles=PhraseSet(raw["fact_words"]["roles"]),
        measures=PhraseSet(raw["fact_words"]["measures"]),
        costs=PhraseSet(raw["fact_words"].get("costs") or []),
        words=frozenset(_words_of(raw)),
    )


def _words_of(value: Any) -> set[str]:
    """The whole words of every phrase in the lexicon's data."""
    if isinstance(value, dict):
        return set().union(*(_words_of(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_words_of(v) for v in value))
    if isinstance(value, str):
        return {w for w in re.split(r"[^a-z*]+", fold(value)) if len(w) >= 4 and w.isalpha()}
    return set()


def _duration_pattern(words: dict[str, list[str]]) -> re.Pattern[str]:
    numbers = "|".join(re.escape(fold(n)) for n in words["numbers"])
    units = "|".join(
        re.escape(fold(u)).replace(r"\ ", r"\s+")
        for u in sorted(words["time_units"], key=len, reverse=True)
    )
    return re.compile(rf"(?<![\w])(?:\d+(?:[.,]\d+)?|{numbers})\s+(?:{units})(?![\w])")


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    return load_lexicon()


@lru_cache(maxsize=1)
def _filler_entries() -> list[str]:
    text = (DATA_DIR / "query_fillers.txt").read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#")]
    return [w for ln in lines for w in ln.split()]


@lru_cache(maxsize=1)
def fillers() -> frozenset[str]:
    """Words of how people ask (index_config/query_fillers.txt), folded."""
    return frozenset(fold(w) for w in _filler_entries() if not w.startswith("@"))


@lru_cache(maxsize=1)
def filler_lemmas() -> frozenset[str]:
    """Lemmas of verbs of asking (query_fillers.txt entries "@lemma"), folded: every form
    of them is a filler."""
    return frozenset(fold(w[1:]) for w in _filler_entries() if w.startswith("@") and w[1:])
