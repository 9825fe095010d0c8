"""AssistantService: the one object the API, the widget, the bot and the CLI call.

(Interface first; the implementation is being filled in. Signatures are stable.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from assistant.models import Answer, Hit, StreamEvent
from index_config import Settings


class AssistantService:
    """Searches the index and answers questions, grounded and cited, in Catalan.

    Thread-safe for concurrent requests. Construct with `AssistantService(settings)` and
    call `warm_up()` once (loads the model and opens the current index version); `close()`
    at shutdown.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def warm_up(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def is_ready(self) -> bool:
        """True when the index is loaded and non-empty (GET /ready)."""
        raise NotImplementedError

    def search(
        self, query: str, top_k: int = 10, filters: dict[str, Any] | None = None
    ) -> list[Hit]:
        """Hybrid search; raises FilterError / QueryError (assistant.errors) on bad input."""
        raise NotImplementedError

    def ask(
        self,
        question: str,
        conversation_id: str | None = None,
        filters: dict[str, Any] | None = None,
    ) -> Answer:
        """Answer a question (a follow-up when conversation_id names an earlier one)."""
        raise NotImplementedError

    def ask_stream(
        self,
        question: str,
        conversation_id: str | None = None,
        filters: dict[str, Any] | None = None,
    ) -> Iterator[StreamEvent]:
        """The same answer as events: start, delta..., sources (see StreamEvent)."""
        raise NotImplementedError

    def feedback(
        self,
        conversation_id: str,
        rating: int,
        message_id: str | None = None,
        comment: str | None = None,
    ) -> None:
        """Store a thumbs up (1) or down (-1); raises QueryError for unknown ids or ratings."""
        raise NotImplementedError

    def reset_conversation(self, conversation_id: str) -> None:
        """Forget a conversation's context (bot /nova, widget 'nova conversa')."""
        raise NotImplementedError

    def resource(self, codi: str) -> Hit | None:
        """The full card of one catalogue resource by code (bot 'Més detalls')."""
        raise NotImplementedError

    def open_resources(self, on: dt.date | None = None, limit: int = 20) -> list[Hit]:
        """Catalogue resources whose application window contains `on` (default today)."""
        raise NotImplementedError
