"""The catalogue managers' page (/admin) in a real headless Chromium, on the real app and
service, under a Content-Security-Policy without 'unsafe-inline', checked with axe-core
(vendored: tests/support/axe.min.js). Screenshots are left in /tmp/concerta-admin-*.png.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from assistant.api import create_app
from assistant.conversation import ConversationStore
from assistant.service import AssistantService
from tests.conftest import make_settings
from tests.support.live_server import serving

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip
AXE = Path(__file__).resolve().parents[1] / "support" / "axe.min.js"
SHOTS = Path("/tmp")
TOKEN = "clau-del-navegador-" + "9c1e" * 8
# What another engineer's security headers will impose: no inline script or style.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
ANSWERABLE = [
    "Hi ha ajuts per posar wifi a la plaça?",
    "Quins ajuts hi ha per arreglar camins municipals?",
]
LIFEGUARDS = [
    "Hi ha algun ajut per contractar socorristes per a la piscina municipal?",
    "Com podem pagar els socorristes de la piscina municipal?",
    "Subvenció per a vigilants de la piscina municipal a l'estiu",
]
COMMENT = "No parla de socorristes"

if not CHROMIUM.exists():
    pytest.skip("no /usr/bin/chromium: run `make system-deps`", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


@dataclass
class Seeded:
    service: AssistantService
    asked: int


@pytest.fixture(scope="module")
def seeded(
    assistant_service: AssistantService, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Seeded]:
    """An operator service with its own store, holding a few answered and refused
    questions; the uncovered need's answered phrasings are rated down."""
    settings = make_settings(tmp_path_factory.mktemp("admin-browser"), admin_token=TOKEN)
    service = AssistantService(settings, searcher=assistant_service.searcher)
    store = service.conversations = ConversationStore(settings.sqlite_path)
    questions = [*ANSWERABLE, *LIFEGUARDS, "Com es fa una paella?"]
    for question in questions:
        answer = service.ask(question)
        if question in LIFEGUARDS and answer.grounded:
            service.feedback(answer.conversation_id, -1, answer.message_id, COMMENT)
    yield Seeded(service, len(questions))
    store.close()


@pytest.fixture(scope="module")
def base_url(seeded: Seeded) -> Iterator[str]:
    with serving(create_app(service=seeded.service)) as url:
        yield url


class Console:
    """JavaScript exceptions and console errors (CSP violations among them)."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        self.expected: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(x in e for x in self.expected)]


def with_csp(route: Any) -> None:
    response = route.fetch()
    route.fulfill(response=response, headers={**response.headers, "content-security-policy": CSP})


def open_page(
    browser: Any, base_url: str, width: int, height: int, **options: Any
) -> tuple[Any, Any, Console]:
    context = browser.new_context(viewport={"width": width, "height": height}, locale="ca-ES",
                                  accept_downloads=True, **options)  # fmt: skip
    page = context.new_page()
    page.set_default_timeout(60_000)  # the report embeds questions on a busy 2-core machine
    console = Console(page)
    page.route(re.compile(r".*/admin(\?.*)?$"), with_csp)
    return context, page, console


def enter(page: Any, token: str) -> None:
    page.get_by_label("Clau d'operador").fill(token)
    page.get_by_role("button", name="Entra").click()


def wait_for_report(page: Any) -> None:
    expect(page.locator("#status")).to_have_text(re.compile(r"^Informe del \d+/\d+/\d{4} al "))
    expect(page.locator("#report")).not_to_have_attribute("aria-busy", "true")


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations above "minor". Evaluated through the DevTools protocol, which
    the page's CSP does not govern (a <script> tag would be refused)."""
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result["violations"]
        if v["impact"] in ("moderate", "serious", "critical")
    ]


