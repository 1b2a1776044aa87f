"""The commands that browse the stored results: ``results`` (a line each) and ``view`` (served
on 127.0.0.1 as pages)."""

from __future__ import annotations

import argparse

from runner._cli.cmdline import HelpFormatter, dir_option, fail, interrupted, port, say
from runner._util.defaults import RUNS_ROOT

# Each handler imports what it uses: building the parser stays light (start-up, issue 17).

MAKE_ONE = "run `python -m runner eval` (or `ab`) to store one"


def _results(args: argparse.Namespace) -> int:
    from runner._results.history import listing, render_listing
    from runner._results.store import RunStore
    from runner._util.terminal import json_visible

    found = listing(RunStore(args.runs_dir))
    if args.json:
        print(json_visible(found.model_dump_json(indent=2)))
    elif not found.results and not found.unreadable:
        print(f"no results in {args.runs_dir}: {MAKE_ONE}")
    else:
        print(render_listing(found))
    return 0


def _view(args: argparse.Namespace) -> int:
    from runner._report.server import ResultsServer
    from runner._results.history import listing
    from runner._results.store import RunStore
    from runner._util.figures import plural

    store = RunStore(args.runs_dir)
    try:
        server = ResultsServer(store, args.port)
    except OSError as exc:
        return fail(f"view: cannot listen on 127.0.0.1:{args.port} ({exc.strerror or exc})")
    with server:
        # The socket listens already: a browser opened now is answered once serving starts.
        import webbrowser  # here: it imports subprocess, which help and transcript do not need

        if args.open and not webbrowser.open(server.url):
            say(f"view: no browser to open; open {server.url}")
        count = len(listing(store).results)
        print(
            f"view: serving {plural(count, 'result')} from {args.runs_dir} on {server.url} "
            "(Ctrl-C stops it)",
            flush=True,
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            say("view stopped")
            return interrupted()
    return 0


RESULTS_EPILOG = """\
Each line: the result's name (what compare, report and view take), when it started, the suite,
its lanes, scenarios × trials, the pass rate per lane, the cost ("scripted: nothing billed"
when a scripted model answered), and PARTIAL for an eval that never finished. Newest last.
A file that cannot be read is listed with why.

examples:
  python -m runner results
  python -m runner results --json | jq '.results[-1].name'"""

VIEW_EPILOG = """\
Pages: / lists every result (newest first) with a form to compare two; /result/NAME is the
page `report` writes for that result (compared with the previous like-for-like one);
/compare/BEFORE/AFTER is the page of both and their comparison. The store is read on every
request: results stored while it serves appear on the next load. Only 127.0.0.1 is served.

examples:
  python -m runner view --open
  python -m runner view --port 8765 --runs-dir ../other/.runner/runs"""


def add_view_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    res = sub.add_parser(
        "results",
        help="list the stored eval results, one line each",
        description="List every result in --runs-dir: what ran, how often it passed, what it cost.",
        epilog=RESULTS_EPILOG,
        formatter_class=HelpFormatter,
    )
    res.add_argument("--json", action="store_true", help="print the list as JSON")
    dir_option(res, "--runs-dir", RUNS_ROOT)
    res.set_defaults(func=_results)

    view = sub.add_parser(
        "view",
        help="browse the stored results in a browser, served on 127.0.0.1",
        description="Serve the stored results as pages on 127.0.0.1 until Ctrl-C: the list, "
        "any result, any two compared.",
        epilog=VIEW_EPILOG,
        formatter_class=HelpFormatter,
    )
    view.add_argument(
        "--port",
        type=port,
        default=0,
        metavar="N",
        help="port to listen on; default 0: a free one (the URL is printed)",
    )
    view.add_argument("--open", action="store_true", help="open the list in a browser")
    dir_option(view, "--runs-dir", RUNS_ROOT)
    view.set_defaults(func=_view)
