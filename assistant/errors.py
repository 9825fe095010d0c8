"""Domain errors. Messages are in Catalan because users read them; the API maps them to
HTTP status codes at its edge (never subclass HTTP exceptions here)."""

from assistant.models import FilterError


class ConcertaError(Exception):
    """Base class of Concerta's domain errors."""


class QueryError(ConcertaError, ValueError):
    """The question or query is empty, too long or otherwise unusable (Catalan message)."""


class NotFoundError(QueryError):
    """A conversation or answer the client named does not exist (or no longer does)."""


class IndexNotReadyError(ConcertaError):
    """No index version is available yet (run `concerta ingest`)."""


__all__ = ["ConcertaError", "FilterError", "IndexNotReadyError", "NotFoundError", "QueryError"]
