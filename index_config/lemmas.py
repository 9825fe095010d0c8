"""CatalanLemmas: the lemma of a Catalan word, with a noun of action led back to its verb.

Officials ask with verbs where the regulations use nouns, and in forms a suffix stemmer
does not join: "si ens revoquen l'ajut" against "la revocació", "qui redacta el projecte"
against "redacció de projectes", "quan ens paguen" against "el pagament". Snowball's
Catalan stemmer gives revoqu/revoc, redact/redacc, pag/pag. Apertium's Catalan dictionary
(Debian apertium-spa-cat, the same one the language check reads) knows every inflected
form's lemma, and a noun of action formed with a productive suffix (-ació, -cció, -ució,
-ició, -ament, -iment, -itud) is led back to its verb when the dictionary knows that verb:
revocació -> revocar, redacció -> redactar, execució -> executar, pagament -> pagar,
compliment -> complir, sol·licitud -> sol·licitar.

The analyzer adds the root as one more, lighter term (index_config/analyzer.py). Words the
dictionary does not know (misspellings, words typed without accents, names) get no root
and are matched by their other terms. Without Apertium no word gets a root, and a warning
says so once.
"""

from __future__ import annotations

import logging
import re
import threading
from functools import lru_cache
from pathlib import Path

from index_config.apertium import ApertiumError, missing, shared_lt_proc

log = logging.getLogger(__name__)

_UNIT = re.compile(r"\^(.*?)\$")
_TAG = re.compile(r"<([^>]+)>")
_VERB_TAGS = frozenset({"vblex", "vbser", "vbhaver", "vbmod"})
# Productive suffixes of nouns of action and the verb ending each comes from, tried in
# order; a candidate counts only if the dictionary knows it as a verb's infinitive.
_NOMINALISATIONS: tuple[tuple[str, str], ...] = (
    ("cció", "ctar"),  # redacció -> redactar
    ("ació", "ar"),  # revocació -> revocar
    ("ució", "uir"),  # distribució -> distribuir
    ("ució", "utar"),  # execució -> executar
    ("ició", "ir"),  # definició -> definir
    ("ament", "ar"),  # pagament -> pagar
    ("iment", "ir"),  # compliment -> complir
    ("itud", "itar"),  # sol·licitud -> sol·licitar
)
# A request joins words with a sentence mark so that no multiword entry spans two of them.
_SEPARATOR = " . "


class CatalanLemmas:
    """Roots of lowercase words, cached; thread-safe."""

    def __init__(self, binary: Path, timeout: float = 10.0, cache_size: int = 200_000) -> None:
        self.binary = binary
        self.cache_size = cache_size
        self._lt_proc = shared_lt_proc(binary, timeout)
        self._cache: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()
        self._available: bool | None = None

    @property
    def available(self) -> bool:
        """lt-proc and the dictionary are installed (checked once)."""
        if self._available is None:
            absent = missing([self.binary])
            self._available = not absent
            if absent:
                log.warning(
                    "Catalan words will not be lemmatised: missing %s "
                    "(Debian packages apertium, apertium-spa-cat)",
                    ", ".join(absent),
                )
        return self._available

    def roots(self, words: list[str]) -> dict[str, tuple[str, ...]]:
        """Each word's roots (lowercase, as the dictionary writes them); () when the
        dictionary does not know it. Several when a form has several readings
        (obres: obra, obrar)."""
        with self._lock:
            new = [w for w in dict.fromkeys(words) if w not in self._cache]
        if new and self.available:
            try:
                found = self._lookup(new)
            except ApertiumError as exc:
                log.warning("words not lemmatised (%s)", exc)
                found = {}
            with self._lock:
                if len(self._cache) + len(new) > self.cache_size:
                    self._cache.clear()
                for word in new:
                    self._cache[word] = found.get(word, ())
        with self._lock:
            return {w: self._cache.get(w, ()) for w in words}

    def close(self) -> None:
        self._lt_proc.close()

    def _lookup(self, words: list[str]) -> dict[str, tuple[str, ...]]:
        readings = self._readings(words)
        # Nouns of action: their candidate verbs, all checked in one more request.
        candidates: dict[str, list[str]] = {}
        for analyses in readings.values():
            for lemma, tag in analyses:
                if tag == "n":
                    candidates[lemma] = _verb_candidates(lemma)
        verbs: set[str] = set()
        wanted = sorted({c for cs in candidates.values() for c in cs})
        if wanted:
            for word, analyses in self._readings(wanted).items():
                if any(lemma == word and tag in _VERB_TAGS for lemma, tag in analyses):
                    verbs.add(word)
        out: dict[str, tuple[str, ...]] = {}
        for word, analyses in readings.items():
            roots: list[str] = []
            for lemma, tag in analyses:
                verb = next((c for c in candidates.get(lemma, []) if c in verbs), None)
                roots.append(verb if tag == "n" and verb else lemma)
            out[word] = tuple(dict.fromkeys(roots))
        return out

    def _readings(self, words: list[str]) -> dict[str, list[tuple[str, str]]]:
        """word -> its (lemma, first tag) readings, for the words the dictionary knows."""
        analysed = self._lt_proc.analyse(_SEPARATOR.join(words))
        out: dict[str, list[tuple[str, str]]] = {}
        for unit in _UNIT.findall(analysed):
            surface, _, rest = unit.partition("/")
            if not rest or rest.startswith("*") or " " in surface:
                continue
            readings = []
            for analysis in rest.split("/"):
                head = analysis.split("+", 1)[0]  # donar-li: the verb, not the pronoun
                lemma, _, tags = head.partition("<")
                first = _TAG.match("<" + tags)
                if lemma and first:
                    readings.append((lemma.lower(), first.group(1)))
            if readings:
                out[surface.lower()] = readings
        return out


def _verb_candidates(noun: str) -> list[str]:
    return [
        noun[: -len(suffix)] + ending
        for suffix, ending in _NOMINALISATIONS
        if noun.endswith(suffix)
    ]


@lru_cache(maxsize=4)
def shared_lemmas(binary: Path) -> CatalanLemmas:
    """One lemmatiser per dictionary for the whole process: every analyzer of a server or
    an ingest reads the same words (and the cache of the words already looked up)."""
    return CatalanLemmas(binary)
