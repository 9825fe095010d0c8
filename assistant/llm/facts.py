"""Checkable facts in Catalan text: codes, amounts, dates, forms, phones, e-mails, links.

An LLM answer is only trusted when every such fact also appears in its sources, so each
fact is reduced to a normal form that does not depend on how it was written ("2.000 €",
"2000 euros"; "25%", "25 per cent"; "31 de març de 2023", "2023-03-31").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Literal

FactKind = Literal["code", "amount", "number", "date", "form", "phone", "email", "link"]


@dataclass(frozen=True)
class Fact:
    kind: FactKind
    key: str  # normal form, compared with the sources' facts
    shown: str  # as written, for log messages


MONTHS = {
    "gener": 1,
    "febrer": 2,
    "març": 3,
    "abril": 4,
    "maig": 5,
    "juny": 6,
    "juliol": 7,
    "agost": 8,
    "setembre": 9,
    "octubre": 10,
    "novembre": 11,
    "desembre": 12,
}

# Thousands are grouped with dots (or no-break spaces); decimals use a comma.
_NUMBER = r"\d{1,3}(?:[.\u00a0\u202f]\d{3})+(?:,\d+)?|\d+(?:[.,]\d+)?"
_AMOUNT = re.compile(
    rf"(?<![\d.,])(?P<num>{_NUMBER})\s*"
    r"(?P<mult>M(?=\s*(?:€|EUR))|milions?\s+d['’]|mil\s+(?=€|euros?\b|EUR\b))?\s*"
    r"(?P<unit>€|euros?\b|EUR\b|%|per\s?cent\b)",
    re.IGNORECASE,
)
_TEXT_DATE = re.compile(
    r"\b(?P<day>\d{1,2})r?\s+(?:de\s+|d['’]\s*)"
    rf"(?P<month>{'|'.join(MONTHS)})\b"
    r"(?:\s+(?:de|del)\s+(?P<year>\d{4}))?",
    re.IGNORECASE,
)
_ISO_DATE = re.compile(r"\b(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})\b")
_DMY_DATE = re.compile(r"\b(?P<day>\d{1,2})[/.](?P<month>\d{1,2})[/.](?P<year>\d{4})\b")
_FORM = re.compile(r"\bC4\s?[-‐‑–]\s?(?P<num>\d{1,3})\b", re.IGNORECASE)
# "C4-001 a C4-005", "C4-001 ... C4-005", "del C4-001 al C4-005": a range of forms.
_FORM_RANGE_GAP = re.compile(r"\s*(?:a|al|fins\s+al?|\.\.\.|…|–|-)\s*(?:el\s+)?", re.IGNORECASE)
_PHONE = re.compile(r"(?<![\d.,])(?:\+34\s?)?[6789]\d(?:[ .]?\d){7}(?![\d])")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_LINK = re.compile(r"\]\((?P<url>[^)\s]+)\)")
_URL = re.compile(r"https?://[^\s)\]>»\"']+")
# A number written with thousands dots outside an amount: "20.000 habitants", "entre
# 10.000 i 50.000 €". Bare four-digit numbers are left alone (mostly years).
_GROUPED_NUMBER = re.compile(r"(?<![\d.,])\d{1,3}(?:\.\d{3})+(?:,\d+)?(?![\d]|[.,]\d)")
_CODE = re.compile(r"(?<![\d.,/])\b\d{5}\b(?![.,]\d)")


def _number(raw: str) -> Decimal | None:
    """A Catalan-written number: dots or no-break spaces group thousands, comma decimals."""
    compact = raw.replace("\u00a0", ".").replace("\u202f", ".")
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?", compact):
        compact = compact.replace(".", "").replace(",", ".")
    else:
        compact = compact.replace(",", ".")
    try:
        return Decimal(compact)
    except InvalidOperation:
        return None


def _amount_key(match: re.Match[str]) -> str | None:
    value = _number(match.group("num"))
    if value is None:
        return None
    mult = (match.group("mult") or "").strip().lower()
    if mult == "m" or mult.startswith("milio"):
        value *= 1_000_000
    elif mult.startswith("mil"):
        value *= 1000
    unit = "%" if match.group("unit").lower().replace(" ", "") in ("%", "percent") else "€"
    return f"{format(value.normalize(), 'f')} {unit}"


def _date_key(year: str | None, month: int, day: str) -> str | None:
    if not 1 <= month <= 12 or not 1 <= int(day) <= 31:
        return None
    return f"{year or 'xxxx'}-{month:02d}-{int(day):02d}"


def _mask(text: str, match: re.Match[str]) -> str:
    """Blank a matched span so later extractors do not read its digits again."""
    start, end = match.span()
    return text[:start] + " " * (end - start) + text[end:]


def extract_facts(text: str) -> list[Fact]:
    """Every checkable fact in `text`, in the order: links, e-mails, amounts, dates, ..."""
    facts: list[Fact] = []
    work = text

    for match in list(_LINK.finditer(work)):
        facts.append(Fact("link", match.group("url").rstrip(".,;").lower(), match.group("url")))
        work = _mask(work, match)
    for match in list(_URL.finditer(work)):
        facts.append(Fact("link", match.group(0).rstrip(".,;").lower(), match.group(0)))
        work = _mask(work, match)
    for match in list(_EMAIL.finditer(work)):
        facts.append(Fact("email", match.group(0).lower(), match.group(0)))
        work = _mask(work, match)
    for match in list(_AMOUNT.finditer(work)):
        key = _amount_key(match)
        if key:
            facts.append(Fact("amount", key, match.group(0).strip()))
        work = _mask(work, match)
    for match in list(_TEXT_DATE.finditer(work)):
        month = MONTHS[match.group("month").lower()]
        key = _date_key(match.group("year"), month, match.group("day"))
        if key:
            facts.append(Fact("date", key, match.group(0)))
        work = _mask(work, match)
    for pattern in (_ISO_DATE, _DMY_DATE):
        for match in list(pattern.finditer(work)):
            key = _date_key(match.group("year"), int(match.group("month")), match.group("day"))
            if key:
                facts.append(Fact("date", key, match.group(0)))
            work = _mask(work, match)
    facts.extend(_forms(work))
    for match in list(_FORM.finditer(work)):
        work = _mask(work, match)
    for match in list(_PHONE.finditer(work)):
        digits = re.sub(r"\D", "", match.group(0))[-9:]
        facts.append(Fact("phone", digits, match.group(0)))
        work = _mask(work, match)
    for match in list(_GROUPED_NUMBER.finditer(work)):
        value = _number(match.group(0))
        if value is not None:
            facts.append(Fact("number", format(value.normalize(), "f"), match.group(0)))
        work = _mask(work, match)
    for match in _CODE.finditer(work):
        facts.append(Fact("code", match.group(0), match.group(0)))
    return facts


def _forms(text: str) -> list[Fact]:
    """Form codes, with written ranges expanded so "C4-001 a C4-005" supports C4-003."""
    matches = list(_FORM.finditer(text))
    facts = [Fact("form", f"C4-{int(m.group('num')):03d}", m.group(0)) for m in matches]
    for first, last in pairwise(matches):
        if _FORM_RANGE_GAP.fullmatch(text[first.end() : last.start()]):
            low, high = int(first.group("num")), int(last.group("num"))
            if 0 < high - low <= 20:
                facts.extend(
                    Fact("form", f"C4-{n:03d}", f"C4-{n:03d}") for n in range(low + 1, high)
                )
    return facts
