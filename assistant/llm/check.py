"""Grounding check of an LLM answer against the sources it was given.

Cheap and deterministic: citation markers must point at real sources, a non-refusal must
cite something, and every code, amount, date, form, phone, e-mail and link in the answer
must also be in the cited sources. Links must also go to an allowlisted host (a source
may carry a phishing link), and sentences of source text phrased as instructions to the
assistant or the reader (prompt injection, assistant/instructions.py) support nothing:
an answer that repeats one, restates one or takes a fact from one is rejected. Problems
are English sentences for the logs; the service falls back to the composer when there is
any.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from assistant.instructions import (
    instruction_marker,
    restates,
    sentences,
    split_instructions,
)
from assistant.links import LinkPolicy
from assistant.llm.facts import Fact, extract_facts
from assistant.llm.prompt import REFUSAL, format_value
from assistant.models import Hit

# Markers [1], [2] and the lists some models write, [1, 3]; never a link's text "[x](url)".
_CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\](?!\()")
_REFUSAL_PREFIX = "no he trobat informacio"

_KIND_NAMES = {
    "code": "catalogue code",
    "amount": "amount",
    "number": "number",
    "date": "date",
    "form": "form code",
    "phone": "phone number",
    "email": "e-mail address",
    "link": "link",
}


def citations(text: str) -> list[int]:
    """The source numbers cited in `text`, in order of appearance (repeats kept)."""
    numbers: list[int] = []
    for match in _CITATION.finditer(text):
        numbers.extend(int(n) for n in re.split(r"\s*,\s*", match.group(1)))
    return numbers


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(folded.replace("*", "").strip(" \"'«»“”").split())


def is_refusal(text: str) -> bool:
    """True for the fixed 'not found' sentence (or a close variant) with no citations."""
    folded = _fold(text)
    return (folded == _fold(REFUSAL) or folded.startswith(_REFUSAL_PREFIX)) and not citations(text)


def source_haystack(hit: Hit) -> str:
    """Everything a source says, as one text: fields, metadata values and full text."""
    parts = [hit.title, hit.snippet, hit.source, hit.codi or "", hit.article or "", hit.url or ""]
    parts.extend(f"{key}: {format_value(value)}" for key, value in hit.metadata.items())
    return "\n".join(parts)


def _supported(fact: Fact, facts: set[Fact], plain_text: str) -> bool:
    keys = {f.key for f in facts if f.kind == fact.kind}
    if fact.key in keys:
        return True
    if fact.kind == "number":
        # "entre 10.000 i 50.000 €": the bare number is supported by an amount's value.
        return fact.key in {f.key.split(" ")[0] for f in facts if f.kind == "amount"}
    if fact.kind == "date" and not fact.key.startswith("xxxx"):
        # "31 de març de 2023" is supported by a source's "31 de març" in a 2023 document.
        year, month_day = fact.key[:4], fact.key[4:]
        return f"xxxx{month_day}" in keys and year in plain_text
    if fact.kind == "date":
        # A day without year is supported by any source date on that day of the year.
        return any(key.endswith(fact.key[4:]) for key in keys)
    if fact.kind == "link":
        return fact.key.rstrip("/") in {k.rstrip("/") for k in keys}
    return False


def _quote(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_answer(text: str, sources: Sequence[Hit], links: LinkPolicy | None = None) -> list[str]:
    """Problems found in an LLM answer (empty list: the answer may be shown).

    `links`: the hosts links may go to (assistant/links.py); None checks only that each
    link is in a source."""
    if not text.strip():
        return ["the answer is empty"]
    if is_refusal(text):
        return []

    problems: list[str] = []
    cited = citations(text)
    valid = sorted({n for n in cited if 1 <= n <= len(sources)})
    for number in sorted(set(cited) - set(valid)):
        problems.append(f"citation [{number}] does not match any of the {len(sources)} sources")
    if not cited:
        problems.append("the answer cites no source")

    # What each source states, apart from its sentences addressed to the assistant or
    # the reader: those are data to ignore, never support for an answer.
    split = [split_instructions(source_haystack(hit)) for hit in sources]
    instructions = [
        (n, sentence) for n, part in enumerate(split, 1) for sentence in part.instructions
    ]
    # Facts must come from the sources the answer cites; with no valid citation (already
    # a problem) they are compared with all sources so the log names what is invented.
    cited_numbers = valid or list(range(1, len(sources) + 1))
    cited_hits = [sources[n - 1] for n in cited_numbers]
    cited_text = "\n".join(split[n - 1].facts for n in cited_numbers)
    cited_facts = set(extract_facts(cited_text))
    cited_facts.update(Fact("code", hit.codi, hit.codi) for hit in cited_hits if hit.codi)
    all_text = "\n".join(part.facts for part in split)
    all_facts = set(extract_facts(all_text))
    all_facts.update(Fact("code", hit.codi, hit.codi) for hit in sources if hit.codi)
    told_text = "\n".join(sentence for _, sentence in instructions)
    told_facts = set(extract_facts(told_text))

    answer = _CITATION.sub(" ", text)
    seen: set[tuple[str, str]] = set()
    for fact in extract_facts(answer):
        if fact.kind == "link" and links is not None and not links.allows(fact.shown):
            problems.append(f"link '{_quote(fact.shown)}' is not to an allowed host")
            seen.add((fact.kind, fact.key))
            continue
        if (fact.kind, fact.key) in seen or _supported(fact, cited_facts, cited_text):
            continue
        seen.add((fact.kind, fact.key))
        name = _KIND_NAMES[fact.kind]
        if _supported(fact, all_facts, all_text):
            problems.append(f"{name} '{fact.shown}' is only in sources the answer does not cite")
        elif _supported(fact, told_facts, told_text):
            problems.append(f"{name} '{fact.shown}' is only in an instruction inside a source")
        else:
            problems.append(f"{name} '{fact.shown}' is not in any source")

    # Named by marker and source number only: answer text may echo the question, which
    # is personal data and stays out of the logs.
    for sentence in sentences(answer):
        marker = instruction_marker(sentence)
        if marker is not None:
            problems.append(f"the answer is phrased as an instruction ('{marker}')")
            continue
        followed = next((n for n, told in instructions if restates(sentence, told)), None)
        if followed is not None:
            problems.append(f"the answer restates an instruction in source [{followed}]")
    return problems
