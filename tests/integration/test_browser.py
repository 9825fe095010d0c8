"""The chat widget in a real headless Chromium, on the real app and service.

Needs Debian's chromium at /usr/bin/chromium (`make system-deps`); Playwright drives it
through its own protocol, never downloading a browser. Every page is served under a strict
Content-Security-Policy, no request may leave the machine, and the service's reference
date is fixed (CONCERTA_TODAY=2022-03-01, as `make demo` does). Tests wait on state
(locators, responses, `expect`), never on time. Screenshots are left in /tmp/concerta-*.png.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from assistant.api import create_app
from assistant.service import AssistantService
from tests.support.browser import (
    CHROMIUM,
    PAGE_TIMEOUT_MS,
    REFERENCE_TEXT,
    SHOTS,
    PageWatch,
    axe_violations,
    dated_service,
    file_names_in,
    new_page,
)
from tests.support.live_server import serving

pytestmark = pytest.mark.integration

WIFI_QUESTION = "Hi ha ajuts per posar wifi a la plaça?"
LIST_QUESTION = "Quins ajuts hi ha per a equipaments municipals?"
STORAGE_PREFIX = "concerta-widget:"

if not CHROMIUM.exists():
    pytest.skip("no /usr/bin/chromium: run `make system-deps`", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


@pytest.fixture(scope="module")
def service(
    assistant_service: AssistantService, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AssistantService]:
    with dated_service(assistant_service, tmp_path_factory.mktemp("widget")) as dated:
        yield dated


@pytest.fixture(scope="module")
def base_url(service: AssistantService) -> Iterator[str]:
    with serving(create_app(service=service)) as url:
        yield url


@pytest.fixture
def watched(browser: Any, base_url: str) -> Iterator[tuple[Any, PageWatch]]:
    context, page, watch = new_page(browser, base_url)
    yield page, watch
    context.close()
    assert watch.unexpected() == []
    assert watch.external == []


@pytest.fixture
def page(watched: tuple[Any, PageWatch]) -> Any:
    return watched[0]


def feedback_count(sqlite_path: Path) -> int:
    with closing(sqlite3.connect(sqlite_path)) as db:
        tables = [
            row[0]
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%feedback%'"
            )
        ]
        return sum(db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables)


def panel(page: Any) -> Any:
    return page.get_by_role("dialog", name="Assistent del Pla XGL")


def open_widget(page: Any, base_url: str, path: str = "/demo") -> None:
    page.goto(f"{base_url}{path}")
    page.get_by_role("button", name="Obre l'assistent del Pla XGL").click()
    # The launcher hides behind the open panel; its state still says so to screen readers.
    assert page.locator(".cnc-launcher").get_attribute("aria-expanded") == "true"
    panel(page).wait_for()


def ask(page: Any, question: str) -> tuple[Any, dict[str, Any]]:
    """Type a question and wait for the final answer; returns the message and request body."""
    box = page.get_by_label("Escriviu la vostra pregunta")
    box.fill(question)
    answered = page.locator(".cnc-msg-bot .cnc-feedback").count()
    with page.expect_response("**/api/ask/stream") as response_info:
        box.press("Enter")
    response = response_info.value
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    expect(page.locator(".cnc-msg-bot .cnc-feedback")).to_have_count(answered + 1)
    return page.locator(".cnc-msg-bot").last, response.request.post_data_json


def stored(page: Any) -> dict[str, Any] | None:
    raw = page.evaluate(
        "(() => { const k = Object.keys(sessionStorage).find(k => k.startsWith("
        f"{json.dumps(STORAGE_PREFIX)})); return k ? sessionStorage.getItem(k) : null; }})()"
    )
    return json.loads(raw) if raw else None


def test_widget_answers_with_sources_and_takes_feedback(
    page: Any, base_url: str, service: AssistantService
) -> None:
    open_widget(page, base_url)
    page.screenshot(path=str(SHOTS / "concerta-demo-open.png"))
    # The reference date in use is said in the panel.
    expect(panel(page).get_by_text(f"Data de referència: {REFERENCE_TEXT}")).to_be_visible()
    message, request = ask(page, WIFI_QUESTION)
    assert request["conversation_id"] is None

    answer = message.locator(".cnc-answer p").first.inner_text()
    assert len(answer) > 20
    # The window in the answer and on the source card is the card's, on the reference date.
    expect(message.locator(".cnc-answer li", has_text="Termini de sol·licitud")).to_have_text(
        re.compile(r"s'obre el 15 de març de 2022")
    )
    card = message.locator(".cnc-source").filter(has_text="Codi 22133")
    expect(card).to_have_count(1)
    expect(card.locator(".cnc-source-meta")).to_have_text("Codi 22133 · Catàleg de serveis 2022")
    expect(card.locator(".cnc-window")).to_have_text("Termini: s'obre el 15 de març de 2022")
    link = card.locator("a.cnc-source-title")
    assert link.get_attribute("href").startswith("http")
    assert link.get_attribute("target") == "_blank"
    # Contacts are links that call or write, in the answer and on the card.
    for scope in (message.locator(".cnc-answer > ul"), card):
        expect(scope.locator('a[href="tel:+34934001770"]')).to_have_text("93 400 17 70")
        mail = scope.locator('a[href="mailto:connectivitat@exemple.cat"]')
        expect(mail).to_have_text("connectivitat@exemple.cat")
        assert mail.get_attribute("target") is None
    assert file_names_in(message.inner_text()) == []
    # Nothing from the server is parsed as markup: no script or raw HTML in the answer.
    assert message.locator("script, iframe, img").count() == 0

    before = feedback_count(service.settings.sqlite_path)
    with page.expect_response("**/api/feedback") as feedback_info:
        message.get_by_role("button", name="Resposta útil").click()
    assert feedback_info.value.status == 200
    assert feedback_info.value.request.post_data_json["rating"] == 1
    message.get_by_text("Gràcies per la valoració.").wait_for()
    expect(message.get_by_role("button", name="Resposta útil")).to_have_attribute(
        "aria-pressed", "true"
    )
    assert feedback_count(service.settings.sqlite_path) == before + 1
    page.screenshot(path=str(SHOTS / "concerta-demo-answer.png"))


def test_follow_up_then_new_conversation(page: Any, base_url: str) -> None:
    open_widget(page, base_url)
    _, first = ask(page, WIFI_QUESTION)
    assert first["conversation_id"] is None
    message, follow_up = ask(page, "I fins quan es pot demanar?")
    conversation_id = follow_up["conversation_id"]
    assert conversation_id  # the widget kept the id the first answer gave it
    expect(message.locator(".cnc-source-meta", has_text="Codi 22133")).to_have_count(1)

    with page.expect_request(
        lambda r: r.method == "DELETE" and r.url.endswith(f"/api/conversations/{conversation_id}")
    ):
        page.get_by_role("button", name="Nova conversa").click()
    expect(page.locator(".cnc-msg-user")).to_have_count(0)
    page.get_by_text("Conversa nova. Què voleu saber?").wait_for()
    stored_now = stored(page)
    assert stored_now is not None and stored_now["turns"] == []
    assert stored_now["conversationId"] is None
    _, fresh = ask(page, WIFI_QUESTION)
    assert fresh["conversation_id"] is None

    # Esc closes the panel and gives the focus back to the launcher.
    page.keyboard.press("Escape")
    expect(panel(page)).to_be_hidden()
    launcher = page.get_by_role("button", name="Obre l'assistent del Pla XGL")
    assert launcher.evaluate("el => el.getRootNode().activeElement === el")


@pytest.fixture
def slow_closing(
    assistant_service: AssistantService, tmp_path: Path
) -> Iterator[tuple[str, threading.Event]]:
    """A server whose answer streams stay open after their last event until released, as
    a busy server's do: the end of a stream may come seconds after the answer."""
    release = threading.Event()
    with dated_service(assistant_service, tmp_path) as service:
        streams = service.ask_stream

        def held_open(*args: Any, **kwargs: Any) -> Iterator[Any]:
            yield from streams(*args, **kwargs)
            release.wait(timeout=PAGE_TIMEOUT_MS / 1000)

        service.ask_stream = held_open  # type: ignore[method-assign]
        with serving(create_app(service=service)) as url:
            try:
                yield url, release
            finally:
                release.set()  # before the server stops: it waits for open responses


