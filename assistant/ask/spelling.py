"""Near spellings from the index's own vocabulary, for words the index has never seen.

Officials type fast ("subvencio", "legionela"), skip accents, or write in Spanish, whose
words are often one or two letters away from the Catalan ones ("caminos"/camins,
"subvenciones"/subvencions, "ampliación"/ampliació). A question word with no document
frequency is matched to the vocabulary forms within a small edit distance; the match
counts, at a lower weight, both in the sparse query and in the grounding signals. Words of
the index are never "corrected".

A clipped word ("la biblio", "l'info del web") is a prefix of the word it stands for, far
beyond any edit distance: an unseen word with no near spelling is matched to the most
frequent vocabulary forms it is the beginning of, when they are clearly longer.

The lexicon (index_config/lexicon.yaml) finds what a question asks for by its words
("formulari", "Generalitat", "catàleg"); a typo in one of them ("formmulari",
"Generalittat", "catleg") would hide it, as a typo in a word the synonyms expand
("areglar" for "arreglar", which leads to the catalogue's "arranjament") would hide its
synonyms. `respell` reads such a word as the one lexicon or synonym word within the same
edit distance, when the index has never seen the word and Catalan's dictionary does not
know it either (so "font" is never read as "fons").
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import OSA

from index_config.analyzer import CatalanAnalyzer, light_stem
from index_config.thesaurus import CatalanThesaurus


@dataclass(frozen=True)
class SpellingSettings:
    # Shortest word to correct, and the edit distances allowed by word length.
    min_length: int = 5
    long_word: int = 7
    short_distance: int = 1
    long_distance: int = 2
    # Weight of a corrected term relative to the user's own words.
    weight: float = 0.7
    max_candidates: int = 2
    # Clippings: the shortest clipped word, and how many letters longer its full form is.
    min_clipping: int = 5
    clipped_letters: int = 3
    # Respelling a lexicon word allows two edits only from this length: the lexicon is
    # a few hundred everyday words, and at seven letters two edits join unrelated ones
    # ("cobrrem" and "correu").
    respell_long_word: int = 9
    # A Snowball stem shorter than this makes a word known only when the dictionary knows
    # the word (`known`).
    known_stem_letters: int = 5
    # A word of Catalan's dictionary with no near spelling takes words of like meaning
    # from the thesaurus, from this many of its senses (1, 2 and all compared on the
    # tuning half: bench/README.md); at most `max_candidates` of them, the most used.
    thesaurus_senses: int = 1


_FOLDED_WORD = re.compile(r"[a-z]+")


class SpellingMatcher:
    """Maps unseen light forms to the closest light forms of the index vocabulary."""

    def __init__(
        self,
        analyzer: CatalanAnalyzer,
        document_frequency: dict[str, int],
        settings: SpellingSettings | None = None,
        thesaurus: CatalanThesaurus | None = None,
    ) -> None:
        """`thesaurus`: words of like meaning for dictionary words with no near spelling
        (none without it)."""
        self.analyzer = analyzer
        self.thesaurus = thesaurus
        self.settings = settings or SpellingSettings()
        self.df = document_frequency
        # Light forms only ("~" marks Snowball stems); digits and codes are never fuzzy.
        # Sorted, so that the forms a clipped word begins are one contiguous run.
        self._vocabulary = sorted(
            t for t in document_frequency if not t.startswith("~") and t.isalpha() and len(t) > 2
        )
        self._cache: dict[str, tuple[str, ...]] = {}

    def known(self, token: str) -> bool:
        """Whether the index has the word: one of its terms has a document frequency. A
        short Snowball stem is no evidence by itself: "ineres" (a typo of "interès")
        stems to "in", which "inici" has; it counts only for a word Catalan's dictionary
        knows ("dinar" stays a word, never a typo of "diner")."""
        short_stem_counts = self.analyzer.in_dictionary(token)
        return any(
            self.df.get(term)
            for term, _ in self.analyzer._terms_of(token)
            if self._telling(term) or short_stem_counts
        )

    def _telling(self, term: str) -> bool:
        """A light form, or a Snowball stem long enough to tell words apart."""
        return not term.startswith("~") or len(term) - 1 >= self.settings.known_stem_letters

    def corrections(self, token: str) -> tuple[str, ...]:
        """Vocabulary light forms close to an unseen token (most frequent first): near
        spellings, the words it is a clipping of, or, for a word of Catalan's dictionary
        that has neither, the thesaurus's words of like meaning that the index has."""
        if token in self._cache:
            return self._cache[token]
        found: tuple[str, ...] = ()
        s = self.settings
        if len(token) >= s.min_length and token.isalpha() and not self.known(token):
            light = light_stem(token)
            distance = s.long_distance if len(token) >= s.long_word else s.short_distance
            matches = process.extract(
                light,
                self._vocabulary,
                scorer=OSA.distance,
                score_cutoff=distance,
                limit=8,
            )
            # Closest first, then the form most documents use; the first letter must agree
            # (typos rarely hit it; unrelated words often differ there).
            ranked = sorted(
                (m for m in matches if m[0][:1] == light[:1]),
                key=lambda m: (m[1], -self.df.get(m[0], 0)),
            )
            found = tuple(m[0] for m in ranked[: s.max_candidates])
            if not found and len(token) >= s.min_clipping:
                found = self._completions(light)
            if not found:
                found = self._like_meaning(token)
        if len(self._cache) < 50_000:
            self._cache[token] = found
        return found

    def _like_meaning(self, token: str) -> tuple[str, ...]:
        """The most used light forms of the index among the synonyms of the token's
        lemmas ("endarrereix" -> endarrerir -> "prorrogar", "retardar"...)."""
        if self.thesaurus is None:
            return ()
        forms: list[str] = []
        for root in self.analyzer.roots_of(token):
            for word in self.thesaurus.synonyms(root, self.settings.thesaurus_senses):
                forms.extend(
                    t
                    for t in self.analyzer.term_weights(word)
                    if self.df.get(t) and not t.startswith("@") and self._telling(t)
                )
        ranked = sorted(dict.fromkeys(forms), key=lambda t: -self.df.get(t, 0))
        return tuple(ranked[: self.settings.max_candidates])

    def _completions(self, light: str) -> tuple[str, ...]:
        """The most frequent vocabulary forms that `light` is a clipping of."""
        start = bisect_left(self._vocabulary, light)
        longer = []
        for form in self._vocabulary[start : start + 200]:
            if not form.startswith(light):
                break
            if len(form) >= len(light) + self.settings.clipped_letters:
                longer.append(form)
        longer.sort(key=lambda form: -self.df.get(form, 0))
        return tuple(longer[: self.settings.max_candidates])

    def expand(self, terms: dict[str, float], tokens: tuple[str, ...]) -> dict[str, float]:
        """Query terms plus the corrections of unseen tokens, at a reduced weight."""
        out = dict(terms)
        for token in tokens:
            for term in self.corrections(token):
                out.setdefault(term, self.settings.weight)
        return out

    def read_as(self, folded: str, vocabulary: frozenset[str]) -> dict[str, str]:
        """Each unseen word of `folded` text that is a near spelling of exactly one word of
        `vocabulary` (the lexicon's, the synonyms'), and that word."""
        if not vocabulary:
            return {}
        words = sorted(vocabulary)
        found = {w: self._respelt(w, words, vocabulary) for w in set(_FOLDED_WORD.findall(folded))}
        return {typed: read for typed, read in found.items() if typed != read}

    def respell(self, folded: str, vocabulary: frozenset[str]) -> str:
        """`folded` text with its unseen words written as `read_as` reads them."""
        return written_as(folded, self.read_as(folded, vocabulary))

    def _respelt(self, word: str, words: list[str], vocabulary: frozenset[str]) -> str:
        s = self.settings
        if (
            len(word) < s.min_length
            or word in vocabulary
            or self.known(word)
            or self.analyzer.in_dictionary(word)
        ):
            return word
        distance = s.long_distance if len(word) >= s.respell_long_word else s.short_distance
        matches = [
            (form, d)
            for form, d, _ in process.extract(
                word, words, scorer=OSA.distance, score_cutoff=distance, limit=4
            )
            if form[:1] == word[:1]
        ]
        if not matches:
            return word
        best = min(d for _, d in matches)
        nearest = [form for form, d in matches if d == best]
        return nearest[0] if len(nearest) == 1 else word


def written_as(folded: str, read_as: dict[str, str]) -> str:
    """`folded` text with each word of `read_as` written as the word it was read as."""
    if not read_as:
        return folded
    return _FOLDED_WORD.sub(lambda m: read_as.get(m.group(0), m.group(0)), folded)
