"""Where the bot gets its answers: the AssistantService in this process, or over HTTP.

The bot has no retrieval logic of its own; both backends return the shared models
(Answer, Hit) and raise the shared domain errors (assistant.errors), so handlers do
not care which one they talk to.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import quote

import httpx

from assistant.cards import CardList, ResourceCard, by_window, card_for, reference_date
from assistant.errors import ConcertaError, IndexNotReadyError, QueryError
from assistant.models import Answer, Hit
from index_config import Settings

if TYPE_CHECKING:  # the service pulls in the model stack; an HTTP-only bot never needs it
    from assistant.service import AssistantService


class BackendUnavailableError(ConcertaError):
    """The assistant could not be reached (the API is down or timed out)."""


class RateLimitedError(QueryError):
    """The API refused the request with 429: too many requests from the bot's address.

    A QueryError, so the handlers show its message to the user as it is."""


def rate_limited_message(retry_after: str | None) -> str:
    seconds = int(retry_after) if retry_after and retry_after.isdigit() else 0
    wait = (
        "un moment"
        if seconds <= 0
        else ("un segon" if seconds == 1 else f"{min(seconds, 3600)} segons")
    )
    return (
        "Ara mateix l'assistent rep moltes preguntes i no us pot respondre. "
        f"Espereu {wait} i torneu-ho a provar, si us plau."
    )


# What /obert lists: the windows open on the reference date and those opening next.
WINDOW_STATES = ("open", "all_year", "upcoming")


@runtime_checkable
class AssistantBackend(Protocol):
    """The few operations the bot needs from the assistant."""

    async def ask(
        self, question: str, conversation_id: str | None, focus: str | None = None
    ) -> Answer: ...

    async def search(self, query: str, top_k: int = 5) -> list[Hit]: ...

    async def feedback(
        self,
        conversation_id: str,
        rating: int,
        message_id: str | None = None,
        comment: str | None = None,
    ) -> None: ...

    async def card(self, codi: str) -> ResourceCard | None: ...

    async def window_cards(self, limit: int = 60) -> CardList: ...

    async def reset_conversation(self, conversation_id: str) -> None: ...

    async def aclose(self) -> None: ...


class InProcessBackend:
    """Wraps an AssistantService; its blocking calls run in worker threads.

    The service is thread-safe, so several chats are answered concurrently without
    blocking the event loop (which also serves the web app under `serve --telegram`).
    """

    def __init__(self, service: AssistantService, *, owns_service: bool = False) -> None:
        self.service = service
        self._owns_service = owns_service

    @classmethod
    def from_settings(cls, settings: Settings) -> InProcessBackend:
        """Build and warm up a service this backend owns (closed by aclose)."""
        from assistant.service import AssistantService

        service = AssistantService(settings)
        service.warm_up()
        return cls(service, owns_service=True)

    async def ask(
        self, question: str, conversation_id: str | None, focus: str | None = None
    ) -> Answer:
        return await asyncio.to_thread(self.service.ask, question, conversation_id, None, focus)

    async def search(self, query: str, top_k: int = 5) -> list[Hit]:
        return await asyncio.to_thread(self.service.search, query, top_k)

    async def feedback(
        self,
        conversation_id: str,
        rating: int,
        message_id: str | None = None,
        comment: str | None = None,
    ) -> None:
        await asyncio.to_thread(self.service.feedback, conversation_id, rating, message_id, comment)

    async def card(self, codi: str) -> ResourceCard | None:
        hit = await asyncio.to_thread(self.service.resource, codi)
        return card_for(hit, self.service.today()) if hit is not None else None

    async def window_cards(self, limit: int = 60) -> CardList:
        """Resources open on the reference date, then those opening next."""
        today = self.service.today()
        hits = await asyncio.to_thread(self.service.catalogue_resources)
        cards = by_window([card_for(h, today) for h in hits])
        chosen = [c for c in cards if c.window.state in WINDOW_STATES][:limit]
        fixed = self.service.settings.today is not None
        return CardList(reference_date=reference_date(today, fixed), cards=chosen)

    async def reset_conversation(self, conversation_id: str) -> None:
        await asyncio.to_thread(self.service.reset_conversation, conversation_id)

    async def aclose(self) -> None:
        if self._owns_service:
            await asyncio.to_thread(self.service.close)


class HttpBackend:
    """Talks to a running `concerta serve` (CONCERTA_API_URL) with the public HTTP API."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._transport = transport
        # Created on first use so it belongs to the event loop that runs the bot.
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=self.base_url, timeout=self._timeout, transport=self._transport
            )
        return self._client

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http().request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise BackendUnavailableError(
                f"No s'ha pogut connectar amb l'API de Concerta ({type(exc).__name__})."
            ) from exc
        if response.status_code == 429:
            raise RateLimitedError(rate_limited_message(response.headers.get("Retry-After")))
        if response.status_code in (400, 413, 422):
            raise QueryError(_detail(response) or "La consulta no és vàlida.")
        if response.status_code == 503:
            raise IndexNotReadyError(_detail(response) or "L'índex no està preparat.")
        if response.status_code >= 500:
            raise BackendUnavailableError(f"L'API de Concerta ha fallat ({response.status_code}).")
        return response

    async def ask(
        self, question: str, conversation_id: str | None, focus: str | None = None
    ) -> Answer:
        body: dict[str, Any] = {
            "question": question,
            "conversation_id": conversation_id,
            "filters": {},
        }
        if focus is not None:
            body["focus"] = focus
        response = await self._request("POST", "/api/ask", json=body)
        response.raise_for_status()
        return Answer.model_validate(response.json())

    async def search(self, query: str, top_k: int = 5) -> list[Hit]:
        body = {"query": query, "top_k": top_k, "filters": {}}
        response = await self._request("POST", "/api/search", json=body)
        response.raise_for_status()
        return [Hit.model_validate(hit) for hit in response.json()["results"]]

    async def feedback(
        self,
        conversation_id: str,
        rating: int,
        message_id: str | None = None,
        comment: str | None = None,
    ) -> None:
        body: dict[str, Any] = {"conversation_id": conversation_id, "rating": rating}
        if message_id is not None:
            body["message_id"] = message_id
        if comment is not None:
            body["comment"] = comment
        response = await self._request("POST", "/api/feedback", json=body)
        if response.status_code == 404:
            raise QueryError(_detail(response) or "Conversa desconeguda.")
        response.raise_for_status()

    async def card(self, codi: str) -> ResourceCard | None:
        if not (codi.isdigit() and len(codi) == 5):
            return None
        response = await self._request("GET", "/api/cards", params={"codi": codi})
        response.raise_for_status()
        cards = CardList.model_validate(response.json()).cards
        return cards[0] if cards else None

    async def window_cards(self, limit: int = 60) -> CardList:
        params: list[tuple[str, str | int]] = [("state", s) for s in WINDOW_STATES]
        response = await self._request("GET", "/api/cards", params=[*params, ("limit", limit)])
        response.raise_for_status()
        return CardList.model_validate(response.json())

    async def reset_conversation(self, conversation_id: str) -> None:
        response = await self._request(
            "DELETE", f"/api/conversations/{quote(conversation_id, safe='')}"
        )
        if response.status_code != 404:  # already forgotten is fine
            response.raise_for_status()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _detail(response: httpx.Response) -> str | None:
    # FastAPI errors carry {"detail": str | [...]}; only a string is worth showing.
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return None
    return detail if isinstance(detail, str) else None


def backend_from_settings(settings: Settings) -> AssistantBackend:
    """HTTP when CONCERTA_API_URL is set, otherwise an in-process service."""
    if settings.api_url:
        return HttpBackend(settings.api_url)
    return InProcessBackend.from_settings(settings)
