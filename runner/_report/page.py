"""The dashboard as one HTML file: a skeleton, the CSS and JS inlined from ``assets/``, and the
data as JSON elements: one for the tables, one per run for its transcript, parsed only when
its row is opened, and per result its extras (SKILL.md texts, the pairs offered side by side)
and one per pair of runs, parsed only when the pair is shown; then per comparison the pairs of
its runs that changed, with the transcripts the page does not hold already. Nothing is fetched: a
Content-Security-Policy lets only this page's own script and style run, so a transcript that
breaks out of its element still cannot run code.

The page is made in parts (``page_parts``), in the order it is read: ``report`` writes each
before the next is made, so memory holds one run's detail at a time, not the page."""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Iterator, Sequence
from importlib.resources import files

from runner._report.across import Placed, across_elements
from runner._report.views import (
    Element,
    ResultDetails,
    StoredResult,
    detail_id,
    element_json,
    extras_id,
    page_data,
    pair_id,
)


class AssetError(ValueError):
    """An asset that would end its own inline element early."""


def asset(name: str, closing: str) -> str:
    text = files("runner._report").joinpath("assets", name).read_text(encoding="utf-8")
    if closing in text.lower():
        raise AssetError(f"{name} holds {closing!r}, which would end its inline element")
    return text


def json_element(element_id: str, model: Element) -> str:
    """``model`` as a JSON data element; "<" escaped, so no "</script>" can end it early (a
    kept timeline's JSON too: it is escaped here, as it is embedded)."""
    payload = element_json(model).replace("<", "\\u003c")
    return f'<script type="application/json" id="{element_id}">{payload}</script>\n'


def csp_digest(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _head(title: str, css: str, js: str, home: str | None) -> str:
    policy = (
        f"default-src 'none'; script-src {csp_digest(js)}; style-src {csp_digest(css)}; "
        "base-uri 'none'; form-action 'none'"
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{policy}">
<title>{html.escape(title)}</title>
<style>{css}</style>
</head>
<body>
<header class="top">
<h1>runner report</h1>
{_home_link(home)}<label id="picker" hidden>Result
<select id="result-picker" data-testid="result-picker"></select></label>
<span class="spacer"></span>
<button type="button" id="theme-toggle" data-testid="theme-toggle">Theme</button>
</header>
<div id="headline" class="headline" data-testid="headline" hidden></div>
<div id="result-info" class="info"></div>
<nav id="tabs" class="tabs" role="tablist">
<button type="button" role="tab" data-view="overview" data-testid="tab-overview">Overview</button>
<button type="button" role="tab" data-view="runs" data-testid="tab-runs">Runs</button>
<button type="button" role="tab" data-view="ab" data-testid="tab-ab">A/B</button>
<button type="button" role="tab" data-view="compare" data-testid="tab-compare">Compare</button>
<button type="button" role="tab" data-view="side" data-testid="tab-side">Side by side</button>
</nav>
<main>
<section id="view-overview" data-testid="overview"></section>
<section id="view-runs" hidden>
<div class="filter-bar">
<div id="filters" class="filters" role="group" aria-label="Lane"></div>
<div class="filters" role="group" aria-label="Scenario">
<label><span class="label">Scenario</span>
<select id="scenario-filter" data-testid="scenario-filter"></select></label>
<button type="button" id="clear-filters" data-testid="clear-filters" hidden>✕ Clear filters</button>
</div>
</div>
<p id="runs-shown" class="muted"></p>
<div id="runs-table" role="table" aria-label="Runs" data-testid="runs-table">
<div role="rowgroup"><div class="run-head" role="row">
<div role="columnheader"></div><div role="columnheader">scenario</div>
<div role="columnheader">lane</div><div role="columnheader" class="num">trial</div>
<div role="columnheader">status</div><div role="columnheader" class="num">cost</div>
<div role="columnheader" class="num">tokens in / out</div>
<div role="columnheader" class="num">turns</div><div role="columnheader" class="num">duration</div>
<div role="columnheader">skill</div>
</div></div>
<div id="runs-body"></div>
</div>
</section>
<section id="view-ab" hidden></section>
<section id="view-compare" hidden></section>
<section id="view-side" hidden></section>
</main>
<noscript>This report draws its charts and tables with JavaScript; please enable it.</noscript>
"""


# The page's script, in order: one function scope, so each part uses the ones before it and
# the last (dashboard.js) sets the page up once every function is defined.
SCRIPT_PARTS = (
    "core.js",
    "markdown.js",
    "transcript.js",
    "sidebyside.js",
    "across.js",
    "charts.js",
    "dashboard.js",
)


def script() -> str:
    parts = "\n".join(asset(name, "</script") for name in SCRIPT_PARTS)
    return f'(function () {{\n"use strict";\n\n{parts}}})();\n'


def _details(
    results: Sequence[StoredResult], comparisons: Sequence[tuple[StoredResult, StoredResult]]
) -> Iterator[str]:
    page = []
    for i, stored in enumerate(results):
        built = ResultDetails(stored)
        for j, detail in enumerate(built.details()):
            yield json_element(detail_id(i, j), detail)
        yield json_element(extras_id(i), built.extras())
        for pair in built.pairs():
            yield json_element(pair_id(i, pair.a, pair.b), pair)
        page.append(built)
    for k, (before, after) in enumerate(comparisons):
        sides = (Placed.of(before, page, k, "a"), Placed.of(after, page, k, "b"))
        for element_id, model in across_elements(k, *sides):
            yield json_element(element_id, model)


def _home_link(home: str | None) -> str:
    # Served by `view`: the way back to the list of every result.
    if home is None:
        return ""
    return f'<a class="home" href="{html.escape(home)}" data-testid="home">All results</a>\n'


def page_parts(
    results: Sequence[StoredResult],
    comparisons: Sequence[tuple[StoredResult, StoredResult]],
    *,
    home: str | None = None,
) -> Iterator[str]:
    """The page in the order it is read, each part made as it is asked for: ``report`` writes
    one before making the next, so a page of any size needs the memory of one run's detail."""
    css = asset("dashboard.css", "</style")
    js = script()
    title = f"runner report: {results[-1].name}" if results else "runner report"
    yield _head(title, css, js, home)
    # The script before the transcripts: the table is drawn before they are even parsed.
    yield json_element("report-data", page_data(results, comparisons))
    yield f"<script>{js}</script>\n"
    yield from _details(results, comparisons)
    yield "</body>\n</html>\n"


def build_report(
    results: Sequence[StoredResult],
    comparisons: Sequence[tuple[StoredResult, StoredResult]] = (),
    *,
    home: str | None = None,
) -> str:
    """The whole page as one string (``report`` and ``view`` stream ``page_parts``)."""
    return "".join(page_parts(results, comparisons, home=home))
