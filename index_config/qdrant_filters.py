"""Haystack filter dicts -> Qdrant filters, for Qdrant Edge and for qdrant-client.

The project speaks Haystack's filter syntax (assistant/retrieval/filters.py); each engine
has its own filter classes with the same meaning. One translator walks the filter and a
small builder per engine makes the objects, so both engines get the same conditions.

Supported: AND / OR / NOT; ==, !=, in, not in on keywords, integers and booleans (on a
list field, == matches when any element is equal, as in Qdrant); >, >=, <, <= on numbers;
the field "id" (chunk ids, matched by point id).
"""

from __future__ import annotations

from typing import Any, Protocol

from index_config.points import point_id
from index_config.store_errors import StoreError


class FilterSyntaxError(StoreError, ValueError):
    """A filter the translator does not understand (a programming error, not user input)."""


class FilterBuilder(Protocol):
    def match(self, key: str, value: Any) -> Any: ...
    def match_any(self, key: str, values: list[Any]) -> Any: ...
    def is_null(self, key: str) -> Any: ...
    def range(self, key: str, bounds: dict[str, float]) -> Any: ...
    def has_id(self, ids: list[str]) -> Any: ...
    def combine(self, must: list[Any], should: list[Any], must_not: list[Any]) -> Any: ...


_RANGES = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}


def translate(filters: dict[str, Any] | None, builder: FilterBuilder) -> Any:
    """The engine filter for a Haystack filter dict (None for no filter)."""
    if not filters:
        return None
    must, should, must_not = _clause(filters, builder)
    return builder.combine(must, should, must_not)


Clause = tuple[list[Any], list[Any], list[Any]]


def _conjunction(clauses: list[Clause], b: FilterBuilder) -> Clause:
    """AND of clauses, flat where it can be: musts and must-nots add up; a clause with
    alternatives (should) stays a nested filter of its own."""
    must: list[Any] = []
    must_not: list[Any] = []
    for m, s, n in clauses:
        if s:
            must.append(b.combine(m, s, n))
        else:
            must.extend(m)
            must_not.extend(n)
    return must, [], must_not


def _single(clause: Clause, b: FilterBuilder) -> Any:
    """One condition for a clause: the condition itself when it is a single must."""
    must, should, must_not = clause
    if len(must) == 1 and not should and not must_not:
        return must[0]
    return b.combine(must, should, must_not)


def _key(field: str) -> str:
    if field.startswith("meta.") or field in ("content", "id"):
        return field
    # Haystack allows bare meta names; the payload keeps them under "meta".
    return f"meta.{field}"


def _clause(f: dict[str, Any], b: FilterBuilder) -> Clause:
    """(must, should, must_not) lists that express `f` inside one Qdrant filter."""
    if "operator" not in f:
        raise FilterSyntaxError(f"filter without operator: {f!r}")
    op = f["operator"]
    if "conditions" in f:
        if op not in ("AND", "OR", "NOT"):
            raise FilterSyntaxError(f"unknown logical operator {op!r}")
        conjunction = _conjunction([_clause(c, b) for c in f["conditions"]], b)
        if op == "AND":
            return conjunction
        single = _single(conjunction, b)
        if op == "NOT":
            # NOT (a AND b): not all of the conditions together.
            return [], [], [single]
        return [], [_single(_clause(c, b), b) for c in f["conditions"]], []
    field, value = f.get("field"), f.get("value")
    if not isinstance(field, str):
        raise FilterSyntaxError(f"filter without field: {f!r}")
    key = _key(field)
    if key == "id":
        ids = value if isinstance(value, list) else [value]
        condition = b.has_id([point_id(str(v)) for v in ids])
        if op in ("==", "in"):
            return [condition], [], []
        if op in ("!=", "not in"):
            return [], [], [condition]
        raise FilterSyntaxError(f"operator {op!r} is not supported on id")
    if op == "==":
        return [b.is_null(key) if value is None else b.match(key, value)], [], []
    if op == "!=":
        return [], [], [b.is_null(key) if value is None else b.match(key, value)]
    if op in ("in", "not in"):
        if not isinstance(value, list):
            raise FilterSyntaxError(f"'{op}' needs a list: {f!r}")
        condition = b.match_any(key, value)
        return ([condition], [], []) if op == "in" else ([], [], [condition])
    if op in _RANGES:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise FilterSyntaxError(f"'{op}' needs a number: {f!r}")
        return [b.range(key, {_RANGES[op]: value})], [], []
    raise FilterSyntaxError(f"unknown comparison operator {op!r}")


class EdgeFilterBuilder:
    """Qdrant Edge's filter classes (qdrant_edge)."""

    def __init__(self) -> None:
        import qdrant_edge

        self.q = qdrant_edge

    def match(self, key: str, value: Any) -> Any:
        return self.q.FieldCondition(key, match=self.q.MatchValue(value))

    def match_any(self, key: str, values: list[Any]) -> Any:
        return self.q.FieldCondition(key, match=self.q.MatchAny(values))

    def is_null(self, key: str) -> Any:
        return self.q.IsNullCondition(key)

    def range(self, key: str, bounds: dict[str, float]) -> Any:
        return self.q.FieldCondition(key, range=self.q.RangeFloat(**bounds))

    def has_id(self, ids: list[str]) -> Any:
        import uuid

        return self.q.HasIdCondition({uuid.UUID(i) for i in ids})

    def combine(self, must: list[Any], should: list[Any], must_not: list[Any]) -> Any:
        return self.q.Filter(must=must or None, should=should or None, must_not=must_not or None)


class ClientFilterBuilder:
    """qdrant-client's models (a Qdrant server, or local mode as its reference)."""

    def __init__(self) -> None:
        from qdrant_client.http import models

        self.m = models

    def match(self, key: str, value: Any) -> Any:
        return self.m.FieldCondition(key=key, match=self.m.MatchValue(value=value))

    def match_any(self, key: str, values: list[Any]) -> Any:
        return self.m.FieldCondition(key=key, match=self.m.MatchAny(any=values))

    def is_null(self, key: str) -> Any:
        return self.m.IsNullCondition(is_null=self.m.PayloadField(key=key))

    def range(self, key: str, bounds: dict[str, float]) -> Any:
        return self.m.FieldCondition(key=key, range=self.m.Range(**bounds))

    def has_id(self, ids: list[str]) -> Any:
        return self.m.HasIdCondition(has_id=list(ids))

    def combine(self, must: list[Any], should: list[Any], must_not: list[Any]) -> Any:
        return self.m.Filter(must=must or None, should=should or None, must_not=must_not or None)