def test_the_next_question_goes_as_soon_as_the_answer_is_shown(
    browser: Any, slow_closing: tuple[str, threading.Event]
) -> None:
    url, release = slow_closing
    context, page, watch = new_page(browser, url)
    try:
        open_widget(page, url)
        ask(page, WIFI_QUESTION)
        # The answer is complete though its stream has not ended: the widget takes the next
        # question (a question sent now was once dropped without a word).
        assert page.get_by_role("button", name="Envia").is_enabled()
        _, follow_up = ask(page, "I fins quan es pot demanar?")
        assert follow_up["conversation_id"]
        expect(page.locator(".cnc-msg-bot .cnc-feedback")).to_have_count(2)
    finally:
        release.set()
        context.close()
    assert watch.unexpected() == []
    assert watch.external == []


def test_a_conversation_survives_a_reload_and_other_pages(page: Any, base_url: str) -> None:
    open_widget(page, base_url)
    ask(page, WIFI_QUESTION)
    saved = stored(page)
    assert saved is not None and saved["conversationId"]
    conversation_id = saved["conversationId"]

    page.reload()
    # The panel comes back open with the turns shown, and the server's id is kept.
    expect(panel(page)).to_be_visible()
    expect(page.locator(".cnc-msg-user p")).to_have_text([WIFI_QUESTION])
    restored = page.locator(".cnc-msg-bot").filter(has=page.locator(".cnc-feedback"))
    expect(restored).to_have_count(1)
    expect(restored.locator(".cnc-source-meta", has_text="Codi 22133")).to_have_count(1)
    _, follow_up = ask(page, "I fins quan es pot demanar?")
    assert follow_up["conversation_id"] == conversation_id

    # Another page of the portal: the same conversation.
    page.get_by_role("link", name="Tràmits").click()
    page.wait_for_url(re.compile(r"/demo\?seccio=tramits"))
    expect(page.locator(".cnc-msg-user")).to_have_count(2)
    page.get_by_role("button", name="Nova conversa").click()
    expect(page.locator(".cnc-msg-user")).to_have_count(0)
    page.reload()
    expect(panel(page)).to_be_visible()
    expect(page.locator(".cnc-msg-user")).to_have_count(0)
    expect(page.locator(".cnc-welcome .cnc-example")).to_have_count(3)


