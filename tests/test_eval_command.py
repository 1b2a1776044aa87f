"""``python -m runner eval``, ``compare`` and ``cache``, as a user runs them: the real CLI
against each scenario's scripted model, a cache, a run store."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from pathlib import Path

import pytest

from runner._agent.engine import RunRecord
from runner._model.script import tool
from runner._results.store import RunStore
from tests.engine_support import background_command, marker, processes_with
from tests.suite_commands import (
    Workbench,
    live_upstream,
    offline_env,
    report,
    run_runner,
    workbench,
)
from tests.waiting import wait_for

pytestmark = pytest.mark.cli

RUN_FIELDS = {
    "scenario",
    "lane",
    "trial",
    "passed",
    "exit_reason",
    "cache_hit",
    "cost_usd",
    "num_turns",
    "duration_ms",
    "tool_sequence",
    "skills_invoked",
    "checks",
}


@pytest.fixture
def bench(tmp_path: Path) -> Workbench:
    return workbench(tmp_path)


def test_example_suite_runs_offline_then_all_from_cache_and_compared(bench: Workbench) -> None:
    first = bench.eval("--json")
    assert first.returncode == 0, first.stderr
    doc = report(first)
    assert "offline" in first.stderr
    assert "$0" in first.stderr
    assert doc["header"]["mode"] == "scripted"
    assert [(r["scenario"], r["lane"]) for r in doc["runs"]] == [
        ("feature-entry", "agent-skill"),
        ("fix-entry", "agent-skill"),
        ("new-changelog", "agent-skill"),
    ]
    for run in doc["runs"]:
        assert run.keys() >= RUN_FIELDS
        assert run["passed"]
        assert not run["cache_hit"]
        assert not run["live"]
        assert run["skills_invoked"] == ["changelog"]
        assert run["tool_sequence"][0] == "Skill"
        assert all({"name", "passed", "detail"} == c.keys() for c in run["checks"])
    started = bench.cli_runs()
    assert started == 4  # three agents and new-changelog's judge
    assert doc["baseline"] is None
    assert doc["comparison"] is None
    assert len(re.findall(r"\[\d/3\]", first.stderr)) == 3  # live progress, one line per run

    second = bench.eval()
    assert second.returncode == 0, second.stderr
    assert bench.cli_runs() == started  # nothing started: every run and the judge cached
    assert "3 from cache" in second.stdout
    assert "Nothing changed" in second.stdout
    # One skill lane answers nothing about the skill: the last line says what would.
    want = "does the skill help, and at what cost? "
    want += "python -m runner ab --lanes agent-baseline,agent-skill"
    assert second.stdout.rstrip().endswith(want)
    stored = bench.stored()
    assert len(stored) == 2
    assert not any(p.name.endswith(".partial.json") for p in stored)
    saved = json.loads(stored[-1].read_text())
    assert saved["header"]["partial"] is False
    assert saved["header"]["totals"]["cache_hits"] == 3


def test_variant_is_the_documented_alias_of_lanes(bench: Workbench) -> None:
    # `eval --variant agent-skill` is in every guide: the same runs as --lanes, so cached.
    first = bench.eval("--variant", "agent-skill", "--json")
    assert first.returncode == 0, first.stderr
    assert report(first)["header"]["lanes"] == ["agent-skill"]
    started = bench.cli_runs()
    second = bench.eval("--lanes", "agent-skill", "--json")
    assert second.returncode == 0, second.stderr
    assert all(r["cache_hit"] for r in report(second)["runs"])
    assert bench.cli_runs() == started
    for command in ("eval", "ab"):
        usage = " ".join(run_runner(command, "--help", cwd=bench.root).stdout.split())
        assert "[--lanes " in usage
        assert "--variant is an alias" in usage
        assert "[--variant" not in usage  # one name taught


def test_an_edited_check_rescores_the_cached_run_without_the_cli(bench: Workbench) -> None:
    assert bench.eval().returncode == 0
    started = bench.cli_runs()
    toml = bench.scenario_file("fix-entry")
    toml.write_text(
        toml.read_text() + '\n[[check]]\nname = "says goodbye"\ntype = "file_matches"\n'
        'path = "CHANGELOG.md"\npattern = "Goodbye"\n'
    )
    proc = bench.eval("--json")
    assert proc.returncode == 1
    assert bench.cli_runs() == started
    runs = {r["scenario"]: r for r in report(proc)["runs"]}
    assert all(r["cache_hit"] for r in runs.values())
    failed = [c for c in runs["fix-entry"]["checks"] if not c["passed"]]
    assert [c["name"] for c in failed] == ["says goodbye"]
    assert "no match for /Goodbye/" in failed[0]["detail"]
    comparison = report(proc)["comparison"]
    assert comparison["counts"]["regressed"] == 1
    assert comparison["commentary"][0].startswith("fix-entry/agent-skill#0")


def test_an_edited_instruction_runs_that_scenario_again_only(bench: Workbench) -> None:
    assert bench.eval().returncode == 0
    started = bench.cli_runs()
    toml = bench.scenario_file("feature-entry")
    toml.write_text(toml.read_text().replace('instruction = """', 'instruction = """\nNow: ', 1))
    proc = bench.eval("--json")
    hits = {r["scenario"]: r["cache_hit"] for r in report(proc)["runs"]}
    assert hits == {"feature-entry": False, "fix-entry": True, "new-changelog": True}
    assert bench.cli_runs() == started + 1


def test_no_cache_and_refresh(bench: Workbench) -> None:
    proc = bench.eval("--no-cache", "--scenarios", "fix-entry", "--json")
    assert proc.returncode == 0, proc.stderr
    assert not report(proc)["runs"][0]["cache_hit"]
    assert not (bench.root / "cache" / "runs").exists()  # nothing written
    assert bench.eval("--scenarios", "fix-entry").returncode == 0
    started = bench.cli_runs()
    entries = list((bench.root / "cache" / "runs").glob("*/*"))
    assert len(entries) == 1
    before = (entries[0] / "record.json").read_text()
    refreshed = bench.eval("--refresh", "--scenarios", "fix-entry", "--json")
    assert not report(refreshed)["runs"][0]["cache_hit"]
    assert bench.cli_runs() == started + 1
    assert list((bench.root / "cache" / "runs").glob("*/*")) == entries  # same key, overwritten
    assert (entries[0] / "record.json").read_text() != before  # a new started_at, at least
    assert not list((bench.root / "cache" / "tmp").iterdir())


def test_two_lanes_and_trials_each_get_their_own_run(bench: Workbench) -> None:
    proc = bench.eval(
        "--variant", "agent-baseline,agent-skill", "--trials", "2", "--scenarios", "fix-entry",
        "--json",
    )  # fmt: skip
    assert proc.returncode == 1  # the baseline's scripted model misses the issue link
    runs = report(proc)["runs"]
    assert [(r["lane"], r["trial"]) for r in runs] == [
        ("agent-baseline", 0),
        ("agent-baseline", 1),
        ("agent-skill", 0),
        ("agent-skill", 1),
    ]
    assert len({r["cache_key"] for r in runs}) == 4
    assert [r["passed"] for r in runs] == [False, False, True, True]
    assert all(r["skills_invoked"] == [] for r in runs[:2])
    table = bench.eval("--variant", "agent-baseline,agent-skill", "--trials", "2",
                       "--scenarios", "fix-entry")  # fmt: skip
    assert "✗ not invoked" not in table.stdout  # the badge shows on skill lanes only
    assert table.stdout.count("✓ changelog") == 2
    assert "FAIL: 3 checks" in table.stdout
    assert "does the skill help" not in table.stdout  # two lanes: the headline answers it


def test_a_corrupt_cache_entry_is_reported_and_run_again(bench: Workbench) -> None:
    assert bench.eval("--scenarios", "fix-entry").returncode == 0
    (entry,) = (bench.root / "cache" / "runs").glob("*/*")
    (entry / "record.json").write_text('{"exit_reason": "succ')
    proc = bench.eval("--scenarios", "fix-entry", "--json")
    assert proc.returncode == 0
    assert "corrupt cache entry" in proc.stderr
    assert not report(proc)["runs"][0]["cache_hit"]
    assert report(proc)["cache_problems"]
    again = bench.eval("--scenarios", "fix-entry", "--json")
    assert report(again)["runs"][0]["cache_hit"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lanes", "agent-sklil"], "agent-sklil"),
        (["--variant", "agent-sklil"], "agent-sklil"),
        (["--lanes", ","], "--lanes: give at least one lane"),
        (["--scenarios", "nope"], "no scenario nope"),
        (["--suite", "missing"], "missing: no such suite folder"),
        (["--trials", "0"], "'0' is not a positive whole number"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    bench: Workbench, args: list[str], message: str
) -> None:
    proc = bench.eval(*args)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert bench.cli_runs() == 0


def test_a_bad_scenario_file_names_file_and_field(bench: Workbench) -> None:
    toml = bench.scenario_file("fix-entry")
    toml.write_text(toml.read_text().replace("timeout_s = ", "timeout_s = -", 1))
    proc = bench.eval()
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert str(toml) in line
    assert "timeout_s" in line


@pytest.mark.parametrize("command", ["eval", "ab"])
def test_offline_a_lane_without_a_script_stops_before_any_run(
    bench: Workbench, command: str
) -> None:
    # fix-entry scripts only the skill lanes: its baseline cannot run offline. Planned
    # first, the other scenarios' runs and fix-entry's skill run never start.
    toml = bench.scenario_file("fix-entry")
    toml.write_text(toml.read_text().replace('"*" = "mock/baseline.json"', ""))
    proc = bench.command(command, "--lanes", "agent-skill,agent-baseline", "--trials", "1")
    assert proc.returncode == 2
    folder = bench.suite.resolve() / "fix-entry"
    assert proc.stderr == (
        f"runner: {folder}: no scripted model for lane agent-baseline, so it cannot run "
        "offline; write mock/agent-baseline.json (the model's turns) and add "
        '"agent-baseline" = "mock/agent-baseline.json" under [mock] in scenario.toml, '
        "or set ANTHROPIC_API_KEY to run it live\n"
    )
    assert bench.cli_runs() == 0
    assert bench.stored() == []  # no run started, none saved


def test_a_script_that_runs_out_of_turns_says_so_as_the_runs_error(bench: Workbench) -> None:
    # Only the first of the baseline's turns is left: the CLI's second request finds none.
    script = bench.suite / "fix-entry" / "mock" / "baseline.json"
    doc = json.loads(script.read_text())
    script.write_text(json.dumps({**doc, "turns": doc["turns"][:1]}))
    why = "scripted model: the script has 1 turn for this conversation, all used"
    table = bench.eval("--variant", "agent-baseline", "--scenarios", "fix-entry")
    assert table.returncode == 1, table.stderr
    assert f"    ! API Error: 400 {why}" in table.stdout.splitlines(), table.stdout
    (run,) = report(
        bench.eval("--variant", "agent-baseline", "--scenarios", "fix-entry", "--json")
    )["runs"]
    assert (run["exit_reason"], run["error"]) == ("api_error", f"API Error: 400 {why}")


def test_with_a_key_runs_are_live(bench: Workbench, tmp_path: Path) -> None:
    # A live run against a local endpoint: ANTHROPIC_BASE_URL reaches the CLI, nothing else.
    with live_upstream(bench) as (url, _):
        env = offline_env(ANTHROPIC_API_KEY="sk-test", ANTHROPIC_BASE_URL=url)
        proc = bench.eval("--scenarios", "fix-entry", "--json", env=env)
    assert "live" in proc.stderr
    doc = report(proc)
    assert doc["header"]["mode"] == "live"
    assert doc["runs"][0]["live"]
    assert doc["runs"][0]["exit_reason"] == "success"
    assert doc["runs"][0]["passed"], doc["runs"][0]["checks"]


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)]
)
def test_a_signal_stops_the_eval_as_ctrl_c_does_and_leaves_nothing_running(
    bench: Workbench, signum: int, code: int
) -> None:
    """Ctrl-C, SIGTERM (a supervisor, `timeout`) and SIGHUP (the terminal closed) alike: the
    run in flight ends and leaves its record, the finished run is in the partial file (never a
    baseline), and no process or workspace is left."""
    word = marker()
    agent = {"turns": [{"content": [tool("Bash", command=background_command(word))]}]}
    hang = bench.suite / "new-changelog" / "mock" / "skill.json"
    hang.write_text(json.dumps({"turns": [*agent["turns"], {"hang": True}]}))
    proc = bench.start("--scenarios", "fix-entry,new-changelog", "--concurrency", "1")
    # Under way: fix-entry saved, and new-changelog's agent has started its processes.
    runs = bench.root / "runs"
    wait_for(
        lambda: saved_runs(runs) == ["fix-entry"] and processes_with(word) != [],
        "the first run is saved and the second one's agent is up",
        proc=proc,
    )
    proc.send_signal(signum)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()  # an eval the signal did not stop
    assert proc.returncode == code, err
    assert "interrupted: the runs done so far are in" in err
    assert "Traceback" not in err
    assert processes_with(word) == []
    assert not list(bench.tmp.iterdir())  # its workspace is gone
    (partial_file,) = bench.stored()
    assert partial_file.name.endswith(".partial.json")
    assert RunStore(runs).load(partial_file).header.partial is True
    assert saved_runs(runs) == ["fix-entry"]
    listing = run_runner("results", "--runs-dir", str(runs), cwd=bench.root)
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.rstrip().endswith("PARTIAL 1/2 runs")
    (failed,) = (bench.root / "cache" / "failed").iterdir()
    record = RunRecord.model_validate_json((failed / "record.json").read_bytes())
    assert record.scenario == "new-changelog"
    assert record.exit_reason == "cancelled"
    assert record.transcript.tool_sequence == ["Bash"]
    # The next eval finds no baseline: the partial one never counts.
    rerun = bench.eval("--scenarios", "fix-entry", "--json")
    assert report(rerun)["baseline"] is None


def test_sigterm_stops_ab_as_ctrl_c_does(bench: Workbench) -> None:
    word = marker()
    hang = bench.suite / "fix-entry" / "mock" / "skill.json"  # no judge to wait for a slot
    agent = [{"content": [tool("Bash", command=background_command(word))]}, {"hang": True}]
    hang.write_text(json.dumps({"turns": agent}))
    proc = bench.start(
        "--lanes", "agent-baseline,agent-skill", "--trials", "1", "--scenarios", "fix-entry",
        "--concurrency", "1", command="ab",
    )  # fmt: skip
    runs = bench.root / "runs"
    wait_for(
        lambda: saved_runs(runs) == ["fix-entry"] and processes_with(word) != [],
        "the first run is saved and the second one's agent is up",
        proc=proc,
    )
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    assert processes_with(word) == []
    assert not list(bench.tmp.iterdir())
    assert saved_runs(runs) == ["fix-entry"]  # the baseline's run, kept


def saved_runs(runs_dir: Path) -> list[str] | None:
    """The scenarios in the partial result under ``runs_dir``; None before there is one."""
    partial = list(runs_dir.glob("*.partial.json"))
    if not partial:
        return None
    return [r.scenario for r in RunStore(runs_dir).load(partial[0]).runs]


def test_every_path_may_be_relative_to_the_working_directory(bench: Workbench) -> None:
    """Each path option as typed, relative to where the user is, made absolute once: runs work
    in their workspace, where a relative path names something else (unconfined, a relative
    --claude-bin failed every run with spawn_error)."""
    (bench.root / "cli").mkdir()
    (bench.root / "cli" / "claude").symlink_to(bench.claude)
    env = {**offline_env(), "TMPDIR": str(bench.tmp)}
    bench.tmp.mkdir()
    proc = run_runner(
        "eval", "--suite", "suite", "--cache-dir", "c", "--runs-dir", "r",
        "--claude-bin", "cli/claude", "--out", "out/doc.json", "--record", "tapes",
        "--scenarios", "fix-entry", "--sandbox", "none", "--json",
        cwd=bench.root, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = report(proc)
    assert doc["runs"][0]["exit_reason"] == "success"
    assert doc["header"]["suite"] == "suite"  # one spelling per folder, as before
    (saved,) = (bench.root / "r").glob("*.json")
    assert doc["saved_to"] == str(saved)
    (entry,) = (bench.root / "c" / "runs").glob("*/*")
    assert doc["runs"][0]["run_dir"] == str(entry)
    assert (entry / "process.json").is_file()
    assert json.loads((bench.root / "out" / "doc.json").read_text())["saved_to"] == str(saved)
    assert (bench.root / "tapes" / "fix-entry" / "agent-skill-0.ndjson").is_file()
    page = run_runner("report", "--runs-dir", "r", "-o", "page.html", cwd=bench.root, env=env)
    assert page.returncode == 0, page.stderr
    assert (bench.root / "page.html").is_file()
    stats = run_runner("cache", "stats", "--cache-dir", "c", "--json", cwd=bench.root, env=env)
    assert json.loads(stats.stdout)["entries"] == 1
    assert not list(bench.tmp.iterdir())


def test_the_default_folders_are_where_the_user_is(bench: Workbench) -> None:
    """No folder option: .runner/cache and .runner/runs here, made absolute before the runs,
    so the reaper (in the workspace) writes its report where the run is, and a CLI killed by
    SIGKILL is told as signal_9, not exit_code_1."""
    killer = bench.suite / "fix-entry" / "mock" / "skill.json"
    killer.write_text(json.dumps({"turns": [{"content": [tool("Bash", command="kill -9 $PPID")]}]}))
    env = offline_env()
    proc = run_runner(
        "eval", "--suite", "suite", "--claude-bin", str(bench.claude), "--scenarios",
        "fix-entry", "--json", cwd=bench.root, env={**env, "PATH": bench.path(env)},
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    doc = report(proc)
    (run,) = doc["runs"]
    assert run["exit_reason"] == "signal_9"
    assert run["run_dir"] == str(next((bench.root / ".runner" / "cache" / "failed").iterdir()))
    assert (Path(run["run_dir"]) / "process.json").is_file()
    assert doc["saved_to"].startswith(str(bench.root / ".runner" / "runs") + "/")


@pytest.fixture(scope="module")
def mounting(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Skips where a test cannot mount in a mount namespace of its own (not root, a
    container that forbids it)."""
    where = tmp_path_factory.mktemp("probe")
    probe = subprocess.run(
        [*MOUNT_NS, f"mount -t tmpfs -o size=4k tmpfs {where}", "sh"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs in a private mount namespace: {probe.stderr.strip()}")


MOUNT_NS = ["unshare", "--mount", "--propagation", "private", "sh", "-c"]


def with_mounts(setup: str, keep: Path) -> list[str]:
    """A wrapper: the command runs in a mount namespace of its own, after ``setup`` (mount
    commands). The mounts go with it, so ``keep`` is copied to ``after(keep)`` at the end."""
    script = f'{setup} || exit 99; "$@"; code=$?; cp -a {keep}/. {after(keep)}/; exit $code'
    after(keep).mkdir()
    return [*MOUNT_NS, script, "sh"]


def after(folder: Path) -> Path:
    return folder.with_name(f"{folder.name}-after")


def test_a_read_only_runs_folder_stops_before_any_run(bench: Workbench, mounting: None) -> None:
    runs = bench.root / "runs"
    runs.mkdir()
    read_only = f"mount --bind {runs} {runs} && mount -o remount,bind,ro {runs}"
    proc = bench.command("eval", wrap=with_mounts(read_only, runs))
    assert proc.returncode == 3, proc.stderr
    (line,) = proc.stderr.splitlines()
    name = r"[^/ ]+\.partial\.json"
    assert re.fullmatch(
        f"runner: cannot write {re.escape(str(runs))}/{name}: Read-only file system \\(EROFS\\)",
        line,
    ), line
    assert bench.cli_runs() == 0


def test_a_full_runs_folder_stops_the_eval_and_the_run_in_flight_keeps_its_record(
    bench: Workbench, mounting: None
) -> None:
    """The runs folder fills as the first run finishes (a tmpfs of one page holds the empty
    partial file, not the first run's line after it): the eval stops, the run in flight (its
    agent waits forever) ends and leaves its record in the cache, on another disk, and the
    partial file keeps what it held (a line torn by the full disk is skipped)."""
    word = marker()
    hang = bench.suite / "new-changelog" / "mock" / "skill.json"
    agent = [{"content": [tool("Bash", command=background_command(word))]}, {"hang": True}]
    hang.write_text(json.dumps({"turns": agent}))
    # A check named at length makes fix-entry's run line more than the page has left.
    with (bench.suite / "fix-entry" / "scenario.toml").open("a") as toml:
        toml.write(f'[[check]]\nname = "{"x" * 4096}"\ntype = "tool_called"\ntool = "Edit"\n')
    runs = bench.root / "runs"
    runs.mkdir()
    one_page = f"mount -t tmpfs -o size=4k tmpfs {runs}"
    proc = bench.command(
        "eval", "--scenarios", "fix-entry,new-changelog", wrap=with_mounts(one_page, runs)
    )
    assert proc.returncode == 3, proc.stderr
    (partial,) = after(runs).iterdir()
    assert partial.name.endswith(".partial.json")
    assert proc.stderr.splitlines()[-1] == (
        f"runner: cannot write {runs / partial.name}: No space left on device (ENOSPC)"
    )
    assert "Traceback" not in proc.stderr
    assert RunStore(runs).load(partial).runs == []  # as before the failed save
    (failed,) = (bench.root / "cache" / "failed").iterdir()
    record = RunRecord.model_validate_json((failed / "record.json").read_bytes())
    assert (record.scenario, record.exit_reason) == ("new-changelog", "cancelled")
    assert len(list((bench.root / "cache" / "runs").glob("*/*"))) == 1  # fix-entry's, kept
    assert processes_with(word) == []
    assert not list(bench.tmp.iterdir())


def test_a_full_disk_is_one_line_and_exit_3(bench: Workbench, mounting: None) -> None:
    """Cache and results on one small disk that fills during the runs: the results file that
    cannot be written is the one error; the cache that cannot keep runs is one warning (its
    runs are still used); no traceback, no workspace left."""
    disk = bench.root / "disk"
    disk.mkdir()
    proc = bench.command(
        "eval", "--cache-dir", str(disk / "cache"), "--runs-dir", str(disk / "runs"),
        wrap=with_mounts(f"mount -t tmpfs -o size=64k tmpfs {disk}", disk),
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr
    failure = proc.stderr.splitlines()[-1]
    assert re.fullmatch(
        f"runner: cannot write {re.escape(str(disk))}/\\S+: No space left on device \\(ENOSPC\\)"
        f"(; the runs done so far are in {re.escape(str(disk / 'runs'))}/\\S+)?",
        failure,
    ), failure
    full = [line for line in proc.stderr.splitlines() if "ENOSPC" in line]
    assert full[-1] == failure
    assert all(line.startswith("runner: warning: ") for line in full[:-1]), full
    assert len(full) <= 2, full  # the cache's problem said once, however many runs it hit
    assert not list(bench.tmp.iterdir())


def test_compare_command(bench: Workbench) -> None:
    assert bench.eval().returncode == 0
    toml = bench.scenario_file("fix-entry")
    toml.write_text(toml.read_text().replace("max = 8", "max = 1"))
    assert bench.eval().returncode == 1
    runs_dir = str(bench.root / "runs")
    proc = run_runner("compare", "--runs-dir", runs_dir, cwd=bench.root)
    assert proc.returncode == 0, proc.stderr
    assert "regress" in proc.stdout
    assert "fix-entry/agent-skill#0" in proc.stdout
    first, second = bench.stored()
    back = run_runner("compare", str(second), str(first), "--json", "--runs-dir", runs_dir,
                      cwd=bench.root)  # fmt: skip
    assert json.loads(back.stdout)["counts"]["improved"] == 1
    missing = run_runner("compare", "nope", "latest", "--runs-dir", runs_dir, cwd=bench.root)
    assert missing.returncode == 2
    assert "nope" in missing.stderr


def test_cache_stats_and_prune(bench: Workbench) -> None:
    assert bench.eval("--scenarios", "fix-entry").returncode == 0
    cache_dir = str(bench.root / "cache")
    stats = run_runner("cache", "stats", "--json", "--cache-dir", cache_dir, cwd=bench.root)
    assert json.loads(stats.stdout)["entries"] == 1
    assert json.loads(stats.stdout)["exit_reasons"] == {"success": 1}
    (entry,) = (bench.root / "cache" / "runs").glob("*/*")
    (entry / "record.json").write_text("{}")
    pruned = run_runner("cache", "prune", "--cache-dir", cache_dir, cwd=bench.root)
    assert pruned.returncode == 0
    assert "1 corrupt" in pruned.stdout
    assert not entry.exists()
