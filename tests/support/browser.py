"""What the browser tests share: headless Chromium (Debian's), a dated service, pages served
under a strict Content-Security-Policy with no way out to the internet, page errors and
axe-core.

Every document is served with the CSP that the security headers will impose (no inline
script or style), and every request to a host other than the test server is refused and
recorded: a page that works here works offline and under that policy.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from assistant.conversation import ConversationStore
from assistant.service import AssistantService
from index_config import Settings
from tests.conftest import make_settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip
AXE = Path(__file__).resolve().parent / "axe.min.js"
SHOTS = Path("/tmp")
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
# The sample catalogue is 2022's; on this date some windows are open and others opening.
REFERENCE_DATE = dt.date(2022, 3, 1)
REFERENCE_TEXT = "1 de març de 2022"
# axe-core, injected through the DevTools protocol, tries inline styles of its own.
AXE_CSP_NOISE = "Applying inline style violates the following Content Security Policy"


@contextmanager
def dated_service(
    assistant_service: AssistantService, data_dir: Path, today: dt.date = REFERENCE_DATE
) -> Iterator[AssistantService]:
    """A service on the session index whose reference date is fixed (CONCERTA_TODAY),
    with a conversation store of its own."""
    settings: Settings = make_settings(data_dir, today=today)
    service = AssistantService(settings, searcher=assistant_service.searcher)
    store = service.conversations = ConversationStore(settings.sqlite_path)
    try:
        yield service
    finally:
        store.close()


class PageWatch:
    """JavaScript exceptions, console errors and requests that tried to leave the machine
    (there must be none, except errors a test announces in `expected`)."""

    def __init__(self, page: Any, base_url: str) -> None:
        self.messages: list[str] = []
        self.expected: list[str] = []
        self.external: list[str] = []
        self._host = urlsplit(base_url).netloc
        page.on("pageerror", lambda exc: self.messages.append(str(exc)))
        page.on("console", lambda m: self.messages.append(m.text) if m.type == "error" else None)
        page.route("**/*", self._route)

    def _route(self, route: Any) -> None:
        request = route.request
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https") and parts.netloc != self._host:
            self.external.append(request.url)
            route.abort("internetdisconnected")
            return
        if request.resource_type != "document":
            route.continue_()
            return
        response = route.fetch()
        headers = {**response.headers, "content-security-policy": CSP}
        route.fulfill(response=response, headers=headers)

    def unexpected(self) -> list[str]:
        return [m for m in self.messages if not any(e in m for e in self.expected)]


# How long a page action or an assertion may wait: a first answer on a busy 2-core machine.
PAGE_TIMEOUT_MS = 60_000


def new_page(browser: Any, base_url: str, **options: Any) -> tuple[Any, Any, PageWatch]:
    options.setdefault("viewport", {"width": 1280, "height": 860})
    context = browser.new_context(locale="ca-ES", **options)
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    return context, page, PageWatch(page, base_url)


def axe_violations(page: Any, watch: PageWatch | None = None) -> list[dict[str, Any]]:
    """axe-core's violations above "minor", across shadow roots. Evaluated through the
    DevTools protocol, which the page's CSP does not govern."""
    if watch is not None and AXE_CSP_NOISE not in watch.expected:
        watch.expected.append(AXE_CSP_NOISE)
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result["violations"]
        if v["impact"] in ("moderate", "serious", "critical")
    ]


FILE_NAME = re.compile(r"[\w-]+\.(?:pdf|docx|jsonl|html|csv|md|txt)\b", re.IGNORECASE)


def file_names_in(text: str) -> list[str]:
    """Source file names a person would see ("cataleg-2022.jsonl", "regim-....pdf")."""
    return FILE_NAME.findall(text)
