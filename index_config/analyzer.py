"""CatalanAnalyzer: the text analysis shared by documents and queries (sparse side).

Catalan needs more than whitespace splitting: elided articles and pronouns (l'aigua,
d'habitatge, s'ha), typographic apostrophes from PDFs (l’aigua), the punt volat
(col·lectiu, written col.lectiu or collectiu by users), accents that users skip, and
plurals that change the stem (plaça/places, biblioteca/biblioteques, camí/camins). Each
word gives up to three terms: its light form, its Snowball stem ("~") and its lemma from
Apertium's Catalan dictionary ("@", index_config/lemmas.py), which joins the verb an
official asks with and the noun a regulation states (revoquen, revocació -> @revocar).
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import Stemmer
import yaml

from index_config.lemmas import CatalanLemmas, shared_lemmas
from index_config.settings import AnalyzerMode, AnalyzerSettings

DATA_DIR = Path(__file__).resolve().parent
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "ʼ": "'", "′": "'"})
# Elided forms that precede a vowel or h: l' d' s' n' m' t' (and 'n, 'l, 's enclitics).
_ELISION = re.compile(r"\b([ldsnmt])'(?=[a-zà-ÿh])", re.IGNORECASE)
_ENCLITIC = re.compile(r"(?<=[a-zà-ÿ])'(ns|n|l|ls|s|m|t|hi|ho)\b", re.IGNORECASE)
# Form and programme codes keep their hyphen so "C4-005" is one token.
_CODE = re.compile(r"\b([a-z]+\d+)-(\d+)\b", re.IGNORECASE)
_DOT_PUNT_VOLAT = re.compile(r"(?<=[a-zà-ÿ]l)\.(?=l[a-zà-ÿ])|(?<=[A-ZÀ-Ý]L)\.(?=L[A-ZÀ-Ý])")
_TOKEN = re.compile(r"[0-9a-zà-ÿ]+", re.IGNORECASE)
# A word as written, the punt volat kept (the dictionary knows col·lectiu, not collectiu).
_WORD = re.compile(r"[0-9a-zà-ÿ·ŀ]+", re.IGNORECASE)


def fold(text: str) -> str:
    """Lowercase, strip accents and normalise the punt volat: 'Col·lecció' -> 'colleccio'."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = text.replace("l·l", "ll").replace("l.l", "ll").replace("ŀl", "ll")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _fold_traced(text: str) -> tuple[str, list[int]]:
    """`fold(text)` and, for each of its characters, the index in `text` it comes from."""
    chars = [(c, i) for i, ch in enumerate(text) for c in unicodedata.normalize("NFKC", ch).lower()]
    for pattern in ("l·l", "l.l", "ŀl"):  # as fold's str.replace: left to right, no overlap
        kept, j, n = [], 0, len(pattern)
        while j < len(chars):
            if "".join(c for c, _ in chars[j : j + n]) == pattern:
                kept += [("l", chars[j][1]), ("l", chars[j + n - 1][1])]
                j += n
            else:
                kept.append(chars[j])
                j += 1
        chars = kept
    out = [
        (c, i)
        for ch, i in chars
        for c in unicodedata.normalize("NFD", ch)
        if not unicodedata.combining(c)
    ]
    return "".join(c for c, _ in out), [i for _, i in out]


def as_written(text: str, folded_span: str) -> str:
    """The stretch of `text` whose fold is `folded_span`, with the accents and capitals its
    writer gave it ("manteniment del cementiri" -> "Manteniment del cementiri" when so
    written): what a reply quotes back. The folded span itself when `text` has none."""
    folded, origin = _fold_traced(text)
    start = folded.find(folded_span) if folded_span else -1
    if start < 0 or folded != fold(text):
        return folded_span
    end = start + len(folded_span) - 1
    return text[origin[start] : origin[end] + 1]


