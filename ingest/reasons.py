"""Why a source could not be indexed, in Catalan, for the people who read `concerta ingest`.

The converters, ingest/sources.py and ingest/job.py name each failure in English (their
messages are matched by tests and read in operators' logs); the command line shows the
person running it the same reason in Catalan. Every message those modules raise has a
pattern here; tests/unit/test_register.py checks that none is left untranslated.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]


def _rule(pattern: str, render: str | Callable[[re.Match[str]], str]) -> Rule:
    compiled = re.compile(pattern + r"$", re.IGNORECASE | re.DOTALL)
    if isinstance(render, str):
        text = render
        return compiled, lambda m: m.expand(text)
    return compiled, render


_FIELD_MESSAGES = (
    ("String should match pattern", "no té el format esperat"),
    ("String should have at least", "és massa curt"),
    ("Input should be a valid integer", "ha de ser un nombre enter"),
    ("Input should be a valid string", "ha de ser un text"),
    ("Input should be a valid list", "ha de ser una llista"),
    ("Input should be a valid date", "ha de ser una data (AAAA-MM-DD)"),
    ("Input should be", "no té un valor admès"),
)


def _field(m: re.Match[str]) -> str:
    field, message = m.group("field"), m.group("msg")
    if message.startswith("Field required"):
        return f"falta el camp «{field}»"
    said = next((cat for eng, cat in _FIELD_MESSAGES if message.startswith(eng)), "no és vàlid")
    return f"el camp «{field}» {said}"


RULES: tuple[Rule, ...] = (
    _rule(r"no such file or directory", "no existeix aquest fitxer ni aquesta carpeta"),
    _rule(r"cannot read file \((?P<why>.*)\)", r"no s'ha pogut llegir el fitxer (\g<why>)"),
    _rule(r"cannot fetch URL \((?P<why>.*)\)", r"no s'ha pogut descarregar l'adreça (\g<why>)"),
    _rule(r"empty file", "el fitxer és buit"),
    _rule(r"unsupported file type '(?P<ext>.*)'", r"tipus de fitxer no admès («\g<ext>»)"),
    _rule(r"no text sections found", "no s'hi ha trobat cap secció de text"),
    _rule(r"not a readable DOCX \((?P<why>.*)\)", r"no és un DOCX llegible (\g<why>)"),
    _rule(r"DOCX has no text", "el DOCX no té text"),
    _rule(r"binary data, not text", "són dades binàries, no text"),
    _rule(
        r"unreadable text encoding \(expected UTF-8\)",
        "codificació de text il·legible (s'esperava UTF-8)",
    ),
    _rule(r"empty Markdown document", "el document Markdown és buit"),
    _rule(r"empty text file", "el fitxer de text és buit"),
    _rule(r"HTML is neither UTF-8 nor Windows-1252", "l'HTML no és ni UTF-8 ni Windows-1252"),
    _rule(r"HTML has no body", "l'HTML no té cos (body)"),
    _rule(r"HTML has no main text", "l'HTML no té text principal"),
    _rule(r"PDF is encrypted", "el PDF està xifrat"),
    _rule(r"not a readable PDF \((?P<why>.*)\)", r"no és un PDF llegible (\g<why>)"),
    _rule(
        r"PDF has no extractable text \(scanned image\?\)",
        "del PDF no se'n pot extreure text (és una imatge escanejada?)",
    ),
    _rule(r"catalogue file has no records", "el fitxer del catàleg no té cap registre"),
    _rule(r"(?:line (?P<n>\d+): )?not a JSON object", "no és un objecte JSON"),
    _rule(r"(?:line (?P<n>\d+): )?invalid JSON \((?P<why>.*)\)", r"JSON no vàlid (\g<why>)"),
    _rule(r"(?:line (?P<n>\d+): )?invalid field '(?P<field>[^']*)': (?P<msg>.*)", _field),
    _rule(r"(?:line (?P<n>\d+): )?duplicate codi (?P<codi>\S+)", r"codi repetit (\g<codi>)"),
    _rule(
        r"duplicate document id (?P<doc>\S+)",
        r"document repetit (\g<doc>): ja s'ha indexat des d'un altre fitxer",
    ),
    _rule(
        r"another ingest is running on (?P<dir>.*)",
        r"ja hi ha una altra indexació en marxa a \g<dir>",
    ),
)


def catalan_reason(reason: str) -> str:
    """The Catalan words for an ingest failure reason (unknown ones are left as they are)."""
    text = reason.strip()
    for pattern, render in RULES:
        match = pattern.match(text)
        if match:
            return render(match)
    return text


def is_translated(reason: str) -> bool:
    return any(pattern.match(reason.strip()) for pattern, _ in RULES)
