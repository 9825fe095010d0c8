"""POST /api/search: hybrid search over the catalogue and the regulations."""

from __future__ import annotations

from fastapi import APIRouter

from assistant.api.deps import ServiceDep
from assistant.api.operations import SearchLogDep
from assistant.api.schemas import SearchRequest, SearchResponse
from assistant.models import Filters

router = APIRouter(prefix="/api", tags=["cerca"])


# A sync route: FastAPI runs it in the thread pool, so embedding and Qdrant (CPU-bound,
# blocking) never stall the event loop.
@router.post("/search", response_model=SearchResponse)
def search(body: SearchRequest, service: ServiceDep, searches: SearchLogDep) -> SearchResponse:
    """Search results (Hit) for a query, optionally filtered."""
    Filters.parse(body.filters)  # reject unknown filters with a Catalan message first
    hits = service.search(body.query, top_k=body.top_k, filters=body.filters)
    searches.record(body.query, body.filters, len(hits))  # for the operators' report
    return SearchResponse(results=hits)
