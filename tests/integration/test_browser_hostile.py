"""Hostile sources and a public portal, in a real headless Chromium: the widget and the
staff page on the hostile index (tests/data/hostile), under the app's own
Content-Security-Policy, and the widget embedded on another origin allowed by CORS.

Same set-up as test_browser.py: Debian's chromium, the real app served by uvicorn on
127.0.0.1, the real service. Every wait is on state (a response, an element), never on
time. Any console error (a CSP violation is one) fails the test unless announced.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from assistant.api import create_app
from assistant.api.security_headers import page_policy
from index_config.settings import AskLimit, LimitSettings
from tests.support.live_server import serving

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
PHISHING = "Hi ha ajuts per renovar l'enllumenat de les pistes de petanca?"
MARKUP = "Hi ha algun suport per dinamitzar els mercats ambulants?"
SCRIPT_LINKS = "Com podem senyalitzar les rutes cicloturístiques?"
INJECTION = "Quin suport hi ha per a la gestió de colònies felines urbanes?"
TOKEN = "browser-operator-token-0123456789abcdef"
# Records CSP violations as the page sees them (an init script runs outside the policy).
WATCH_CSP = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + e.blockedURI);
});
"""

if not CHROMIUM.exists():
    pytest.skip(
        "no /usr/bin/chromium: install it with `apt-get install -y chromium`",
        allow_module_level=True,
    )

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def base_url(hostile_service: Any) -> Iterator[str]:
    """The real app on the hostile index, with the operators' page switched on."""
    settings = hostile_service.settings.model_copy(update={"admin_token": TOKEN})
    with serving(create_app(service=hostile_service, settings=settings)) as url:
        yield url


class Console:
    """JavaScript exceptions and console errors; there must be none but those announced."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.expected: list[str] = []

    def watch(self, page: Any) -> None:
        page.on("pageerror", lambda exc: self.messages.append(str(exc)))
        page.on("console", lambda m: self.messages.append(m.text) if m.type == "error" else None)

    def unexpected(self) -> list[str]:
        return [m for m in self.messages if not any(e in m for e in self.expected)]


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def page(browser: Any, console: Console) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="ca-ES")
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    page.set_default_timeout(60_000)  # a first answer on a busy 2-core machine
    console.watch(page)
    yield page
    violations = page.evaluate("window.__violations || []")
    context.close()
    assert violations == []
    assert console.unexpected() == []


def open_widget(page: Any, url: str) -> None:
    page.goto(url)
    page.get_by_role("button", name="Obre l'assistent del Pla XGL").click()
    page.get_by_role("dialog", name="Assistent del Pla XGL").wait_for()


def ask(page: Any, question: str) -> Any:
    """Type a question and wait for the whole answer; returns the answer's message."""
    box = page.get_by_label("Escriviu la vostra pregunta")
    box.fill(question)
    with page.expect_response("**/api/ask/stream") as response:
        box.press("Enter")
    assert response.value.status == 200
    message = page.locator(".cnc-msg-bot").last
    message.locator(".cnc-feedback").wait_for()
    return message


def nothing_ran(page: Any) -> bool:
    return bool(page.evaluate("window.pwned === undefined"))


def ask_anew(page: Any, base_url: str, question: str) -> Any:
    """The question as the first of a conversation (a short one would be a follow-up).
    The widget keeps its conversation across page loads: forget it first."""
    page.goto(f"{base_url}/demo")
    page.evaluate("window.sessionStorage.clear()")
    open_widget(page, f"{base_url}/demo")
    return ask(page, question)


def widget_links(page: Any) -> list[str]:
    return list(page.locator(".cnc-msg-bot a").evaluate_all("els => els.map(a => a.href)"))


def safe_link(href: str) -> bool:
    """A link of ours: the catalogue's own host, or a card's phone or e-mail contact."""
    return href.startswith(("https://cataleg.exemple.cat/", "tel:+", "mailto:"))


def test_the_widget_shows_phishing_links_as_text(page: Any, base_url: str) -> None:
    answer = ask_anew(page, base_url, PHISHING).locator(".cnc-answer")
    assert "Formulari de sol·licitud (https://phish.example/form)" in answer.inner_text()
    assert page.locator("a[href*='phish']").count() == 0  # the probe: it was a working link
    allowed = answer.locator("a[href='https://cataleg.exemple.cat/recurs/29903/condicions']")
    assert allowed.count() == 1 and allowed.get_attribute("rel") == "noopener noreferrer"
    assert all(safe_link(h) for h in widget_links(page)), widget_links(page)
    page.screenshot(path="/tmp/concerta-hostile-widget.png")


def test_the_widget_runs_nothing_from_a_record(page: Any, base_url: str) -> None:
    markup = ask_anew(page, base_url, MARKUP)
    assert markup.locator("script, img, iframe, b").count() == 0
    assert "<script>window.pwned = 1</script>" in markup.locator(".cnc-answer").inner_text()
    card = markup.locator(".cnc-source").filter(has_text="Codi 29901")
    assert "Dinamització de mercats setmanals <b>ambulants</b>" in card.inner_text()
    assert nothing_ran(page)

    links = ask_anew(page, base_url, SCRIPT_LINKS)
    assert "model de sol·licitud (javascript:window.pwned=3)" in links.inner_text()
    hrefs = widget_links(page)
    assert any(h.startswith("https://cataleg.exemple.cat/") for h in hrefs), hrefs
    assert all(safe_link(h) for h in hrefs), hrefs
    assert nothing_ran(page)


