"""Congruence: the in-memory VectorMirror returns what Qdrant local mode returns."""

from __future__ import annotations

import pytest

from assistant.evaluation.retrieval_eval import load_questions
from assistant.models import Filters
from assistant.retrieval.filters import to_haystack
from assistant.service import AssistantService
from index_config.settings import PROJECT_DIR

pytestmark = pytest.mark.integration
QUESTIONS = [q.question for q in load_questions(PROJECT_DIR / "data" / "questions-dev.jsonl")]
FILTERS = [
    None,
    Filters(kind="normativa"),
    Filters(tipologia="econòmic"),
    Filters.parse({"destinataris": "Consells comarcals", "obert_a": "2022-03-15"}),
]


@pytest.mark.parametrize("filters", FILTERS, ids=["none", "kind", "tipologia", "dest+obert"])
def test_mirror_and_qdrant_rank_alike(
    assistant_service: AssistantService, filters: Filters | None
) -> None:
    searcher = assistant_service.searcher
    assert searcher.index is not None
    opened = searcher.index.get()
    assert opened.mirror is not None
    haystack_filters = to_haystack(filters) if filters else None
    for question in QUESTIONS[:25]:
        dense_query = searcher._dense.run(text=question)["embedding"]
        sparse_query = searcher._sparse.run(text=question)["sparse_embedding"]
        for mine, theirs in (
            (
                opened.mirror.dense_search(dense_query, filters, 10),
                opened.dense.run(query_embedding=dense_query, filters=haystack_filters, top_k=10)[
                    "documents"
                ],
            ),
            (
                opened.mirror.sparse_search(sparse_query, filters, 10),
                opened.sparse.run(
                    query_sparse_embedding=sparse_query, filters=haystack_filters, top_k=10
                )["documents"],
            ),
        ):
            assert [round(d.score or 0, 4) for d in mine] == pytest.approx(
                [round(d.score or 0, 4) for d in theirs], rel=1e-3, abs=1e-3
            ), question
            # Equal scores may come in either order; the sets of ids must match otherwise.
            assert {d.id for d in mine} == {d.id for d in theirs} or len(
                {round(d.score or 0, 4) for d in theirs}
            ) < len(theirs), question