def light_stem(word: str) -> str:
    """Conflate Catalan singular and plural forms of a folded word, and nothing more.

    The Snowball stemmer over-stems (ajuts -> aj, residus -> res); this keeps words
    apart while still matching places/plaça, camins/camí, biblioteques/biblioteca.
    """
    if len(word) <= 3 or word.isdigit():
        return word
    w = word
    if w.endswith(("ques", "gues")) and len(w) > 5:
        w = w[:-4] + ("c" if w[-4] == "q" else "g")  # plaques -> plac, botigues -> botig
    elif w.endswith("ns") and len(w) > 4 and w[-3] in "aeiou":
        w = w[:-2]  # camins -> cami, subvencions -> subvencio
    elif w.endswith("es") and len(w) > 4:
        w = w[:-2]  # escoles -> escol, projectes -> project
    elif w.endswith("s") and len(w) > 3 and w[-2] not in "s":
        w = w[:-1]  # ajuts -> ajut, municipals -> municipal
    if w.endswith(("qu", "gu")):
        w = w[:-1]
    elif w[-1] in "ae" and len(w) > 3:
        w = w[:-1]  # escola -> escol, projecte -> project
    if w.endswith(("qu", "gu")):
        w = w[:-1]
    return w


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    words = (DATA_DIR / "stopwords.txt").read_text(encoding="utf-8").split()
    return frozenset(fold(w) for w in words if not w.startswith("#"))


@dataclass(frozen=True)
class SynonymMap:
    """Domain synonyms, abbreviations and Spanish terms, kept as data (synonyms.yaml).

    Keys and values are phrases; matching is on folded text, whole words only.
    """

    entries: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None) -> SynonymMap:
        raw = yaml.safe_load((path or DATA_DIR / "synonyms.yaml").read_text(encoding="utf-8"))
        entries: dict[str, tuple[str, ...]] = {}
        for group in raw.get("groups", []):
            folded = [fold(term) for term in group]
            for term in folded:
                others = tuple(t for t in folded if t != term)
                entries[term] = tuple(dict.fromkeys(entries.get(term, ()) + others))
        for source, targets in (raw.get("rewrites") or {}).items():
            entries[fold(source)] = tuple(
                dict.fromkeys(entries.get(fold(source), ()) + tuple(fold(t) for t in targets))
            )
        return cls(entries)

    @cached_property
    def words(self) -> frozenset[str]:
        """Every word of the phrases that expand (folded): what a typo in a question is
        read back to before its synonyms are looked for."""
        return frozenset(w for phrase in self.entries for w in _TOKEN.findall(phrase))

    def expansions(self, folded_text: str) -> list[str]:
        padded = f" {' '.join(_TOKEN.findall(folded_text))} "
        found: list[str] = []
        for phrase, targets in self.entries.items():
            if f" {phrase} " in padded:
                found.extend(targets)
        return found


