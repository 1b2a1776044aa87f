"""``python -m runner view``: the stored results served on 127.0.0.1. ``/`` lists them,
``/result/NAME`` is the page ``report`` writes for one, ``/compare/BEFORE/AFTER`` the page of
two and their comparison. The store is read again on every request, so new evals appear.

Only names the store lists are served: a name is looked up among the store's files, never
joined onto a path, and a file whose link leads out of the store is not found. A request must
name this server as its Host, so a web page cannot reach it through a rebound DNS name."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from runner._report.listing import href, listing_page
from runner._report.stored import report_parts
from runner._results.history import Memo, listing, stored_names
from runner._results.store import RunStore, StoreError

HOST = "127.0.0.1"


@dataclass
class Reply:
    status: HTTPStatus
    body: str | Iterator[str]  # a page is sent part by part as it is made, never held whole
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


def _text(status: HTTPStatus, line: str) -> Reply:
    return Reply(status, line + "\n", "text/plain; charset=utf-8")


class Site:
    """What each path answers; no sockets, so it is tested directly too."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self.memo: Memo = {}  # the list's rows by file, read again only when a file changes
        self.memo_lock = threading.Lock()  # one request at a time updates it

    def stored(self, name: str) -> Path | None:
        """The file ``name`` (or ``name``.json) names in the store, if it is one, inside it."""
        names = stored_names(self.store.root)
        found = next((n for n in (name, f"{name}.json") if n in names), None)
        if found is None:
            return None
        path = self.store.root / found
        inside = path.resolve().is_relative_to(self.store.root.resolve())
        return path if inside and path.resolve().is_file() else None

    def reply(self, target: str) -> Reply:
        url = urlsplit(target)
        parts = [unquote(p) for p in url.path.split("/")[1:]]
        if parts in ([], [""]):
            with self.memo_lock:
                found = listing(self.store, self.memo)
            page, csp = listing_page(found)
            return Reply(HTTPStatus.OK, page, headers={"Content-Security-Policy": csp})
        if parts == ["compare"]:
            return self._chosen_pair(parse_qs(url.query))
        if len(parts) == 2 and parts[0] == "result":
            return self._page(parts[1:])
        if len(parts) == 3 and parts[0] == "compare":
            return self._page(parts[1:])
        return _text(HTTPStatus.NOT_FOUND, f"{url.path}: no such page (the list is at /)")

    def _page(self, names: list[str]) -> Reply:
        paths = [self.stored(name) for name in names]
        missing = [name for name, path in zip(names, paths, strict=True) if path is None]
        if missing:
            return _text(HTTPStatus.NOT_FOUND, f"{missing[0]}: no such result in the store")
        try:
            # A store of its own: RunStore keeps the problems of its last scan.
            paths_found = [p for p in paths if p is not None]
            page = report_parts(RunStore(self.store.root), paths_found, home="/")
        except StoreError as exc:
            return _text(HTTPStatus.UNPROCESSABLE_ENTITY, str(exc))
        return Reply(HTTPStatus.OK, page.parts)

    def _chosen_pair(self, query: dict[str, list[str]]) -> Reply:
        # The list's form: its two choices, as the pair's own address.
        before, after = (query.get(key, [""])[0] for key in ("before", "after"))
        if not before or not after:
            return _text(HTTPStatus.BAD_REQUEST, "compare: choose a result before and after")
        return Reply(HTTPStatus.SEE_OTHER, "", headers={"Location": href("compare", before, after)})


class _Handler(BaseHTTPRequestHandler):
    server: ResultsServer

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def _answer(self, *, body: bool) -> None:
        if self.headers.get("Host") not in self.server.hosts:
            reply = _text(HTTPStatus.MISDIRECTED_REQUEST, "this server answers to its address only")
        else:
            reply = self.server.site.reply(self.path)
        whole = reply.body.encode() if isinstance(reply.body, str) else None
        # A streamed page has no length: the closed connection ends it (HTTP/1.0).
        length = {} if whole is None else {"Content-Length": str(len(whole))}
        self.send_response(reply.status)
        for name, value in {
            "Content-Type": reply.content_type,
            **length,
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY",  # no other site's page frames these
            **reply.headers,
        }.items():
            self.send_header(name, value)
        self.end_headers()
        if not body:
            return
        if whole is not None:
            self.wfile.write(whole)
            return
        self.close_connection = True
        for part in reply.body:
            self.wfile.write(part.encode())

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the terminal keeps the one line saying where the results are served."""


class ResultsServer(ThreadingHTTPServer):
    daemon_threads = True  # a page being sent does not hold up Ctrl-C

    def __init__(self, store: RunStore, port: int) -> None:
        super().__init__((HOST, port), _Handler)
        self.site = Site(store)
        bound = self.server_address[1]
        self.url = f"http://{HOST}:{bound}/"
        self.hosts = {f"{HOST}:{bound}", f"localhost:{bound}"}