def test_a_follow_up_after_a_list_covers_every_resource_and_offers_each(
    page: Any, base_url: str
) -> None:
    open_widget(page, base_url)
    listed_message, _ = ask(page, LIST_QUESTION)
    listed = [
        meta.removeprefix("Codi ").split(" · ")[0]
        for meta in listed_message.locator(".cnc-source-meta").all_inner_texts()
        if meta.startswith("Codi ")
    ]
    assert len(listed) >= 2
    message, _ = ask(page, "I l'import?")
    answer = message.locator(".cnc-answer > ul").first.inner_text()
    for codi in listed:
        assert f"(codi {codi})" in answer  # every listed resource, never the first only
    choices = message.locator(".cnc-choice")
    expect(choices).to_have_count(len(listed))
    assert [choices.nth(i).get_attribute("data-codi") for i in range(len(listed))] == listed
    page.screenshot(path=str(SHOTS / "concerta-demo-choices.png"))

    # Picking one asks the same question again about that resource alone.
    with page.expect_request("**/api/ask/stream") as picked_info:
        choices.nth(1).click()
    body = picked_info.value.post_data_json
    assert body["question"] == "I l'import?" and body["focus"] == listed[1]
    expect(page.locator(".cnc-msg-user p").last).to_have_text(
        re.compile(r"^I l'import\? — sobre «")
    )
    expect(page.locator(".cnc-msg-bot .cnc-feedback")).to_have_count(3)
    picked = page.locator(".cnc-msg-bot").last
    expect(picked.locator(".cnc-source-meta")).to_have_text(
        [f"Codi {listed[1]} · Catàleg de serveis 2022"]
    )
    assert picked.locator(".cnc-choice").count() == 0