class CatalanAnalyzer:
    """Turns text into weighted index terms; the same analysis for documents and queries."""

    def __init__(
        self, settings: AnalyzerSettings | None = None, text_cache_size: int = 50_000
    ) -> None:
        """`text_cache_size`: texts whose terms are kept (0 for an ingest, which reads
        each text once: 50,000 cached chunks would hold about a gigabyte)."""
        self.settings = settings or AnalyzerSettings()
        self._stemmer = Stemmer.Stemmer("catalan")
        self._synonyms = SynonymMap.load()
        # Documents are analysed again and again (snippets, grounding, passages): cache
        # per text and per token. Cached results are shared: callers must not mutate them.
        self._cached_weights = lru_cache(maxsize=text_cache_size)(self._term_weights)
        self._cached_terms = lru_cache(maxsize=200_000)(self._token_terms)
        # Folding is half the cost of analysing a text, and words repeat: an ingest of
        # 100,000 chunks folds tens of millions of tokens but only some 100,000 words.
        self._fold_token = lru_cache(maxsize=200_000)(fold)
        self._lemmas: CatalanLemmas | None = (
            shared_lemmas(Path(self.settings.lemma_dictionary)) if self.settings.lemmas else None
        )
        # A folded token's roots, from the words seen as written: callers that hold only
        # the folded token (the grounding signals) get the same terms as its text did.
        self._roots_by_token: dict[str, tuple[str, ...]] = {}

    def roots_of(self, token: str) -> tuple[str, ...]:
        """The dictionary roots of a folded token, in a text this analyzer has read (the
        question: `query_terms` reads it first); () when unknown or without Apertium."""
        return self._roots_by_token.get(token, ())

    def in_dictionary(self, token: str) -> bool:
        """Whether Catalan's dictionary knew the word a folded token was written as, in a
        text this analyzer has read (False without Apertium)."""
        return token in self._roots_by_token

    @property
    def synonyms(self) -> SynonymMap:
        return self._synonyms

    @property
    def mode(self) -> AnalyzerMode:
        return self.settings.mode

    def tokens(self, text: str) -> list[str]:
        """Folded word tokens with elisions split off and stopwords removed."""
        return [token for _, token in self.words(text)]

    def words(self, text: str) -> list[tuple[str, str]]:
        """(word as written, lowercase; its folded token) for each token of `tokens()`."""
        text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES)
        text = _CODE.sub(r"\1\2", text)
        text = _ELISION.sub(r"\1 ", text)
        text = _ENCLITIC.sub(r" \1", text)
        # The punt volat typed as a full stop (col.lectiu) must not split the word.
        text = _DOT_PUNT_VOLAT.sub("·", text).replace("ŀ", "l·")
        stop = _stopwords()
        fold_token = self._fold_token
        out = []
        for raw in _WORD.findall(text):
            token = fold_token(raw).replace("·", "")
            if not token or token in stop or (len(token) == 1 and not token.isdigit()):
                continue
            out.append((raw.lower().strip("·"), token))
        return out

    def _terms_of(self, token: str) -> tuple[tuple[str, float], ...]:
        terms = self._cached_terms(token)
        roots = self._roots_by_token.get(token)
        return terms + self._root_terms(roots) if roots else terms

    def _root_terms(self, roots: tuple[str, ...]) -> tuple[tuple[str, float], ...]:
        share = self.settings.lemma_weight / len(roots)
        return tuple(("@" + fold(root), share) for root in roots)

    def _roots(self, words: list[tuple[str, str]]) -> dict[str, tuple[str, ...]]:
        """The roots of a text's words (by folded token), kept for `_terms_of`."""
        if self._lemmas is None:
            return {}
        written = [raw for raw, token in words if not any(ch.isdigit() for ch in token)]
        found = self._lemmas.roots(written)
        out: dict[str, tuple[str, ...]] = {}
        for raw, token in words:
            roots = found.get(raw)
            if roots:
                out[token] = roots
                self._roots_by_token.setdefault(token, roots)
        if len(self._roots_by_token) > 200_000:
            self._roots_by_token.clear()
        return out

    def _token_terms(self, token: str) -> tuple[tuple[str, float], ...]:
        return tuple(self._compute_terms(token))

    def _compute_terms(self, token: str) -> list[tuple[str, float]]:
        mode = self.settings.mode
        if token.isdigit() or any(ch.isdigit() for ch in token):
            return [(token, 1.0)]
        if mode == "light":
            return [(light_stem(token), 1.0)]
        stem = "~" + self._stemmer.stemWord(token)
        if mode == "stem":
            return [(stem, 1.0)]
        # surface+stem: the light form carries precision, the Snowball stem recall.
        return [(light_stem(token), 1.0), (stem, self.settings.surface_weight)]

    def term_weights(self, text: str) -> dict[str, float]:
        """Raw term frequencies of a text (documents); floats because of surface+stem.
        The result is cached and shared: do not mutate it."""
        return self._cached_weights(text)

    def _term_weights(self, text: str) -> dict[str, float]:
        counts: dict[str, float] = defaultdict(float)
        words = self.words(text)
        roots = self._roots(words)
        for _, token in words:
            for term, weight in self._cached_terms(token):
                counts[term] += weight
            if token in roots:
                for term, weight in self._root_terms(roots[token]):
                    counts[term] += weight
        return dict(counts)

    def query_terms(self, text: str) -> dict[str, float]:
        """Query terms with synonym expansions weighted below the user's own words."""
        weights: dict[str, float] = {}
        for term, count in self.term_weights(text).items():
            weights[term] = weights.get(term, 0.0) + min(count, 2.0)
        folded = " ".join(self.tokens(text))
        for phrase in self._synonyms.expansions(fold(text) + " " + folded):
            for term, count in self.term_weights(phrase).items():
                if term not in weights:
                    weights[term] = self.settings.synonym_weight * min(count, 1.0)
        return weights
