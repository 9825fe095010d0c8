"""POST /api/search: hybrid search over the catalogue and the regulations."""

from __future__ import annotations

from fastapi import APIRouter

from assistant.api.deps import ServiceDep
from assistant.api.operations import SearchLogDep
from assistant.api.schemas import SearchRequest, SearchResponse, error_responses
from assistant.models import Filters

router = APIRouter(prefix="/api", tags=["cerca"])


# A sync route: FastAPI runs it in the thread pool, so embedding and Qdrant (CPU-bound,
# blocking) never stall the event loop.
@router.post(
    "/search", response_model=SearchResponse, responses=error_responses(413, 422, 429, 503)
)
def search(body: SearchRequest, service: ServiceDep, searches: SearchLogDep) -> SearchResponse:
    """Search results (Hit) for a query, optionally filtered."""
    filters = body.filters.as_dict()
    Filters.parse(filters)  # reject bad filter values with a Catalan message first
    hits = service.search(body.query, top_k=body.top_k, filters=filters)
    searches.record(body.query, filters, len(hits))  # for the operators' report
    return SearchResponse(results=hits)
