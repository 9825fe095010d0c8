"""Which links copied from source text stay links: those to an allowlisted host.

Records and documents are data we do not write; a description can carry a phishing link
("[Formulari](https://phish.example/form)") or a `javascript:` one. The composer
(assistant/composer/answers.py `inert`) and the LLM answer check (assistant/llm/check.py)
let a link through only when it is plain http(s) to a host of the allowlist:
`CONCERTA_LINK_HOSTS` when set, otherwise the catalogue's own domains, i.e. the hosts of
the `url` fields of the catalogue resources in the served index (cataleg.exemple.cat in
the sample). Everything else is shown as text.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from index_config.store_errors import StoreError
from index_config.urls import SAFE_URL, url_host

# A link we are willing to render: http(s), a plain host name (no user info, no
# backslash, no spaces or quotes that browsers and parsers read differently), a path
# (index_config/urls.py).
_SAFE_URL = SAFE_URL


class LinkPolicy:
    """Allowed hosts; a link to one of them or to a subdomain of one is allowed."""

    def __init__(self, hosts: Iterable[str]) -> None:
        self.hosts = frozenset(h.strip().lower().rstrip(".") for h in hosts if h.strip())

    def __repr__(self) -> str:
        return f"LinkPolicy({sorted(self.hosts)})"

    def allows(self, url: str) -> bool:
        if not _SAFE_URL.fullmatch(url):
            return False
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
        return any(host == h or host.endswith("." + h) for h in self.hosts)


NO_LINKS = LinkPolicy(())


def catalogue_hosts(metas: Iterable[dict[str, Any]]) -> set[str]:
    """The hosts of the catalogue resources' own `url` fields."""
    hosts = set()
    for meta in metas:
        host = url_host(meta.get("url"))
        if meta.get("kind") == "recurs" and host:
            hosts.add(host)
    return hosts


class LinkAllowlist:
    """The link policy of the served index version (recomputed when a new one is served).

    `index` is the searcher's IndexHandle (anything with `peek()` returning an opened
    version with `.version` and `.store`), read lazily: it exists after warm-up.
    """

    def __init__(self, hosts: list[str] | None, index: Any) -> None:
        self._fixed = LinkPolicy(hosts) if hosts is not None else None
        self._index = index
        self._lock = threading.Lock()
        self._cached: tuple[str, LinkPolicy] | None = None

    def policy(self) -> LinkPolicy:
        if self._fixed is not None:
            return self._fixed
        index = self._index() if callable(self._index) else self._index
        opened = index.peek() if index is not None else None
        if opened is None:
            return NO_LINKS
        with self._lock:
            if self._cached is None or self._cached[0] != opened.version:
                recurs = {"field": "meta.kind", "operator": "==", "value": "recurs"}
                # Counted by the engine from its payload index; a version indexed before
                # `url_host` existed has none, and its resources' links are read instead.
                try:
                    hosts = {str(h) for h in opened.store.facet("meta.url_host", recurs)}
                except StoreError:  # no payload index for it in this version
                    hosts = set()
                if not hosts:
                    rows = opened.store.scan(["meta.url", "meta.kind"], recurs)
                    hosts = catalogue_hosts(row.get("meta") or {} for row in rows)
                policy = LinkPolicy(hosts)
                self._cached = (opened.version, policy)
            return self._cached[1]
