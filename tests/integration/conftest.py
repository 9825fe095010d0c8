"""Fixtures shared by the browser test modules (each skips itself without Chromium)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, PAGE_TIMEOUT_MS


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium through Playwright, one per test module."""
    sync_api = pytest.importorskip("playwright.sync_api")
    # expect() waits 5 s by default, whatever the page's timeout: on a busy 2-core machine
    # an answer can take longer, and an assertion on it failed about one run in ten under
    # load. Assertions wait as long as the pages' own actions (tests/support/browser.py).
    sync_api.expect.set_options(timeout=PAGE_TIMEOUT_MS)
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