def test_admin_page_draws_the_report_after_asking_for_the_token(
    browser: Any, base_url: str, seeded: Seeded
) -> None:
    context, page, console = open_page(browser, base_url, 1280, 900)
    try:
        page.goto(f"{base_url}/admin")
        expect(page.get_by_role("heading", name="Accés d'operador")).to_be_visible()
        assert axe_violations(page) == []
        console.expected.append("status of 401")
        enter(page, "no-es-la-clau")
        expect(page.get_by_role("alert").filter(has_text="La clau no és correcta.")).to_be_visible()

        enter(page, TOKEN)
        wait_for_report(page)
        figures = page.locator("#figures .figure")
        expect(figures.first.locator(".value")).to_have_text(str(seeded.asked))
        chart = page.locator("#chart svg[role=img]")
        expect(chart).to_be_visible()
        assert chart.locator("g.day").count() == 30  # the default period: the last 30 days
        assert chart.locator("rect.refused").count() >= 1
        assert chart.locator("rect.answered").count() >= 1
        assert "sense resposta" in (chart.locator("desc").text_content() or "")

        # The lifeguard phrasings are one gap, with every one of them as an example.
        gaps = page.locator("#gap-list > li.gap")
        pool = gaps.filter(has_text=LIFEGUARDS[0])
        expect(pool).to_have_count(1)
        for question in LIFEGUARDS:
            expect(pool.locator(".examples li", has_text=question)).to_have_count(1)
        expect(pool.locator(".count")).to_have_text(f"{len(LIFEGUARDS)} preguntes")
        assert "socorristes" in pool.locator("h3").inner_text().split(" · ")
        assert pool.locator(".nearest a").count() >= 1
        downs = page.locator("#feedback-list > li.down")
        if downs.count():
            expect(downs.first.locator(".comment")).to_have_text(f"Comentari: {COMMENT}")
        expect(page.locator("#resource-list li", has_text="codi 22133")).to_have_count(1)
        assert axe_violations(page) == []
        page.screenshot(path=str(SHOTS / "concerta-admin-laptop.png"), full_page=True)

        # The CSV comes with the token too: one row per question, header first.
        with page.expect_download() as download_info:
            page.get_by_role("button", name="Descarrega les preguntes (CSV)").click()
        rows = list(
            csv.reader(Path(download_info.value.path()).read_text(encoding="utf-8").splitlines())
        )
        assert rows[0][:3] == ["date", "conversation", "question"]
        assert len(rows) == 1 + seeded.asked

        # The token lasts for the tab: a reload goes straight to the report.
        assert page.evaluate("sessionStorage.getItem('concerta-admin-token')") == TOKEN
        page.reload()
        wait_for_report(page)
        assert page.locator("#login").is_hidden()
        page.get_by_role("button", name="Surt").click()
        expect(page.get_by_label("Clau d'operador")).to_be_visible()
        assert page.evaluate("sessionStorage.getItem('concerta-admin-token')") is None
    finally:
        context.close()
    assert console.unexpected() == []


def test_a_new_tab_asks_for_the_token_again(browser: Any, base_url: str) -> None:
    context, page, console = open_page(browser, base_url, 1280, 900)
    try:
        page.goto(f"{base_url}/admin")
        expect(page.get_by_label("Clau d'operador")).to_be_visible()
        assert page.locator("#report").is_hidden()
    finally:
        context.close()
    assert console.unexpected() == []


def test_admin_page_fits_a_phone(browser: Any, base_url: str) -> None:
    context, page, console = open_page(browser, base_url, 360, 740, is_mobile=True)
    try:
        page.goto(f"{base_url}/admin?from=2026-01-01&to=2026-12-31")
        enter(page, TOKEN)
        wait_for_report(page)
        chart = page.locator("#chart svg[role=img]")
        expect(chart).to_be_visible()
        assert page.locator("#chart g.day").count() == 365
        box = chart.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360
        expect(page.locator("#gap-list > li.gap").first).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        assert axe_violations(page) == []
        page.screenshot(path=str(SHOTS / "concerta-admin-phone.png"), full_page=True)
    finally:
        context.close()
    assert console.unexpected() == []


def test_the_widget_shows_the_request_id_of_a_failed_request(browser: Any, base_url: str) -> None:
    """The real server refuses the request (an unknown filter slipped into the body); the
    widget's error message names the id the server gave that response."""
    context, page, console = open_page(browser, base_url, 1280, 900)
    console.expected.append("status of 422")

    def bad_filter(route: Any) -> None:
        body = json.loads(route.request.post_data)
        route.continue_(post_data=json.dumps({**body, "filters": {"municipi": "Vic"}}))

    try:
        page.route("**/api/ask/stream", bad_filter)
        page.goto(f"{base_url}/demo")
        page.get_by_role("button", name="Obre l'assistent del Pla XGL").click()
        page.get_by_label("Escriviu la vostra pregunta").fill(ANSWERABLE[0])
        with page.expect_response("**/api/ask/stream") as response_info:
            page.keyboard.press("Enter")
        response = response_info.value
        assert response.status == 422
        request_id = response.headers["x-request-id"]
        error = page.locator(".cnc-msg-error")
        expect(error.locator("[role=alert]")).to_have_text(
            re.compile(r"^Filtre desconegut: municipi\.")
        )
        expect(error.locator(".cnc-error-ref")).to_have_text(f"Referència de l'error: {request_id}")
    finally:
        context.close()
    assert console.unexpected() == []


@pytest.mark.parametrize("timezone", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_the_default_period_is_the_servers_whatever_the_browsers_clock(
    browser: Any, base_url: str, seeded: Seeded, timezone: str
) -> None:
    """The report's days are in its own time zone (Europe/Madrid). A browser 13 hours
    ahead or 12 hours behind it is on another date for half of every day (between them,
    at any hour): the page must not take "today" from its clock, or today's questions
    drop out of the default period."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    context, page, console = open_page(browser, base_url, 1280, 900, timezone_id=timezone)
    try:
        page.goto(f"{base_url}/admin")
        enter(page, TOKEN)
        wait_for_report(page)
        today = dt.datetime.now(ZoneInfo(seeded.service.settings.report_timezone)).date()
        expect(page.get_by_label("Fins al")).to_have_value(today.isoformat())
        expect(page.locator("#figures .figure").first.locator(".value")).to_have_text(
            str(seeded.asked)
        )
        assert f"to={today.isoformat()}" in page.url
        assert console.unexpected() == []
    finally:
        context.close()
