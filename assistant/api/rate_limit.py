"""Rate limits per client: a token bucket per client address and group of routes.

POST /api/ask and /api/ask/stream share the "ask" bucket; /api/search and /api/feedback
have their own (settings: `limits.ask`, `limits.search`, `limits.feedback`). A client
over its limit gets 429 with Retry-After and a Catalan sentence, before its body is read.

The client is the direct peer, unless that peer is a configured trusted proxy: then it is
the address that proxy names in `limits.client_ip_header` (X-Forwarded-For by default,
read from the right, skipping other trusted proxies). A header from anyone else is
ignored, so a client cannot pick its own address.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import SimpleNamespace

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from assistant.api.errors import json_error
from index_config.settings import LimitSettings, RateLimit

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# (method, path) -> bucket group
LIMITED_ROUTES: dict[tuple[str, str], str] = {
    ("POST", "/api/ask"): "ask",
    ("POST", "/api/ask/stream"): "ask",
    ("POST", "/api/search"): "search",
    ("POST", "/api/feedback"): "feedback",
}
# What the client's key is stored as in the request's scope, for the request log.
CLIENT_STATE_KEY = "client_address"


def too_many_message(seconds: int) -> str:
    wait = "un segon" if seconds == 1 else f"{seconds} segons"
    return (
        f"Heu enviat massa peticions en poc temps. Espereu {wait} i torneu-ho a provar, si us plau."
    )


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBucketLimiter:
    """Buckets of `limit.burst` tokens, refilled at `limit.per_minute`, one per key.

    At most `max_keys` buckets are kept: the least recently used is dropped first (a
    dropped client starts again with a full bucket). Called from the event loop only.
    """

    def __init__(
        self, limit: RateLimit, max_keys: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.capacity = float(limit.burst)
        self.rate = limit.per_minute / 60.0  # tokens per second
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def acquire(self, key: str) -> float:
        """Take one token for `key`: 0.0 when allowed, else the seconds until one is."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(self.capacity, now)
            self._buckets[key] = bucket
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or networks ("10.0.0.7", "10.0.0.0/8", "::1") as networks."""
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values)


def _address(value: str) -> Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _within(address: Address | None, networks: tuple[Network, ...]) -> bool:
    return address is not None and any(address in network for network in networks)


def client_address(scope: Scope, trusted: tuple[Network, ...], header: str) -> str:
    """The client's address (see the module docstring)."""
    peer = scope.get("client")
    peer_host = str(peer[0]) if peer else "unknown"
    if not trusted or not _within(_address(peer_host), trusted):
        return peer_host
    name = header.lower().encode("latin-1")
    values = [v.decode("latin-1") for k, v in scope.get("headers", ()) if k == name]
    hops = [hop for value in values for hop in value.split(",")]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break  # a malformed hop: nothing left of it can be trusted
        if not _within(address, trusted):
            return str(address)
    return peer_host


class RateLimitMiddleware:
    def __init__(
        self, app: ASGIApp, settings: LimitSettings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.app = app
        self.trusted = parse_networks(settings.trusted_proxies)
        self.exempt = parse_networks(settings.exempt)
        self.header = settings.client_ip_header
        self.limiters = {
            name: TokenBucketLimiter(getattr(settings, name), settings.max_clients, clock)
            for name in ("ask", "search", "feedback")
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = client_address(scope, self.trusted, self.header)
        scope.setdefault("state", {})[CLIENT_STATE_KEY] = client
        group = LIMITED_ROUTES.get((scope["method"], scope["path"]))
        if group is None or _within(_address(client), self.exempt):
            await self.app(scope, receive, send)
            return
        wait = self.limiters[group].acquire(client)
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        # Counted under its route template (always one of LIMITED_ROUTES), as if routed.
        scope["route"] = SimpleNamespace(path=scope["path"])
        request = Request(scope, receive)
        metrics = getattr(request.app.state, "metrics", None) if "app" in scope else None
        if metrics is not None:
            metrics.rate_limited.inc()
        seconds = max(1, math.ceil(wait))
        response = json_error(429, too_many_message(seconds), {"Retry-After": str(seconds)})
        await response(scope, receive, send)
