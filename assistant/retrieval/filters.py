"""Translate validated Filters into Haystack filter syntax for the Qdrant retrievers."""

from __future__ import annotations

from typing import Any

from assistant.models import Filters


def to_haystack(filters: Filters) -> dict[str, Any] | None:
    conditions: list[dict[str, Any]] = []
    for key in ("kind", "tipologia", "classe", "area", "destinataris", "any"):
        value = getattr(filters, key)
        if value is not None:
            # A list field (destinataris) matches when any element equals the value.
            conditions.append({"field": f"meta.{key}", "operator": "==", "value": value})
    if filters.obert_a is not None:
        day = int(filters.obert_a.strftime("%Y%m%d"))
        conditions.append({"field": "meta.termini_inici_num", "operator": "<=", "value": day})
        conditions.append({"field": "meta.termini_fi_num", "operator": ">=", "value": day})
    if not conditions:
        return None
    return {"operator": "AND", "conditions": conditions}
