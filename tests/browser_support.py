"""Pages in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright): a page
opened from a file with what it logged and fetched, and screenshots kept for people to look at."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, ViewportSize, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
# Every view's screenshot lands here (CI keeps the folder): RUNNER_SCREENSHOTS moves it.
SCREENSHOTS = Path(
    os.environ.get(
        "RUNNER_SCREENSHOTS", Path(__file__).resolve().parent.parent / "build" / "screenshots"
    )
)


def launch() -> Iterator[Browser]:
    """The browser for a module's tests (skipped without one, unless CI requires it)."""
    if not CHROMIUM.exists():
        why = f"{CHROMIUM} is missing (Debian's chromium package): no browser to test the page in"
        if os.environ.get("RUNNER_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{why}, and RUNNER_REQUIRE_BROWSER=1 requires one")
        pytest.skip(why)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()


@dataclass
class Opened:
    """A page loaded from a URL, with what it logged and fetched."""

    page: Page
    url: str
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.errors == []
        assert self.requests == [self.url]


def open_url(
    browser: Browser,
    url: str,
    *,
    color_scheme: Literal["light", "dark"] = "light",
    viewport: ViewportSize | None = None,
) -> Opened:
    page = browser.new_page(color_scheme=color_scheme, viewport=viewport)
    opened = Opened(page, url)

    def console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            opened.errors.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda exc: opened.errors.append(str(exc)))
    page.on("request", lambda request: opened.requests.append(request.url))
    page.goto(opened.url)
    page.wait_for_selector("body[data-ready='1']")
    return opened


def open_page(
    browser: Browser,
    path: Path,
    *,
    color_scheme: Literal["light", "dark"] = "light",
    viewport: ViewportSize | None = None,
) -> Opened:
    return open_url(browser, path.as_uri(), color_scheme=color_scheme, viewport=viewport)


def page_for_a_test(browser: Browser, path: Path) -> Iterator[Opened]:
    """A fixture's page: opened, and closed after the test."""
    opened = open_page(browser, path)
    yield opened
    opened.page.close()


def screenshot(page: Page, name: str, *, full_page: bool = False) -> Path:
    """Saves what the page shows as SCREENSHOTS/NAME.png, for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(shot), full_page=full_page)
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    return shot


def diff_lines(page: Page, kind: str) -> list[str]:
    """The Side by side tab's file diffs' lines of one kind ("add", "del"), without newlines."""
    files = page.get_by_test_id("side-files")
    return [t.rstrip("\n") for t in files.locator(f".dl.{kind}").all_text_contents()]
