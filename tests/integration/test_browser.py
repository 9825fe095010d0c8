"""The web front end in a real headless Chromium, on the real app and service.

Needs Debian's chromium at /usr/bin/chromium (`apt-get install -y chromium`); Playwright
drives it through its own protocol, never downloading a browser. Screenshots of each page
are left in /tmp/concerta-*.png for a person to look at.
"""

from __future__ import annotations

import json
import re
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from assistant.api import create_app
from assistant.service import AssistantService

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIFI_QUESTION = "Hi ha ajuts per posar wifi a la plaça?"
SHOTS = Path("/tmp")

if not CHROMIUM.exists():
    pytest.skip(
        "no /usr/bin/chromium: install it with `apt-get install -y chromium`",
        allow_module_level=True,
    )

sync_api = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def base_url(assistant_service: AssistantService) -> Iterator[str]:
    """The real app served by uvicorn on a free loopback port, in a background thread."""
    port = _free_port()
    config = uvicorn.Config(
        create_app(service=assistant_service), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="concerta-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=15)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class PageErrors:
    """JavaScript exceptions and console errors of one page (there must be none, except
    those a test announces in `expected`, e.g. the browser logging a 503 it was sent)."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.expected: list[str] = []

    def watch(self, page: Any) -> None:
        page.on("pageerror", lambda exc: self.messages.append(str(exc)))
        page.on(
            "console", lambda msg: self.messages.append(msg.text) if msg.type == "error" else None
        )

    def unexpected(self) -> list[str]:
        return [m for m in self.messages if not any(e in m for e in self.expected)]


@pytest.fixture
def page_errors() -> PageErrors:
    return PageErrors()


@pytest.fixture
def page(browser: Any, page_errors: PageErrors) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="ca-ES")
    page = context.new_page()
    page.set_default_timeout(60_000)  # a first answer on a busy 2-core machine
    page_errors.watch(page)
    yield page
    context.close()
    assert page_errors.unexpected() == []


def feedback_count(sqlite_path: Path) -> int:
    with closing(sqlite3.connect(sqlite_path)) as db:
        tables = [
            row[0]
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%feedback%'"
            )
        ]
        return sum(db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables)


def open_widget(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/demo")
    launcher = page.get_by_role("button", name="Obre l'assistent del Pla XGL")
    launcher.click()
    # The launcher hides behind the open panel; its state still says so to screen readers.
    assert page.locator(".cnc-launcher").get_attribute("aria-expanded") == "true"
    page.get_by_role("dialog", name="Assistent del Pla XGL").wait_for()


def ask(page: Any, question: str) -> tuple[Any, dict[str, Any]]:
    """Type a question and wait for the final answer; returns the message and request body."""
    box = page.get_by_label("Escriu la teva pregunta")
    box.fill(question)
    with page.expect_response("**/api/ask/stream") as response_info:
        box.press("Enter")
    response = response_info.value
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    message = page.locator(".cnc-msg-bot").last
    message.locator(".cnc-feedback").wait_for()
    return message, response.request.post_data_json


def test_widget_answers_with_sources_and_takes_feedback(
    page: Any, base_url: str, assistant_service: AssistantService
) -> None:
    open_widget(page, base_url)
    page.screenshot(path=str(SHOTS / "concerta-demo-open.png"))
    message, request = ask(page, WIFI_QUESTION)
    assert request["conversation_id"] is None

    answer = message.locator(".cnc-answer p").first.inner_text()
    assert len(answer) > 20
    card = message.locator(".cnc-source").filter(has_text="Codi 22133")
    assert card.count() == 1
    link = card.locator("a.cnc-source-title")
    assert link.get_attribute("href").startswith("http")
    assert link.get_attribute("target") == "_blank"
    # Nothing from the server is parsed as markup: no script or raw HTML in the answer.
    assert message.locator("script, iframe, img").count() == 0

    before = feedback_count(assistant_service.settings.sqlite_path)
    with page.expect_response("**/api/feedback") as feedback_info:
        message.get_by_role("button", name="Resposta útil").click()
    assert feedback_info.value.status == 200
    assert feedback_info.value.request.post_data_json["rating"] == 1
    message.get_by_text("Gràcies per la valoració.").wait_for()
    assert message.get_by_role("button", name="Resposta útil").get_attribute("aria-pressed") == (
        "true"
    )
    assert feedback_count(assistant_service.settings.sqlite_path) == before + 1
    page.screenshot(path=str(SHOTS / "concerta-demo-answer.png"))


def test_follow_up_then_new_conversation(page: Any, base_url: str) -> None:
    open_widget(page, base_url)
    _, first = ask(page, WIFI_QUESTION)
    assert first["conversation_id"] is None
    message, follow_up = ask(page, "I fins quan es pot demanar?")
    conversation_id = follow_up["conversation_id"]
    assert conversation_id  # the widget kept the id the first answer gave it
    assert message.locator(".cnc-source-meta", has_text="Codi 22133").count() == 1

    with page.expect_request(
        lambda r: r.method == "DELETE" and r.url.endswith(f"/api/conversations/{conversation_id}")
    ):
        page.get_by_role("button", name="Comença una conversa nova").click()
    assert page.locator(".cnc-msg-user").count() == 0
    page.get_by_text("Conversa nova. Què vols saber?").wait_for()
    _, fresh = ask(page, WIFI_QUESTION)
    assert fresh["conversation_id"] is None

    # Esc closes the panel and gives the focus back to the launcher.
    page.keyboard.press("Escape")
    assert page.get_by_role("dialog", name="Assistent del Pla XGL").is_hidden()
    launcher = page.get_by_role("button", name="Obre l'assistent del Pla XGL")
    assert launcher.evaluate("el => el.getRootNode().activeElement === el")


def test_widget_fits_a_phone(browser: Any, base_url: str) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        open_widget(page, base_url)
        ask(page, WIFI_QUESTION)
        panel = page.get_by_role("dialog", name="Assistent del Pla XGL").bounding_box()
        assert panel["x"] >= 0 and panel["x"] + panel["width"] <= 360
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.screenshot(path=str(SHOTS / "concerta-demo-phone.png"))
    finally:
        context.close()


def test_staff_search_with_a_filter(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/")
    page.get_by_label("Què vols cercar?").fill("ajuts per arreglar camins municipals")
    # Changing a filter searches at once; the click on Cerca searches again. Whatever the
    # order the two responses arrive in, the page must end showing the newest one.
    page.get_by_label("Tipologia").select_option("econòmic")
    with page.expect_request("**/api/search") as search_info:
        page.get_by_role("button", name="Cerca").click()
    assert search_info.value.post_data_json["filters"] == {"tipologia": "econòmic"}
    status = page.get_by_role("status")
    sync_api.expect(status).to_have_text(re.compile(r"\d+ resultats\.$"))
    sync_api.expect(page.locator("#result-list")).not_to_have_attribute("aria-busy", "true")
    cards = page.locator(".card")
    assert cards.count() > 0
    tipologies = {cards.nth(i).get_attribute("data-tipologia") for i in range(cards.count())}
    assert tipologies == {"econòmic"}
    first = cards.first
    assert first.locator(".card-title").inner_text()
    assert first.locator(".ref").inner_text().startswith("Codi ")
    assert first.locator(".source").inner_text().startswith("Font: ")
    page.screenshot(path=str(SHOTS / "concerta-staff.png"), full_page=True)

    # An empty query is refused in the page itself, in Catalan.
    page.get_by_label("Què vols cercar?").fill("   ")
    page.get_by_role("button", name="Cerca").click()
    assert page.get_by_role("alert").inner_text() == "Escriu què vols cercar."


def sse(*events: tuple[str, dict[str, Any]]) -> str:
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)


def test_widget_renders_only_the_markdown_subset(page: Any, base_url: str) -> None:
    """Hostile answer text stays text; the final event replaces the streamed draft.

    The stream is answered by the browser itself (page.route) because no real answer
    carries markup like this; everything else is the real page, widget and server.
    """
    hostile = (
        'Vegeu **el recurs** [1] i <img src=x onerror="window.pwned=1">.\n\n'
        "- primer punt amb [enllaç](https://cataleg.exemple.cat/recurs/22133)\n"
        "- segon punt [fals](javascript:alert(1))\n\n"
        "<script>window.pwned=2</script>"
    )
    source = {
        "id": "22133#0", "doc_id": "22133", "kind": "recurs", "title": "Wifi <b>públic</b>",
        "snippet": "", "score": 1.0, "url": "javascript:alert(3)", "source": "cataleg.jsonl",
        "codi": "22133", "article": None, "metadata": {},
    }  # fmt: skip
    final = {
        "answer": hostile, "grounded": True, "sources": [source],
        "conversation_id": "c-x", "message_id": "m-x",
    }  # fmt: skip
    body = sse(
        ("start", {"conversation_id": "c-x", "message_id": "m-x"}),
        ("delta", {"text": "Esborrany que serà substituït"}),
        ("sources", final),
    )
    page.route(
        "**/api/ask/stream",
        lambda route: route.fulfill(status=200, content_type="text/event-stream", body=body),
    )
    open_widget(page, base_url)
    message, _ = ask(page, "Prova de seguretat")
    answer = message.locator(".cnc-answer")
    assert "Esborrany" not in answer.inner_text()
    assert answer.locator("img, script, b").count() == 0
    assert page.evaluate("window.pwned === undefined")
    assert answer.locator("strong").inner_text() == "el recurs"
    assert answer.locator("ul > li").count() == 2
    links = answer.locator("p a, ul a")
    assert links.count() == 1  # the javascript: link is left as text
    assert links.first.get_attribute("href") == "https://cataleg.exemple.cat/recurs/22133"
    assert "<img" in answer.inner_text() and "fals" in answer.inner_text()
    assert answer.locator("button.cnc-cite").inner_text() == "[1]"
    card = message.locator(".cnc-source")
    assert card.locator("a").count() == 0  # a javascript: source url is not linked
    assert "Wifi <b>públic</b>" in card.inner_text()


def test_widget_shows_server_errors_in_catalan(
    page: Any, base_url: str, page_errors: PageErrors
) -> None:
    page_errors.expected.append("status of 503")
    detail = "L'assistent encara no està preparat: l'índex de documents no s'ha carregat."
    page.route(
        "**/api/ask/stream",
        lambda route: route.fulfill(
            status=503, content_type="application/json", body=json.dumps({"detail": detail})
        ),
    )
    open_widget(page, base_url)
    page.get_by_label("Escriu la teva pregunta").fill("Hi ha ajuts?")
    page.keyboard.press("Enter")
    alert = page.locator(".cnc-msg-error [role=alert]")
    alert.wait_for()
    assert alert.inner_text() == detail
    assert page.get_by_role("button", name="Envia").is_enabled()