def test_the_widget_never_shows_a_planted_instruction(page: Any, base_url: str) -> None:
    text = ask_anew(page, base_url, INJECTION).locator(".cnc-answer").inner_text()
    assert "666 123 456" not in text and "instrucciones" not in text
    assert "[…]" in text  # where the record's first sentence, the injection, was


def test_the_staff_page_shows_hostile_records_as_text(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/")
    page.get_by_label("Què voleu cercar?").fill("mercats ambulants ordenança parades")
    with page.expect_response("**/api/search") as response:
        page.get_by_role("button", name="Cerca").click()
    assert response.value.status == 200
    sync_api.expect(page.get_by_role("status")).to_have_text(re.compile(r"\d+ resultats?\.$"))
    card = page.locator(".card").filter(has_text="Codi 29901")
    sync_api.expect(card).to_have_count(1)
    assert "<b>ambulants</b>" in card.locator(".card-title").inner_text()
    assert page.locator("#results script, #results img, #results iframe, #results b").count() == 0

    page.get_by_label("Què voleu cercar?").fill("enllumenat pistes de petanca formulari")
    with page.expect_response("**/api/search"):
        page.get_by_role("button", name="Cerca").click()
    sync_api.expect(page.locator(".card").filter(has_text="Codi 29903")).to_have_count(1)
    assert page.locator("a[href*='phish'], a[href^='javascript:'], a[href^='data:']").count() == 0
    assert nothing_ran(page)


def test_every_page_satisfies_its_content_security_policy(page: Any, base_url: str) -> None:
    """No inline script anywhere: the page fixture fails on any CSP violation."""
    for path, ready in (
        ("/", "Què voleu cercar?"),
        ("/demo", None),
        ("/admin", "Clau d'operador"),
    ):
        response = page.goto(f"{base_url}{path}")
        assert response is not None and response.status == 200
        policy = response.headers["content-security-policy"]
        assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
        if ready:
            page.get_by_label(ready).wait_for()
        else:
            open_widget(page, f"{base_url}{path}")
        assert page.evaluate("window.__violations") == [], path


# ---- the widget on another origin ------------------------------------------------------
PORTAL_PAGE = """<!doctype html>
<html lang="ca"><head><meta charset="utf-8"><title>Ajuntament (portal de prova)</title>
<link rel="icon" href="data:,"></head>
<body><h1>Portal municipal</h1>
<script src="{api}/widget.js" defer></script></body></html>"""


@pytest.fixture(scope="module")
def portal(hostile_service: Any) -> Iterator[tuple[str, str]]:
    """A portal on its own origin (localhost:P2, its own strict CSP) embedding the widget
    of the API (127.0.0.1:P1), which allows that origin in CORS and one question a
    minute per client."""
    api_box: dict[str, str] = {}

    async def page(request: Request) -> HTMLResponse:
        api = api_box["url"]
        # What a portal with a strict policy must allow for the widget: its script, its
        # stylesheet and its API, plus (until widget.js hides its host element through
        # CSSOM) the one style attribute it sets, by hash.
        attribute = page_policy("").split("'unsafe-hashes' ", 1)[1].split(";", 1)[0]
        csp = (
            f"default-src 'none'; script-src {api}; style-src {api} 'unsafe-hashes' "
            f"{attribute}; connect-src {api}; img-src data:; frame-ancestors 'none'"
        )
        return HTMLResponse(PORTAL_PAGE.format(api=api), headers={"Content-Security-Policy": csp})

    portal_app = Starlette(routes=[Route("/", page)])
    with serving(portal_app) as portal_url:
        origin = portal_url.replace("127.0.0.1", "localhost")
        settings = hostile_service.settings.model_copy(
            update={
                "cors_origins": [origin],
                "limits": LimitSettings(ask=AskLimit(per_minute=1, burst=1)),
            }
        )
        with serving(create_app(service=hostile_service, settings=settings)) as api_url:
            api_box["url"] = api_url
            yield origin, api_url


def test_the_widget_works_on_another_origin_and_says_when_to_wait(
    page: Any, console: Console, portal: tuple[str, str]
) -> None:
    origin, api = portal
    console.expected.append("status of 429")  # Chromium logs the refused request
    open_widget(page, f"{origin}/")
    sheet = page.evaluate(
        "document.getElementById('concerta-widget').shadowRoot"
        ".querySelector('link[rel=stylesheet]').href"
    )
    assert sheet == f"{api}/static/widget.css"  # loaded cross-origin: the panel is styled
    answer = ask(page, PHISHING)
    assert answer.locator("a[href*='phish']").count() == 0

    box = page.get_by_label("Escriviu la vostra pregunta")
    box.fill(MARKUP)
    with page.expect_response("**/api/ask/stream") as response:
        box.press("Enter")
    assert response.value.status == 429
    # A notice, not an alert: the server's words, and the question kept to send again.
    notice = page.locator(".cnc-msg-notice p")
    notice.wait_for()
    assert notice.inner_text().startswith("Heu enviat massa peticions en poc temps. Espereu")
    assert box.input_value() == MARKUP
    assert page.get_by_role("button", name="Envia").is_enabled()
    page.screenshot(path="/tmp/concerta-hostile-portal-429.png")
