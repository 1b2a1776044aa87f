"""``python -m runner view``: the store served on 127.0.0.1, fetched as a browser would (urllib,
then Chromium): the list, a result's page, a pair compared; only the store's own files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from runner._evaluate.results import SuiteResult
from runner._report.page import build_report
from runner._report.server import ResultsServer
from runner._report.views import StoredResult
from runner._results.store import RunStore
from tests.browser_support import launch, open_url, screenshot
from tests.report_support import ab_result, json_element
from tests.store_support import Store, a_store, stored


@dataclass
class Served:
    store: Store
    url: str  # ends in /


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    store = a_store(tmp_path / "runs")
    server = ResultsServer(RunStore(store.root), 0)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    yield Served(store, server.url)
    server.shutdown()
    thread.join()
    server.server_close()


def get(url: str, **headers: str) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request) as reply:
            return reply.status, dict(reply.headers), reply.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


def test_the_list_shows_every_result_newest_first(served: Served) -> None:
    status, headers, page = get(served.url)
    assert status == 200
    assert headers["Content-Security-Policy"].startswith("default-src 'none'; style-src 'sha256-")
    assert "<script" not in page
    s = served.store
    rows = [line for line in page.splitlines() if 'data-testid="result-row"' in line]
    names = [s.partial.name, s.more_trials.name, s.live.name, s.scripted.name]
    assert [row.split('data-name="')[1].split('"')[0] for row in rows] == names
    partial, _, live, scripted = rows
    assert "partial: 3 of 12 runs" in partial
    assert "scripted: nothing billed" in scripted
    assert "$0.1320" in live
    assert f'href="/result/{s.scripted.name}"' in scripted
    assert f'href="/compare/{s.scripted.name}/{s.live.name}"' in live  # with the one before
    assert f"<code>{s.corrupt.name}</code>: Invalid JSON" in page


def test_a_result_and_a_pair_are_report_pages(served: Served) -> None:
    s = served.store
    status, headers, page = get(served.url + "result/" + s.live.name)
    assert status == 200
    # Sent part by part as made (no length, the closed connection ends it), and whole.
    assert "Content-Length" not in headers
    assert page.endswith("</body>\n</html>\n")
    data = json_element(page, "report-data")
    assert [r["name"] for r in data["results"]] == [s.live.name]
    # Compared with the previous result, like for like or not at all (scripted before live).
    assert data["comparisons"] == []
    status, _, pair = get(f"{served.url}compare/{s.scripted.name}/{s.more_trials.name}")
    assert status == 200
    [comparison] = json_element(pair, "report-data")["comparisons"]
    assert comparison["comparison"]["not_like_for_like"] == ["trials 2 -> 3"]
    # The name without .json names it too.
    assert get(served.url + "result/" + s.scripted.stem)[0] == 200
    # Served, a page links back to the list; the file `report` writes has no list to go to.
    assert 'href="/" data-testid="home"' in page
    stored = [StoredResult(s.live.name, SuiteResult.model_validate_json(s.live.read_text()))]
    assert 'data-testid="home"' not in build_report(stored)


def test_a_result_stored_while_serving_is_listed(served: Served) -> None:
    s = served.store
    assert 'data-testid="unreadable"' in get(served.url)[2]
    later = stored(s.root, ab_result([(1, 2)], 2), day=9)
    # The broken file made whole, as the store writes: beside it, then renamed over it.
    whole = s.root / ".whole.tmp"
    whole.write_text(s.scripted.read_text())
    whole.rename(s.corrupt)
    _, _, page = get(served.url)
    assert f'data-name="{later.name}"' in page
    assert f'data-name="{s.corrupt.name}"' in page
    assert 'data-testid="unreadable"' not in page
    assert get(served.url + "result/" + later.name)[0] == 200


def test_only_the_stores_own_files_are_served(served: Served, tmp_path: Path) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text(served.store.scripted.read_text())
    (served.store.root / "link-out.json").symlink_to(secret)
    for name in (
        "..%2Fsecret.json",
        "..%2F..%2F..%2Fetc%2Fpasswd",
        "%2Fetc%2Fpasswd",
        "link-out.json",
        "nothing.json",
        "",
    ):
        status, _, body = get(served.url + "result/" + name)
        assert status == 404, name
        assert "no such" in body
    assert get(f"{served.url}compare/{served.store.scripted.name}/..%2Fsecret.json")[0] == 404
    assert get(served.url + "result/a/../../secret.json")[0] == 404
    assert get(served.url + "elsewhere")[0] == 404
    # Another site's name for this address (DNS rebinding) is refused.
    assert get(served.url, Host="attacker.example")[0] == 421
    # A file that is no result is said so, not served.
    status, _, body = get(served.url + "result/" + served.store.corrupt.name)
    assert status == 422
    assert "Invalid JSON" in body


def test_the_lists_form_opens_the_pair(served: Served) -> None:
    s = served.store
    url = f"{served.url}compare?before={s.scripted.name}&after={s.live.name}"
    request = urllib.request.Request(url)
    with urllib.request.urlopen(request) as reply:  # follows the redirect
        assert reply.url == f"{served.url}compare/{s.scripted.name}/{s.live.name}"
        assert "report-data" in reply.read().decode()


def test_the_command_prints_its_url_opens_it_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    store = a_store(tmp_path / "runs")
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    browser.chmod(0o755)
    proc = subprocess.Popen(
        [sys.executable, "-m", "runner", "view", "--runs-dir", str(store.root), "--open"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "BROWSER": str(browser)},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # printed once the socket listens
        assert line.startswith(f"view: serving 4 results from {store.root} on http://127.0.0.1:")
        url = line.split(" on ")[1].split()[0]
        assert opened.read_text().strip() == url  # the browser was started before the line
        assert get(url)[0] == 200
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.splitlines() == ["runner: view stopped"]


def test_a_port_in_use_is_one_line(served: Served) -> None:
    port = served.url.rsplit(":", 1)[1].rstrip("/")
    proc = subprocess.run(
        [sys.executable, "-m", "runner", "view", "--port", port],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    [line] = proc.stderr.splitlines()
    assert line.startswith(f"runner: view: cannot listen on 127.0.0.1:{port} (")


# ---- in Chromium --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch()


def test_the_list_and_a_result_in_the_browser(browser: Browser, served: Served) -> None:
    listed = open_url(browser, served.url)
    page = listed.page
    assert page.get_by_test_id("result-row").count() == 4
    assert page.get_by_test_id("unreadable").count() == 1
    screenshot(page, "view-list", full_page=True)
    listed.assert_clean()  # no script, no request beyond the page itself
    # The form opens the pair chosen.
    s = served.store
    page.locator("select[name=before]").select_option(s.scripted.name)
    page.locator("select[name=after]").select_option(s.more_trials.name)
    page.get_by_role("button", name="Compare").click()
    page.wait_for_selector("body[data-ready='1'] [data-testid=tab-compare]")
    assert page.url == f"{served.url}compare/{s.scripted.name}/{s.more_trials.name}"
    assert listed.errors == []
    page.close()

    result = open_url(browser, served.url + "result/" + s.scripted.name)
    assert result.page.get_by_test_id("overview").is_visible()  # the report's first view
    result.page.get_by_test_id("tab-runs").click()
    assert result.page.get_by_test_id("runs-table").is_visible()
    result.assert_clean()
    result.page.get_by_test_id("home").click()  # back to the list
    result.page.wait_for_selector("[data-testid=result-row]")
    assert result.page.url == served.url
    result.page.close()


def test_a_pair_not_like_for_like_is_marked_in_the_browser(
    browser: Browser, served: Served
) -> None:
    s = served.store
    pair = open_url(browser, f"{served.url}compare/{s.scripted.name}/{s.more_trials.name}")
    page = pair.page
    page.get_by_test_id("tab-compare").click()
    mark = page.get_by_test_id("not-like-for-like")
    assert mark.inner_text() == "not like for like: trials 2 -> 3"
    assert page.get_by_test_id("commentary").inner_text().startswith("Not like for like")
    screenshot(page, "view-compare-not-like-for-like", full_page=True)
    pair.assert_clean()
    page.close()


def test_the_list_at_phone_width_scrolls_its_table_not_the_page(
    browser: Browser, served: Served
) -> None:
    listed = open_url(browser, served.url, viewport={"width": 390, "height": 844})
    page = listed.page
    page_wide = page.evaluate("document.documentElement.scrollWidth")
    assert page_wide <= 390
    screenshot(page, "view-list-narrow")
    listed.assert_clean()
    page.close()