def test_keyboard_only_use_never_leaves_the_panel(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/demo")
    launcher = page.get_by_role("button", name="Obre l'assistent del Pla XGL")
    launcher.focus()
    page.keyboard.press("Enter")
    box = page.get_by_label("Escriviu la vostra pregunta")
    expect(box).to_be_focused()
    page.keyboard.type(WIFI_QUESTION)
    page.keyboard.press("Enter")
    expect(page.locator(".cnc-msg-bot .cnc-feedback")).to_have_count(1)
    expect(page.locator(".cnc-window")).to_have_count(1)  # the cards are drawn too

    where = """() => {
      const host = document.getElementById('concerta-widget');
      const root = host.shadowRoot;
      const el = root.activeElement;
      const panel = root.getElementById('cnc-panel');
      if (document.activeElement !== host || !el || !panel.contains(el)) return null;
      const log = root.querySelector('.cnc-log').getBoundingClientRect();
      const form = root.querySelector('.cnc-form').getBoundingClientRect();
      const box = el.getBoundingClientRect();
      const inLog = root.querySelector('.cnc-log').contains(el) && el !== root.querySelector('.cnc-log');
      return {
        name: el.getAttribute('aria-label') || el.textContent.trim().slice(0, 40),
        inLog,
        visible: !inLog || (box.top >= log.top - 1 && box.bottom <= log.bottom + 1),
        aboveBar: !inLog || box.bottom <= form.top,
      };
    }"""
    seen: list[str] = []
    for key in ["Tab"] * 30 + ["Shift+Tab"] * 30:
        page.keyboard.press(key)
        state = page.evaluate(where)
        assert state is not None, f"the focus left the panel after {len(seen)} keys: {seen[-3:]}"
        # A focused control in the log is scrolled fully into view, above the question bar.
        assert state["visible"] and state["aboveBar"], state
        seen.append(state["name"])
    for name in ("Nova conversa", "Tanca l'assistent", "Envia", "Resposta útil"):
        assert name in seen
    assert any(name.startswith("93 400 17 70") for name in seen)  # the contact links
    page.keyboard.press("Escape")
    expect(panel(page)).to_be_hidden()
    assert launcher.evaluate("el => el.getRootNode().activeElement === el")


def test_each_answer_is_announced_once(page: Any, base_url: str) -> None:
    open_widget(page, base_url)
    log = page.locator(".cnc-log")
    assert log.get_attribute("aria-live") is None and log.get_attribute("role") == "region"
    page.evaluate(
        """() => {
          const root = document.getElementById('concerta-widget').shadowRoot;
          const live = root.querySelector('[aria-live]');
          window.__announced = [];
          new MutationObserver(() => window.__announced.push(live.textContent))
            .observe(live, {childList: true, characterData: true, subtree: true});
        }"""
    )
    ask(page, WIFI_QUESTION)
    ask(page, "I fins quan es pot demanar?")
    announced = page.evaluate("window.__announced")
    assert len(announced) == 2  # once per answer, not once per streamed frame
    assert announced[0].startswith("Resposta de l'assistent: He trobat aquest recurs")
    assert "**" not in announced[0] and "](" not in announced[0]
    # No live region inside the log: the streamed drafts are never read out.
    assert page.locator(".cnc-log [aria-live]").count() == 0


def test_the_widget_fits_a_phone(browser: Any, base_url: str) -> None:
    context, page, watch = new_page(
        browser, base_url, viewport={"width": 360, "height": 740}, is_mobile=True
    )
    try:
        open_widget(page, base_url)
        ask(page, WIFI_QUESTION)
        box = panel(page).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.screenshot(path=str(SHOTS / "concerta-demo-phone.png"))
    finally:
        context.close()
    assert watch.unexpected() == [] and watch.external == []


def test_axe_finds_nothing_above_minor_with_the_widget_open(
    watched: tuple[Any, PageWatch], base_url: str
) -> None:
    page, watch = watched
    open_widget(page, base_url)
    assert axe_violations(page, watch) == []
    ask(page, LIST_QUESTION)
    ask(page, "I l'import?")
    expect(page.locator(".cnc-choice").first).to_be_visible()
    assert axe_violations(page, watch) == []


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
        "- segon punt [fals](javascript:alert(1))\n"
        "- trucada [93 400 17 70](tel:+34934001770)\n\n"
        "<script>window.pwned=2</script>"
    )
    source = {
        "id": "22133#0", "doc_id": "22133", "kind": "recurs", "title": "Wifi <b>públic</b>",
        "snippet": "", "score": 1.0, "url": "javascript:alert(3)", "source": "cataleg.jsonl",
        "codi": "22133", "article": None, "metadata": {"any": 2022},
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
    assert answer.locator("ul > li").count() == 3
    links = answer.locator("p a, ul a")
    assert links.count() == 2  # the javascript: link is left as text
    assert links.first.get_attribute("href") == "https://cataleg.exemple.cat/recurs/22133"
    assert links.nth(1).get_attribute("href") == "tel:+34934001770"
    assert "<img" in answer.inner_text() and "fals" in answer.inner_text()
    assert answer.locator("button.cnc-cite").inner_text() == "[1]"
    card = message.locator(".cnc-source")
    assert card.locator("a.cnc-source-title").count() == 0  # a javascript: url is not linked
    assert page.locator("a[href^='javascript']").count() == 0
    assert "Wifi <b>públic</b>" in card.inner_text()


def test_widget_shows_server_errors_in_catalan(
    watched: tuple[Any, PageWatch], base_url: str
) -> None:
    page, watch = watched
    watch.expected.append("status of 503")
    detail = "L'assistent encara no està preparat: l'índex de documents no s'ha carregat."
    page.route(
        "**/api/ask/stream",
        lambda route: route.fulfill(
            status=503, content_type="application/json", body=json.dumps({"detail": detail})
        ),
    )
    open_widget(page, base_url)
    page.get_by_label("Escriviu la vostra pregunta").fill("Hi ha ajuts?")
    page.keyboard.press("Enter")
    alert = page.locator(".cnc-msg-error [role=alert]")
    expect(alert).to_have_text(detail)
    expect(page.get_by_role("button", name="Envia")).to_be_enabled()


def test_a_busy_server_is_explained_kindly_and_the_question_kept(
    watched: tuple[Any, PageWatch], base_url: str
) -> None:
    page, watch = watched
    watch.expected.append("status of 429")
    detail = "Heu fet moltes preguntes seguides. Torneu-ho a provar d'aquí a 30 segons."
    page.route(
        "**/api/ask/stream",
        lambda route: route.fulfill(
            status=429,
            content_type="application/json",
            headers={"Retry-After": "30"},
            body=json.dumps({"detail": detail}),
        ),
    )
    open_widget(page, base_url)
    box = page.get_by_label("Escriviu la vostra pregunta")
    box.fill(WIFI_QUESTION)
    box.press("Enter")
    notice = page.locator(".cnc-msg-notice")
    expect(notice).to_have_text(re.compile(re.escape(detail)))
    assert page.locator(".cnc-msg-error").count() == 0  # a wait, not a failure
    assert notice.locator("[role=alert]").count() == 0
    expect(box).to_have_value(WIFI_QUESTION)  # ready to send again
    expect(page.locator(".cnc-msg-user")).to_have_count(0)
    expect(page.get_by_role("button", name="Envia")).to_be_enabled()
