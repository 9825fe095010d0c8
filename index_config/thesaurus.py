"""CatalanThesaurus: words of like meaning, from LibreOffice's Catalan thesaurus.

An official writes a Catalan word that no indexed document uses ("si l'obra
s'endarrereix": the regulations say "pròrroga", "ampliació"). No spelling is near it, so
without help it counts as a word no source covers. The thesaurus of Softcatalà (Debian
package mythes-ca, GPL/LGPL, the MyThes format: a line "lemma|senses" followed by one line
"-|synonym|synonym..." per sense) gives, by the lemma that Catalan's dictionary reads
(index_config/lemmas.py), the words of like meaning; assistant/ask/spelling.py keeps those
the index has, as it keeps near spellings.

Only the first sense is read: the thesaurus lists the most common one first, and later
senses of a polysemous verb lead elsewhere (gastar: "consumir", but also "treballar").
Without the package no word has synonyms, and a warning says so once.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_PATH = Path("/usr/share/mythes/th_ca_ES_v2.dat")


class CatalanThesaurus:
    """Lemma -> its senses, each a tuple of one-word synonyms (as written, lowercase)."""

    def __init__(self, senses: dict[str, tuple[tuple[str, ...], ...]]) -> None:
        self._senses = senses

    @classmethod
    def load(cls, path: Path = DEFAULT_PATH) -> CatalanThesaurus:
        if not path.is_file():
            log.warning(
                "Catalan words unknown to the index get no synonyms: missing %s "
                "(Debian package mythes-ca)",
                path,
            )
            return cls({})
        return cls(parse(path.read_text(encoding="utf-8")))

    def synonyms(self, lemma: str, senses: int = 1) -> tuple[str, ...]:
        """The one-word synonyms of the first `senses` senses of a lemma, in order."""
        found = [w for sense in self._senses.get(lemma.lower(), ())[:senses] for w in sense]
        return tuple(dict.fromkeys(found))

    def __len__(self) -> int:
        return len(self._senses)


def parse(text: str) -> dict[str, tuple[tuple[str, ...], ...]]:
    """MyThes data: the first line names the encoding; then entries "lemma|n" followed
    by n lines "-|w1|w2...". Multiword synonyms and glosses in brackets are dropped: the
    analyzer matches single words."""
    lines = text.splitlines()[1:]
    out: dict[str, tuple[tuple[str, ...], ...]] = {}
    i = 0
    while i < len(lines):
        head, _, count = lines[i].rpartition("|")
        try:
            n = int(count)
        except ValueError:
            i += 1  # a malformed line: skip it, never the whole file
            continue
        senses = []
        for line in lines[i + 1 : i + 1 + n]:
            words = [w.strip().lower() for w in line.split("|")[1:]]
            senses.append(tuple(w for w in words if w and " " not in w and "(" not in w))
        if head:
            out[head.lower()] = tuple(senses)
        i += 1 + n
    return out


@lru_cache(maxsize=2)
def shared_thesaurus(path: Path = DEFAULT_PATH) -> CatalanThesaurus:
    """One thesaurus per process (about 25,000 entries, read in a fraction of a second)."""
    return CatalanThesaurus.load(path)
