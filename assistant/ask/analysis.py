"""QueryAnalysis: everything the ask path reads from one question, computed once.

Beyond its topic, a question says who asks (population, type of body), what kind of support
they want, whether they mean "open now", which facts they ask for, which years and codes
they name, whether it continues the previous turn, and whether it is about the plan at all
(a greeting, words to the assistant itself, an attempt to change its instructions). The
vocabulary of all this is data (index_config/lexicon.yaml); this module only applies it.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from assistant.ask.lexicon import Lexicon, default_lexicon, filler_lemmas, fillers
from assistant.ask.spelling import SpellingMatcher, written_as
from index_config.analyzer import CatalanAnalyzer, as_written, fold

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "ʼ": "'"})
_NUMBER = r"(\d{1,3}(?:[.\s]\d{3})+|\d+)"
_POPULATION = re.compile(
    rf"{_NUMBER}\s*(?:habitants|hab\b|habitantes|veïns|vecinos|persones empadronades)", re.I
)
_YEAR = re.compile(r"(?<![\d.,/-])(19[5-9]\d|20\d\d)(?!\d|[.,/]\d)")
_YEAR_SPAN = re.compile(r"\b(20\d\d)\s*[-–/]\s*(20\d\d)\b")
_FORM_CODE = re.compile(r"\b([A-Z]\d)\s?[-‐‑–]?\s?(\d{3})\b", re.I)
# "el model 111", "el formulari 303": a form named by its number alone.
_NUMBERED_FORM = re.compile(r"\b(?:model|formulari|impres|imprès)\s+(\d{2,4})\b", re.I)
# A catalogue code named as such ("el recurs 22133", "codi 22101"); bare five-digit
# numbers are too often populations or amounts.
_RESOURCE_CODE = re.compile(r"\b(?:codi|recurs|fitxa|codigo|recurso)\s+(?:n\S*\s+)?(\d{5})\b", re.I)
_WORD = re.compile(r"[\w'·]+")


def normalise_question(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").translate(_APOSTROPHES)
    return re.sub(r"\s+", " ", text).strip()


def _to_int(raw: str) -> int:
    return int(re.sub(r"[.\s]", "", raw))


@dataclass(frozen=True)
class QueryAnalysis:
    """One question, read once; every stage of the ask path takes it as input."""

    text: str
    folded: str
    tokens: tuple[str, ...]
    # Tokens that say what the question is about (no fillers, no bare numbers).
    informative: tuple[str, ...]
    # Sparse query terms (with synonym expansions), the same the index is searched with.
    terms: dict[str, float]
    words: int
    population: int | None = None
    recipient: str | None = None
    open_on: dt.date | None = None
    prefers_tipologia: str | None = None
    # The plan's instruments the question names (lexicon.yaml: instruments).
    instruments: tuple[str, ...] = ()
    facets: tuple[str, ...] = ()
    # The words that asked for those facts ("fins quan", "import").
    facet_words: tuple[str, ...] = ()
    years: tuple[int, ...] = ()
    form_codes: tuple[str, ...] = ()
    resource_codes: tuple[str, ...] = ()
    follow_up: bool = False
    # "el fons de prestació per al transport escolar": the kind and purpose named.
    named_support: tuple[str, str] | None = None
    greeting_only: bool = False
    assistant_directed: bool = False
    injection: bool = False
    other_administration: bool = False
    personal: bool = False
    # Typed words read as a word of the lexicon or of the synonyms ("areglar": "arreglar").
    read_as: dict[str, str] = field(default_factory=dict)
    flags: frozenset[str] = field(default_factory=frozenset)

    @property
    def asks_facts(self) -> bool:
        return bool(self.facets)


def _facets(folded: str, lexicon: Lexicon) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The facts asked for, and the words that asked for them. A longer phrase wins over a
    shorter one inside it: "quant de temps" asks for a duration, not for an amount."""
    matches = sorted(
        (
            (end - start, start, end, f.name)
            for f in lexicon.facets
            for start, end in f.ask.spans(folded)
        ),
        reverse=True,
    )
    taken: list[tuple[int, int, str]] = []
    found: list[tuple[int, str]] = []
    for _, start, end, name in matches:
        if any(start < e and s < end and other != name for s, e, other in taken):
            continue
        taken.append((start, end, name))
        found.append((start, name))
    words = tuple(dict.fromkeys(w for s, e, _ in taken for w in re.findall(r"\w+", folded[s:e])))
    return tuple(dict.fromkeys(name for _, name in sorted(found))), words


def _years(text: str) -> tuple[int, ...]:
    years: list[int] = []
    for match in _YEAR_SPAN.finditer(text):
        low, high = int(match.group(1)), int(match.group(2))
        years.extend([low, high] if high >= low else [low])
    years.extend(int(y) for y in _YEAR.findall(_YEAR_SPAN.sub(" ", text)))
    return tuple(dict.fromkeys(years))


def _named_support(
    text: str, folded: str, read_as: dict[str, str], lexicon: Lexicon
) -> tuple[str, str] | None:
    """(kind, purpose) of a support the question names "per a" something: the kind
    folded (a lexicon key), the purpose as its writer wrote it (accents, capitals and
    misspellings theirs), for a reply to quote. `folded` is read with `read_as`'s
    spellings, so that a misspelt kind is still a kind."""
    kinds = "|".join(re.escape(k) for k in sorted(lexicon.support_kinds, key=len, reverse=True))
    links = "|".join(
        re.escape(k).replace(r"\ ", r"\s+")
        for k in sorted(lexicon.support_links, key=len, reverse=True)
    )
    # "el recurs del catàleg per construir X": where the support belongs may come first.
    match = re.search(
        rf"\b({kinds})(?:\s+(?:del|de la|de l'|d'|dels)\s*[a-z]+)?\s+(?:{links})\s+"
        rf"([a-z0-9' ]{{3,60}}?)(?=[?.,;!:]|$| i | que | amb | on )",
        folded,
    )
    if not match:
        return None
    purpose = re.sub(r"^(la |el |les |els |l')", "", match.group(2).strip())
    if not purpose:
        return None
    written = written_as(purpose, {read: word for word, read in read_as.items()})
    return match.group(1), as_written(text, written)


