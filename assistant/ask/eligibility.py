"""Eligibility: what the question says about who asks removes resources they cannot get.

A municipality of 50,000 inhabitants cannot receive a resource for "municipis de menys de
5.000 habitants"; a consell comarcal only what lists consells comarcals among its
recipients. Articles and FAQ entries apply to everyone and are kept.
"""

from __future__ import annotations

import re

from assistant.ask.analysis import QueryAnalysis
from assistant.models import Hit
from index_config.analyzer import fold

_NUMBER = r"(\d{1,3}(?:[.\s]\d{3})+|\d+)"


def _to_int(raw: str) -> int:
    return int(re.sub(r"[.\s]", "", raw))


def tram_verdict(tram: str, population: int) -> bool | None:
    """Whether a population band such as "Municipis de menys de 5.000 habitants" admits a
    municipality of `population` inhabitants; None when its wording says no band we read."""
    folded = fold(tram)
    numbers = [_to_int(n) for n in re.findall(_NUMBER, folded)]
    if "menys de" in folded and numbers:
        return population < numbers[0]
    if "fins a" in folded and numbers:
        return population <= numbers[0]
    if "mes de" in folded and numbers:
        return population > numbers[0]
    if len(numbers) >= 2 and " a " in folded:
        return numbers[0] <= population <= numbers[1]
    if not numbers and "tots" in folded:
        return True
    return None


def tram_allows(tram: str, population: int) -> bool:
    """tram_verdict, assuming an unread band admits everyone (eligibility never hides a
    resource on wording it cannot read)."""
    return tram_verdict(tram, population) is not False


def eligible(hit: Hit, analysis: QueryAnalysis) -> bool:
    if hit.kind != "recurs":
        return True
    meta = hit.metadata
    if analysis.population and not tram_allows(
        str(meta.get("tram_poblacio", "")), analysis.population
    ):
        return False
    return not (analysis.recipient and analysis.recipient not in (meta.get("destinataris") or []))
