"""The staff search page, its "Calendari de terminis" and /docs in a real headless Chromium,
on the real app and service with a fixed reference date (CONCERTA_TODAY=2022-03-01).

Every page is served under a strict Content-Security-Policy and no request may leave the
machine (tests/support/browser.py), so /docs here is /docs offline. Tests wait on state,
never on time. Screenshots are left in /tmp/concerta-staff-*.png.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest

from assistant.api import create_app
from assistant.cards import card_for
from assistant.service import AssistantService
from tests.support.browser import (
    CHROMIUM,
    REFERENCE_DATE,
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

if not CHROMIUM.exists():
    pytest.skip("no /usr/bin/chromium: run `make system-deps`", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
RESULTS = re.compile(r"^\d+ resultats?\.$")


@pytest.fixture(scope="module")
def service(
    assistant_service: AssistantService, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AssistantService]:
    with dated_service(assistant_service, tmp_path_factory.mktemp("staff")) as dated:
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


def search_for(page: Any, text: str) -> None:
    page.get_by_label("Què voleu cercar?").fill(text)
    with page.expect_response("**/api/search"):
        page.get_by_role("button", name="Cerca").click()
    settled(page)


def settled(page: Any) -> None:
    """The newest search has drawn (its count or "Cap resultat") and nothing is pending."""
    expect(page.locator("#status")).to_have_text(re.compile(r"^(\d+ resultats?|Cap resultat)\b"))
    expect(page.locator("#result-list")).not_to_have_attribute("aria-busy", "true")


def test_staff_search_with_a_filter(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/")
    # The selects are filled from the index, with counts (no list written in the page).
    tipologia = page.locator("#search-form").get_by_label("Tipologia")
    expect(tipologia.locator("option")).to_have_text(
        ["Totes", re.compile(r"^econòmic \(\d+\)$"), re.compile(r"^material \(\d+\)$"),
         re.compile(r"^tècnic \(\d+\)$")]
    )  # fmt: skip
    page.get_by_label("Què voleu cercar?").fill("ajuts per arreglar camins municipals")
    # Changing a filter searches at once; the click on Cerca searches again. Whatever the
    # order the two responses arrive in, the page must end showing the newest one.
    tipologia.select_option("econòmic")
    with page.expect_request("**/api/search") as search_info:
        page.get_by_role("button", name="Cerca").click()
    assert search_info.value.post_data_json["filters"] == {"tipologia": "econòmic"}
    expect(page.get_by_role("status")).to_have_text(RESULTS)
    expect(page.locator("#result-list")).not_to_have_attribute("aria-busy", "true")
    cards = page.locator(".card")
    assert cards.count() > 0
    tipologies = {cards.nth(i).get_attribute("data-tipologia") for i in range(cards.count())}
    assert tipologies == {"econòmic"}
    first = cards.first
    assert first.locator(".card-title").inner_text()
    assert first.locator(".ref").inner_text().startswith("Codi ")
    expect(first.locator(".source")).to_have_text("Font: Catàleg de serveis 2022")
    page.screenshot(path=str(SHOTS / "concerta-staff.png"), full_page=True)

    # An empty query is refused in the page itself, in Catalan.
    page.get_by_label("Què voleu cercar?").fill("   ")
    page.get_by_role("button", name="Cerca").click()
    expect(page.get_by_role("alert")).to_have_text("Escriviu què voleu cercar.")


def test_selects_offer_what_the_index_holds(
    page: Any, base_url: str, service: AssistantService
) -> None:
    page.goto(f"{base_url}/")
    areas = sorted({str(h.metadata["area"]) for h in service.catalogue_resources()})
    options = page.locator("#search-form").get_by_label("Àrea").locator("option")
    expect(options).to_have_count(len(areas) + 1)
    values = [v for v in options.evaluate_all("os => os.map(o => o.value)") if v]
    assert sorted(values) == areas


def test_nonsense_finds_nothing(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/")
    search_for(page, "xyzzy qwerty")
    expect(page.locator("#status")).to_have_text(re.compile(r"^Cap resultat\."))
    expect(page.locator(".card")).to_have_count(0)


def test_results_read_well(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/")
    search_for(page, "plaques solars")
    cards = page.locator(".card")
    # The cut-off shows the relevant part of the 20 results, not all of them.
    assert 0 < cards.count() < 20
    first = cards.first
    expect(first.locator(".card-title")).to_contain_text("fotovoltaiques")
    # The query's words are highlighted, in the title or the snippet.
    marks = [m.lower() for m in first.locator("mark").all_inner_texts()]
    assert {"plaques", "solars"} & set(marks), marks
    # Snippets start at a sentence and end at one, or with an ellipsis where the text goes on.
    for snippet in page.locator(".snippet").all_inner_texts():
        assert re.search(r"(?:[.!?:;»)]|\S …)$", snippet), snippet
        assert snippet.startswith("… ") or snippet[0].isupper() or snippet[0] in '«("', snippet
    # The window (on the reference date) and the contacts as links, on every resource.
    resource = page.locator('.card[data-kind="recurs"]').first
    expect(resource.locator(".meta-row", has_text="Termini")).to_have_text(
        re.compile(r"Termini:?\s*(obert fins a|s'obre|tancat des de|tot l'any|no cal sol·licitud)")
    )
    phone = resource.locator('.meta a[href^="tel:+34"]')
    mail = resource.locator('.meta a[href^="mailto:"]')
    expect(phone).to_have_count(1)
    expect(mail).to_have_count(1)
    # Counts per facet of what is shown, as chips that filter.
    chips = page.locator('.facet-chip[data-filter="tipologia"]')
    assert chips.count() >= 1
    total = sum(
        int(c)
        for c in page.locator('.facet-chip[data-filter="tipologia"] .facet-count').all_inner_texts()
    )
    assert total == page.locator('.card[data-kind="recurs"]').count()
    # People read document titles, never the files they come from.
    assert file_names_in(page.locator("main").inner_text()) == []


def test_an_article_is_labelled_once(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/?q=difusi%C3%B3+del+suport+de+la+Diputaci%C3%B3&kind=normativa")
    settled(page)
    articles = page.locator('.card[data-kind="normativa"]').filter(
        has=page.locator(".card-title", has_text=re.compile(r"^Article \d+"))
    )
    assert articles.count() >= 1
    for i in range(articles.count()):
        article = articles.nth(i)
        assert article.locator(".ref").count() == 0  # "Article 17" already leads the title
        source = article.locator(".source").inner_text()
        assert source.startswith("Font: ") and not file_names_in(source), source


def test_open_now_uses_the_reference_date(
    page: Any, base_url: str, service: AssistantService
) -> None:
    page.goto(f"{base_url}/?q=ajuts")
    settled(page)
    expect(page.locator("#reference-date")).to_have_text(f"Data de referència: {REFERENCE_TEXT}")
    with page.expect_request("**/api/search") as search_info:
        page.get_by_label(
            "Obert ara (termini de sol·licitud vigent a la data de referència)"
        ).check()
    assert search_info.value.post_data_json["filters"]["obert_a"] == REFERENCE_DATE.isoformat()
    settled(page)
    cards = page.locator('.card[data-kind="recurs"]')
    assert cards.count() > 0
    expected_open = {h.codi for h in service.open_resources(on=REFERENCE_DATE, limit=100)}
    codes = [cards.nth(i).get_attribute("data-codi") for i in range(cards.count())]
    assert set(codes) <= expected_open
    windows = page.locator(".meta-row", has_text="Termini")
    expect(windows.first).to_have_text(re.compile(r"obert fins a|tot l'any"))
    for text in windows.all_inner_texts():
        assert re.search(r"obert fins a|tot l'any", text), text


def test_the_timeline_shows_the_open_windows_on_the_reference_date(
    watched: tuple[Any, PageWatch], base_url: str, service: AssistantService
) -> None:
    page, watch = watched
    page.goto(f"{base_url}/")
    page.get_by_role("link", name="Calendari de terminis").click()
    expect(page).to_have_url(re.compile(r"\?vista=terminis$"))
    status = page.locator("#timeline-status")
    expect(status).to_have_text(re.compile(rf"terminis oberts o propers a {REFERENCE_TEXT}\.$"))
    cards = [card_for(h, REFERENCE_DATE) for h in service.catalogue_resources()]
    open_dated = {c.codi for c in cards if c.window.state == "open"}
    soon = {
        c.codi
        for c in cards
        if c.window.state == "upcoming"
        and c.window.opens is not None
        and c.window.opens <= REFERENCE_DATE + dt.timedelta(days=60)
    }
    group = page.get_by_role("region", name=re.compile(r"^Oberts ara"))
    rows = group.locator(".tl-row")
    expect(rows).to_have_count(len(open_dated))
    assert {rows.nth(i).get_attribute("data-codi") for i in range(rows.count())} == open_dated
    for meta in group.locator(".tl-meta").all_inner_texts():
        assert " · obert fins a" in meta, meta
    upcoming = page.get_by_role("region", name=re.compile(r"^S'obren aviat")).locator(".tl-row")
    expect(upcoming).to_have_count(len(soon))
    # Open windows are listed closing soonest first.
    closes = [c.window.closes for c in cards if c.codi in open_dated and c.window.closes]
    first_codi = rows.first.get_attribute("data-codi")
    assert next(c for c in cards if c.codi == first_codi).window.closes == min(closes)
    page.screenshot(path=str(SHOTS / "concerta-staff-timeline.png"), full_page=True)
    assert axe_violations(page, watch) == []

    # A filter narrows the timeline to one area.
    area = "Àrea de Cultura"
    with page.expect_response(re.compile(r"/api/cards\?.*area=")):
        page.locator("#timeline-form").get_by_label("Àrea").select_option(area)
    in_area = {c.codi for c in cards if c.area == area and c.codi in open_dated}
    expect(rows).to_have_count(len(in_area))
    # The whole year shows the closed windows too.
    with page.expect_response(re.compile(r"/api/cards\?.*state=closed")):
        page.locator("#timeline-form").get_by_label("Mostra").select_option("all")
    expect(page.get_by_role("region", name=re.compile(r"^Tancats"))).to_be_visible()


def test_axe_finds_nothing_above_minor_on_the_staff_page(
    watched: tuple[Any, PageWatch], base_url: str
) -> None:
    page, watch = watched
    page.goto(f"{base_url}/")
    expect(page.locator("#reference-date")).to_be_visible()
    assert axe_violations(page, watch) == []
    search_for(page, "plaques solars")
    expect(page.locator(".meta a[href^='tel:']").first).to_be_visible()
    assert axe_violations(page, watch) == []


def test_filters_fold_away_on_a_phone(browser: Any, base_url: str) -> None:
    context, page, watch = new_page(
        browser, base_url, viewport={"width": 375, "height": 760}, is_mobile=True
    )
    try:
        page.goto(f"{base_url}/?q=camins")
        settled(page)
        filters = page.locator("#filters-box")
        expect(filters).not_to_have_attribute("open", "")
        # The first result is on the first screen, not below the filters.
        assert page.locator(".card").first.bounding_box()["y"] < 760
        page.get_by_text("Filtres", exact=True).first.click()
        expect(page.locator("#search-form").get_by_label("Tipologia")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        page.goto(f"{base_url}/?vista=terminis")
        expect(page.locator(".tl-row").first).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        page.screenshot(path=str(SHOTS / "concerta-staff-phone-timeline.png"), full_page=True)
    finally:
        context.close()
    assert watch.unexpected() == [] and watch.external == []


def test_docs_show_the_operations_offline(watched: tuple[Any, PageWatch], base_url: str) -> None:
    page, watch = watched
    page.goto(f"{base_url}/docs")
    for path in ("/api/search", "/api/ask", "/api/cards", "/api/facets", "/api/reference-date"):
        expect(page.get_by_text(path, exact=True).first).to_be_visible()
    page.screenshot(path=str(SHOTS / "concerta-docs.png"))
    assert watch.external == []  # nothing fetched from a CDN


def test_redoc_renders_offline(browser: Any, base_url: str) -> None:
    """ReDoc draws with inline styles (styled-components): served here without the strict
    policy, it must still render from local files only."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    external: list[str] = []

    def local_only(route: Any) -> None:
        if not route.request.url.startswith(base_url):
            external.append(route.request.url)
            route.abort("internetdisconnected")
        else:
            route.continue_()

    try:
        page.route("**/*", local_only)
        page.goto(f"{base_url}/redoc")
        expect(page.get_by_role("heading", name=re.compile(r"^Concerta"))).to_be_visible()
        expect(page.get_by_text("/api/ask", exact=True).first).to_be_attached()
    finally:
        context.close()
    assert external == []