def speaks_for_oneself(folded: str, lexicon: Lexicon) -> bool:
    """A citizen's own affairs ("el meu divorci", "renovar-me el DNI"): folded text."""
    return bool(lexicon.personal.found(folded)) or any(
        re.search(rf"\w-{re.escape(e)}(?![\w])", folded) for e in lexicon.personal_enclitics
    )


def _follow_up(folded: str, words: list[str], has_history: bool, lexicon: Lexicon) -> bool:
    if not has_history or not words:
        return False
    if words[0] in lexicon.follow_leading:
        return True
    if len(words) <= lexicon.max_short_words:
        return True
    without_existential = folded
    for match in lexicon.existential.all(folded):
        without_existential = without_existential.replace(match, " ")
    pointing = lexicon.follow_pointing.found(without_existential) or any(
        f"-{e}" in folded for e in lexicon.follow_enclitics
    )
    return pointing and len(words) <= lexicon.max_pointing_words


def informative_tokens(tokens: Iterable[str], analyzer: CatalanAnalyzer) -> tuple[str, ...]:
    """The tokens that say what a text is about: no fillers (query_fillers.txt: words of
    asking, and any form of its verbs of asking, by the roots the analyzer read), no bare
    numbers, no single letters. The text must have been analysed (`query_terms`)."""
    filler, generic = fillers(), filler_lemmas()

    def asking(token: str) -> bool:
        if token in filler:
            return True
        roots = analyzer.roots_of(token)
        return bool(roots) and all(fold(r) in generic for r in roots)

    return tuple(
        t for t in dict.fromkeys(tokens) if not t.isdigit() and len(t) > 1 and not asking(t)
    )


def analyse(
    question: str,
    analyzer: CatalanAnalyzer,
    *,
    has_history: bool = False,
    today: dt.date | None = None,
    lexicon: Lexicon | None = None,
    spelling: SpellingMatcher | None = None,
) -> QueryAnalysis:
    """`spelling`: the served index's near spellings; with it, a typo in a word of the
    lexicon or of the synonyms ("Generalittat", "formmulari", "areglar") is read as that
    word when the lexicon's phrases are looked for, and its terms and synonyms join the
    sparse terms, lighter, beside the words as written."""
    lex = lexicon or default_lexicon()
    text = normalise_question(question)
    # First: analysing the words tells which of them Catalan's dictionary knows.
    terms = analyzer.query_terms(text)
    folded = fold(text)
    read_as: dict[str, str] = {}
    if spelling is not None:
        read_as = spelling.read_as(folded, lex.words | analyzer.synonyms.words)
        respelt = written_as(folded, read_as)
        if read_as:
            # A typo of a word the synonyms expand ("areglar") expands as the word would
            # ("arranjament", "reparació"), at the weight of a near spelling.
            for term, weight in analyzer.query_terms(respelt).items():
                terms.setdefault(term, weight * spelling.settings.weight)
        folded = respelt
    words = [w.strip("'") for w in _WORD.findall(folded)]
    tokens = tuple(analyzer.tokens(text))
    informative = informative_tokens(tokens, analyzer)
    population = None
    match = _POPULATION.search(text)
    if match:
        population = _to_int(match.group(1))
    recipient = next((name for name, ps in lex.recipients.items() if ps.found(folded)), None)
    open_on = None
    if lex.open_now_when.found(folded) and lex.open_now_with.found(folded):
        open_on = today or dt.date.today()
    prefers = next((name for name, ps in lex.tipologia.items() if ps.found(folded)), None)
    greeting_only = bool(lex.greetings.found(folded)) and not informative
    facets, facet_words = _facets(folded, lex)
    flags = {
        name
        for name, found in (
            ("assistant_directed", lex.assistant_directed.found(folded)),
            ("injection", lex.injection.found(folded)),
            ("other_administration", lex.other_administrations.found(folded)),
            ("personal", speaks_for_oneself(folded, lex)),
            ("greeting_only", greeting_only),
        )
        if found
    }
    return QueryAnalysis(
        text=text,
        folded=folded,
        tokens=tokens,
        read_as=read_as,
        informative=informative,
        terms=terms,
        words=len(words),
        population=population,
        recipient=recipient,
        open_on=open_on,
        prefers_tipologia=prefers,
        instruments=lex.instruments_named(folded),
        facets=facets,
        facet_words=facet_words,
        years=_years(text),
        form_codes=tuple(
            dict.fromkeys(
                [f"{m.group(1).upper()}-{m.group(2)}" for m in _FORM_CODE.finditer(text)]
                + [f"model {m.group(1)}" for m in _NUMBERED_FORM.finditer(text)]
            )
        ),
        resource_codes=tuple(dict.fromkeys(_RESOURCE_CODE.findall(text))),
        follow_up=_follow_up(folded, words, has_history, lex),
        named_support=_named_support(text, folded, read_as, lex),
        greeting_only=greeting_only,
        assistant_directed="assistant_directed" in flags,
        injection="injection" in flags,
        other_administration="other_administration" in flags,
        personal="personal" in flags,
        flags=frozenset(flags),
    )
