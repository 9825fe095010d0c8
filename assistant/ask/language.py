"""Spanish questions read in Catalan, by Apertium's Spanish-Catalan pair.

Officials sometimes write in Spanish. The dense model is multilingual, but the sparse side,
the grounding signals, the lexicon and the composer read Catalan: a Spanish question's
words are mostly unknown to the index, and the decision rightly refuses questions whose
words the index does not know. So a Spanish question is translated before it is analysed.

Both steps use the Debian package apertium-spa-cat (GPL data, run as separate programs):

- the language is told by its two morphological dictionaries: a Spanish question has many
  words the Catalan dictionary does not know and the Spanish one does; a Catalan one the
  opposite. Misspellings, names and codes are unknown to both and cancel out. One
  long-lived `lt-proc` per dictionary (null-flush mode) answers in about a millisecond;
- the translation is the pair's whole pipeline (`apertium spa-cat`), run only for the
  questions found Spanish (about 0.2 s).

Without Apertium installed (or with `language.enabled` false) every question is read as it
is written, and a warning says so once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal, Protocol

from index_config.apertium import ApertiumError, missing, shared_lt_proc, translate
from index_config.settings import LanguageSettings

log = logging.getLogger(__name__)

Language = Literal["ca", "es"]

# Letters only: the dictionaries' stream format reserves ^ $ / < > { } [ ] @ and \.
_WORD = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class Reading:
    """A question as the ask path reads it: `text` is Catalan; `original` as written."""

    text: str
    original: str
    language: Language = "ca"

    @property
    def translated(self) -> bool:
        return self.text != self.original


class WordCounter(Protocol):
    def unknown(self, words: list[str]) -> int:
        """How many of `words` the dictionary does not know."""
        ...

    def close(self) -> None: ...


class MorphDictionary:
    """Counts the words of a text that a morphological dictionary does not know, through
    long-lived `lt-proc`, shared with the analyzer's lemmas (index_config/apertium.py)."""

    def __init__(self, binary: Path, timeout: float) -> None:
        self.binary = binary
        self._lt_proc = shared_lt_proc(binary, timeout)

    def unknown(self, words: list[str]) -> int:
        if not words:
            return 0
        return _unknown_words(self._lt_proc.analyse(" ".join(words)))

    def close(self) -> None:
        self._lt_proc.close()


def _unknown_words(analysed: str) -> int:
    # lt-proc writes each word as ^surface/analysis...$, an unknown one as ^surface/*surface$.
    return analysed.count("/*")


class SpanishReader:
    """Reads a question in Catalan: translated from Spanish when the two dictionaries say
    it is Spanish, unchanged otherwise (and whenever Apertium cannot be used)."""

    def __init__(
        self,
        settings: LanguageSettings,
        dictionaries: tuple[WordCounter, WordCounter] | None = None,
        translator: Callable[[str], str] | None = None,
    ) -> None:
        """`dictionaries` (Catalan, Spanish) and `translator` replace Apertium's (tests)."""
        self.settings = settings
        data = settings.apertium_data
        self._binaries = (data / "cat-spa.automorf.bin", data / "spa-cat.automorf.bin")
        self._catalan, self._spanish = dictionaries or (
            MorphDictionary(self._binaries[0], settings.timeout_seconds),
            MorphDictionary(self._binaries[1], settings.timeout_seconds),
        )
        self._available: bool | None = None if dictionaries is None else settings.enabled
        # Both kept per text: a conversation's earlier turns are read again at every turn.
        # A failure raises, and lru_cache keeps no failure.
        self._tell = lru_cache(maxsize=settings.cache_size)(self._told)
        self._translate = lru_cache(maxsize=settings.cache_size)(translator or self._apertium)

    @property
    def available(self) -> bool:
        """Apertium and the pair's dictionaries are installed (checked once)."""
        if self._available is None:
            absent = missing(self._binaries, ("lt-proc", "apertium"))
            self._available = self.settings.enabled and not absent
            if self.settings.enabled and absent:
                log.warning(
                    "Spanish questions will not be translated: missing %s "
                    "(Debian packages apertium, apertium-spa-cat, cg3, apertium-lex-tools)",
                    ", ".join(absent),
                )
        return self._available

    def language(self, text: str) -> Language:
        """'es' when at least `min_spanish_words` more words, and that share of all its
        words, are unknown to the Catalan dictionary than to the Spanish one."""
        if not self.available:
            return "ca"
        try:
            language: Language = self._tell(text)
        except ApertiumError as exc:
            log.warning("language not told (%s): the question is read as written", exc)
            return "ca"
        return language

    def _told(self, text: str) -> Language:
        words = _WORD.findall(text)
        if not words:
            return "ca"
        margin = self._catalan.unknown(words) - self._spanish.unknown(words)
        spanish = (
            margin >= self.settings.min_spanish_words
            and margin >= self.settings.min_spanish_share * len(words)
        )
        return "es" if spanish else "ca"

    def read(self, text: str) -> Reading:
        if self.language(text) != "es":
            return Reading(text, text)
        try:
            return Reading(self._translate(text), text, "es")
        except ApertiumError as exc:
            log.warning("translation failed (%s): the question is read as written", exc)
            return Reading(text, text, "es")

    def close(self) -> None:
        self._catalan.close()
        self._spanish.close()

    def _apertium(self, text: str) -> str:
        return translate(text, "spa-cat", self.settings.timeout_seconds)
