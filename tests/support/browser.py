"""Debian's chromium driven by playwright (no browser download: that fails on these
machines), for the watch-floor page's tests and its benchmark.

A machine without playwright or chromium skips the page tests, unless
``LOOKOUT_REQUIRE_BROWSER=1`` (set by .ci/run): then a missing browser fails the run, so CI
never goes green without having opened the page.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

if TYPE_CHECKING:
    from playwright.async_api import Browser

# Without the background-networking flags Chromium keeps calling hosts this network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
REQUIRE_BROWSER = "LOOKOUT_REQUIRE_BROWSER"


def chromium_path() -> Path:
    """Debian's chromium, or the one ``LOOKOUT_CHROMIUM`` names."""
    return Path(os.environ.get("LOOKOUT_CHROMIUM", "/usr/bin/chromium"))


def browser_missing(reason: str) -> NoReturn:
    """Skip a page test for want of a browser, or fail it when the run requires one."""
    if os.environ.get(REQUIRE_BROWSER) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_BROWSER}=1 requires the browser", pytrace=False)
    pytest.skip(reason)


def check_browser() -> None:
    """Skip (or fail, see above) unless playwright and chromium are both installed."""
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        browser_missing("playwright is not installed (pip install -e '.[test]')")
    path = chromium_path()
    if not path.exists():
        browser_missing(f"{path} is not installed (apt-get install -y chromium; .ci/run does)")


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Headless chromium, closed on the way out."""
    check_browser()
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(chromium_path()), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()
