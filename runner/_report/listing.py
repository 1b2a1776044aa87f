"""``runner view``'s first page: every stored result, newest first, each linked to its report
page, with a form that opens two as a comparison. Drawn here, with no script at all: its
Content-Security-Policy lets only its own style in, and nothing is fetched."""

from __future__ import annotations

import html
from urllib.parse import quote

from runner._report.page import asset, csp_digest
from runner._results.history import Listed, Listing
from runner._util.figures import plural


def policy(css: str) -> str:
    # form-action 'self': the compare form is the page's only way out, to this server.
    return f"default-src 'none'; style-src {csp_digest(css)}; base-uri 'none'; form-action 'self'"


def href(*parts: str) -> str:
    return "/" + "/".join(quote(p, safe="") for p in parts)


def _e(text: object) -> str:
    return html.escape(str(text))


def _row(r: Listed, before: Listed | None) -> str:
    rates = "<br>".join(_e(p.text) for p in r.pass_rates) or "no runs"
    partial = (
        f' <span class="partial">partial: {r.runs} of {r.planned} runs</span>' if r.partial else ""
    )
    pair = (
        f'<a href="{href("compare", before.name, r.name)}" data-testid="vs-before">'
        f"with the one before</a>"
        if before is not None
        else ""
    )
    cells = [
        f'<a class="name" href="{href("result", r.name)}">{_e(r.name)}</a>{partial}',
        _e(r.when),
        _e(r.suite),
        _e(", ".join(r.lanes)),
        f"{r.scenarios} × {r.trials}",
        rates,
        _e(r.cost),
        pair,
    ]
    return (
        f'<tr data-testid="result-row" data-name="{_e(r.name)}">'
        + "".join(f"<td>{c}</td>" for c in cells)
        + "</tr>\n"
    )


def _options(rows: list[Listed], chosen: int) -> str:
    return "".join(
        f'<option value="{_e(r.name)}"{" selected" if i == chosen else ""}>{_e(r.name)}</option>'
        for i, r in enumerate(rows)
    )


def _form(newest_first: list[Listed]) -> str:
    if len(newest_first) < 2:
        return ""
    return (
        '<form method="get" action="/compare" data-testid="compare-form">'
        f'<label>Before <select name="before">{_options(newest_first, 1)}</select></label> '
        f'<label>After <select name="after">{_options(newest_first, 0)}</select></label> '
        '<button type="submit">Compare</button></form>\n'
    )


def _table(newest_first: list[Listed]) -> str:
    head = ("result", "started", "suite", "lanes", "scenarios × trials", "pass", "cost", "")
    rows = []
    for i, r in enumerate(newest_first):
        # The pair to open: this result and the one before it of the same suite.
        before = next((b for b in newest_first[i + 1 :] if b.suite == r.suite), None)
        rows.append(_row(r, before))
    return (
        '<div class="scroll"><table data-testid="results">\n<tr>'
        + "".join(f"<th>{h}</th>" for h in head)
        + "</tr>\n"
        + "".join(rows)
        + "</table></div>\n"
    )


def _unreadable(found: Listing) -> str:
    if not found.unreadable:
        return ""
    items = "".join(
        f'<li data-testid="unreadable"><code>{_e(u.name)}</code>: {_e(u.why)}</li>'
        for u in found.unreadable
    )
    return f'<h2>Unreadable files</h2><ul class="unreadable">{items}</ul>\n'


def listing_page(found: Listing) -> tuple[str, str]:
    """The page, and its Content-Security-Policy (also sent as a header)."""
    css = asset("listing.css", "</style")
    newest_first = found.results[::-1]
    if newest_first:
        body = _form(newest_first) + _table(newest_first)
    else:
        body = (
            '<p data-testid="empty">No results here yet: <code>python -m runner eval</code> '
            "(or <code>ab</code>) stores one.</p>\n"
        )
    csp = policy(css)
    where = f"{plural(len(found.results), 'result')} in <code>{_e(found.root)}</code>"
    page = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<title>runner results</title>
<style>{css}</style>
</head>
<body data-ready="1">
<h1>runner results</h1>
<p class="muted">{where}, newest first; read again on every load.</p>
{body}{_unreadable(found)}</body>
</html>
"""
    return page, csp
