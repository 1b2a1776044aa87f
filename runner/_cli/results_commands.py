"""The commands that read what evals left behind: ``compare`` and ``report`` (stored results)
and ``cache`` (stored runs)."""

from __future__ import annotations

import argparse

from runner._cli.cmdline import HelpFormatter, absolute, dir_option, fail, positive_number, say
from runner._util.defaults import CACHE_ROOT, RUNS_ROOT

# Each handler imports what it uses: building the parser stays light (start-up, issue 17).

DEFAULT_REPORT = RUNS_ROOT.parent / "report.html"


def _compare(args: argparse.Namespace) -> int:
    from runner._results.compare import compare, differences
    from runner._results.render_suite import render_comparison
    from runner._results.store import RunStore, StoreError
    from runner._util.terminal import json_visible

    store = RunStore(args.runs_dir)
    refs = args.runs or ["previous", "latest"]
    if len(refs) != 2:
        return fail("compare: give two runs (BEFORE AFTER), or none for the last two")
    try:
        before_path, after_path = (store.resolve(r) for r in refs)
        before, after = store.load(before_path), store.load(after_path)
    except StoreError as exc:
        return fail(str(exc))
    unlike = differences(before.header, after.header)
    if unlike and not args.force:
        return fail(
            f"{before_path.name} and {after_path.name} are not like for like "
            f"({'; '.join(unlike)}): compare results of one suite, lanes, trials and model, "
            "or pass --force to compare them anyway"
        )
    comparison = compare(before, after)
    if args.json:
        print(json_visible(comparison.model_dump_json(indent=2)))
    else:
        print(
            render_comparison(comparison, before_name=before_path.name, after_name=after_path.name)
        )
    return 0


def _cache(args: argparse.Namespace) -> int:
    from runner._evaluate.cache import RunCache

    cache = RunCache(args.cache_dir)
    if args.action == "stats":
        stats = cache.stats()
        if args.json:
            print(stats.model_dump_json(indent=2))
            return 0
        reasons = ", ".join(f"{n} {why}" for why, n in stats.exit_reasons.items()) or "none"
        print(f"cache       {stats.root}")
        print(f"entries     {stats.entries} ({reasons})")
        print(f"size        {stats.bytes / 1e6:.1f} MB")
        print(f"last used   {stats.oldest_use or '-'} .. {stats.newest_use or '-'}")
        print(f"corrupt     {stats.corrupt}")
        if stats.older_schema:
            print(f"old schema  {stats.older_schema} (an earlier runner's; prune removes them)")
        print(f"set aside   {stats.failed} uncacheable attempts (failed/)")
        print(f"in progress {stats.in_progress} (tmp/)")
        return 0
    report = cache.prune(older_than_days=args.older_than, dry_run=args.dry_run)
    if args.json:
        print(report.model_dump_json(indent=2))
        return 0
    what = ", ".join(f"{n} {why}" for why, n in report.removed.items()) or "nothing"
    verb = "would remove" if report.dry_run else "removed"
    print(f"{verb} {what}; {report.bytes_freed / 1e6:.1f} MB")
    return 0


def _report(args: argparse.Namespace) -> int:
    from runner._report.stored import report_parts
    from runner._results.store import RunStore, StoreError
    from runner._util.atomic import write_parts_atomically
    from runner._util.figures import plural

    store = RunStore(args.runs_dir)
    refs = args.results or ["latest"]
    try:
        paths = [store.resolve(ref) for ref in refs]
        parts, runs, note = report_parts(store, paths)
    except StoreError as exc:
        hint = "" if args.results else " (run `python -m runner eval` first)"
        return fail(f"{exc}{hint}")
    if note is not None:
        say(note)
    out = args.output
    # Written as it is made, one run's detail at a time: the page is never whole in memory.
    size = write_parts_atomically(out, parts) / 1e6
    print(
        f"wrote {out} ({plural(runs, 'run')}, {size:.1f} MB): open it in a browser, "
        "no network needed"
    )
    return 0


REPORT_EPILOG = """\
A RESULT is a stored result's file path, its name or the start of it in --runs-dir, `latest`
or `previous`; an `eval --out` or `ab --out` file works too. Its A/B view gives the verdicts
the command printed (the result keeps its --margin and the looks of `ab --until-decided`).
With none: the latest, compared with the run before it. With two or more: each is shown, and
each is compared with the one before it.

The page is one file with everything inline (no network, no CDN): a results table with a
filter per lane and a skill badge per run; click a run for its transcript (tool calls and
results, thinking, subagents) or its agent log; the A/B statistics when a result has two lanes
or more; the comparisons; light and dark themes. Transcripts are read from each run's folder
in the run cache the eval used (the result records where) and shown only when a run is
opened, so a page of 1,000 runs stays fast.

examples:
  python -m runner report                          # latest -> .runner/report.html
  python -m runner report previous latest -o ab.html
  python -m runner report results.json -o results.html"""


def add_result_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmp = sub.add_parser(
        "compare",
        help="compare two stored eval results: regressions, improvements, cost and turns",
        description="Compare two results in --runs-dir: per run improved, regressed, "
        "unchanged, new or removed, with cost, turn and duration changes and commentary. "
        "A run is a file path, a file name or the start of one, `latest` or `previous`. "
        "Results of another suite, other lanes, another trial count or another model (scripted "
        "or live) are not like for like: refused, unless --force, which marks them so.",
        epilog="examples:\n  python -m runner compare                    # previous vs latest\n"
        "  python -m runner compare 0.1.0-main-3f2a 0.1.0-main-9c1b --json\n"
        "  python -m runner results                    # the stored results' names",
        formatter_class=HelpFormatter,
    )
    cmp.add_argument("runs", nargs="*", metavar="RUN", help="BEFORE AFTER; default: the last two")
    cmp.add_argument("--json", action="store_true", help="print the comparison as JSON")
    cmp.add_argument(
        "--force",
        action="store_true",
        help="compare results that are not like for like, marked as such",
    )
    dir_option(cmp, "--runs-dir", RUNS_ROOT)
    cmp.set_defaults(func=_compare)

    rep = sub.add_parser(
        "report",
        help="write stored results as one self-contained HTML dashboard",
        description="Write one static HTML file: the runs of the given results with their "
        "transcripts, the A/B statistics and the comparisons.",
        epilog=REPORT_EPILOG,
        formatter_class=HelpFormatter,
    )
    rep.add_argument("results", nargs="*", metavar="RESULT", help="default: latest")
    rep.add_argument(
        "-o",
        "--output",
        type=absolute,
        default=str(DEFAULT_REPORT),
        metavar="FILE",
        help=f"where to write the page; default {DEFAULT_REPORT}",
    )
    dir_option(rep, "--runs-dir", RUNS_ROOT)
    rep.set_defaults(func=_report)

    cache = sub.add_parser(
        "cache",
        help="show or prune the run cache",
        description="stats: what the cache holds. prune: remove corrupt entries, set-aside "
        "failed attempts, stale temporary folders, and with --older-than, entries unused for "
        "that many days.",
    )
    cache.add_argument("action", choices=("stats", "prune"))
    cache.add_argument(
        "--older-than",
        type=positive_number,
        metavar="DAYS",
        help="prune: also entries unused this long",
    )
    cache.add_argument("--dry-run", action="store_true", help="prune: only say what would go")
    cache.add_argument("--json", action="store_true")
    dir_option(cache, "--cache-dir", CACHE_ROOT)
    cache.set_defaults(func=_cache)
