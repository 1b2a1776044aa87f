"""The run cache: a key that changes with every input of a run and with nothing else, tree
digests, the store (hits, --refresh, --no-cache, uncacheable endings, corrupt entries,
concurrent writers, stats and prune), one real CLI run through it, and the CLI's version."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import anyio
import pytest

from runner._agent.claude import cli_env
from runner._agent.claude_bin import (
    ENV_VAR,
    ClaudeBinary,
    find_claude,
    known_version,
    pinned_dir,
    pinned_version,
)
from runner._agent.engine import RunOptions, RunRecord, RunSpec, check, run_one
from runner._agent.lanes import LANES, get_lane
from runner._agent.process import TREE_MARK
from runner._evaluate.cache import CACHEABLE, CachedRun, RunCache
from runner._evaluate.cache_entries import MANIFEST, timeline_file, write_manifest
from runner._evaluate.run_keys import CACHE_SCHEMA, RunKey, run_key, tree_digest
from runner._model.mock_api import scripted_model
from runner._model.script import Script, text, tool
from runner._transcript.summarize import SummaryBuilder
from tests.clirun import GREETER
from tests.suite_commands import offline_env, report, workbench

REPO = Path(__file__).resolve().parent.parent
CLI_VERSION = "2.1.329"
ALL_LANES = tuple(LANES)
SKILL_LANES = tuple(name for name, lane in LANES.items() if lane.uses_skill)
INSTALLED_LANES = tuple(name for name, lane in LANES.items() if lane.installs_skill)
# The skill lane: SKILL.md's text, appended to the system prompt, is all that reaches the model.
PROMPT_SKILL_LANES = tuple(n for n in SKILL_LANES if n not in INSTALLED_LANES)
NO_SKILL_LANES = tuple(name for name, lane in LANES.items() if not lane.uses_skill)
AGENT_LANES = tuple(name for name, lane in LANES.items() if lane.agent)
SINGLE_SHOT_LANES = tuple(name for name, lane in LANES.items() if not lane.agent)
SCRIPT = Script.model_validate(
    {
        "turns": [
            {"content": [tool("Write", file_path="greeting.txt", content="Hello!\n")]},
            {"content": [text("Greeted.")]},
        ],
        "seed": 7,
    }
)


# ---- keys -----------------------------------------------------------------------------------


def build_key(
    lane_name: str,
    *,
    trial: int = 0,
    cli_version: str = CLI_VERSION,
    script: Script | None = None,
    seed: int | None = None,
    **spec_fields: Any,
) -> RunKey:
    """A run's key as ``planning.plan`` derives it: the spec checked in its lane, the trees
    hashed, the skill's only when the lane uses it."""
    spec = RunSpec(**spec_fields)
    lane = get_lane(lane_name)
    cli = check(spec, lane)
    return run_key(
        spec,
        lane,
        cli,
        trial=trial,
        cli_version=cli_version,
        fixture_digest=None if spec.fixture is None else tree_digest(spec.fixture),
        skill_digest=tree_digest(spec.skill) if lane.uses_skill and spec.skill else None,
        script=script,
        seed=seed,
    )


@dataclass
class World:
    """One scenario's inputs, to change one at a time."""

    fixture: Path
    skill: Path
    spec: dict[str, Any] = field(
        default_factory=lambda: {
            "scenario": "greet",
            "instruction": "Greet the world.",
            "model": "sonnet",
        }
    )
    trial: int = 0
    cli_version: str = CLI_VERSION
    script: Script | None = None
    seed: int | None = None

    def key(self, lane: str) -> RunKey:
        return build_key(
            lane,
            trial=self.trial,
            cli_version=self.cli_version,
            script=self.script,
            seed=self.seed,
            fixture=self.fixture,
            skill=self.skill,
            **self.spec,
        )


def make_world(root: Path) -> World:
    fixture = root / "fixture"
    (fixture / "src").mkdir(parents=True)
    (fixture / "README.md").write_text("# project\n")
    (fixture / "src" / "app.py").write_text("print('hi')\n")
    (fixture / "link").symlink_to("README.md")
    skill = root / "skills" / "greeter"
    shutil.copytree(GREETER, skill)
    (skill / "notes.md").write_text("Greet warmly.\n")
    return World(fixture, skill)


def key_digest(fixture: str, skill: str, lane: str, scripted: str) -> str:
    """The key's digest from plain arguments: what a second process computes."""
    world = World(Path(fixture), Path(skill))
    if scripted == "1":
        world.script, world.seed = SCRIPT, SCRIPT.seed
    return world.key(lane).digest


Change = Callable[[World], None]


def spec_set(**fields: Any) -> Change:
    def change(world: World) -> None:
        world.spec.update(fields)

    return change


def attr_set(name: str, value: object) -> Change:
    def change(world: World) -> None:
        setattr(world, name, value)

    return change


def flip_a_byte(world: World) -> None:
    path = world.fixture / "src" / "app.py"
    data = bytearray(path.read_bytes())
    data[0] ^= 1  # same size, one bit
    path.write_bytes(bytes(data))


def make_executable(world: World) -> None:
    path = world.fixture / "README.md"
    path.chmod(path.stat().st_mode | 0o111)


def rename_a_file(world: World) -> None:
    (world.fixture / "src" / "app.py").rename(world.fixture / "src" / "main.py")


def add_an_empty_folder(world: World) -> None:
    (world.fixture / "empty").mkdir()


def retarget_the_symlink(world: World) -> None:
    link = world.fixture / "link"
    link.unlink()
    link.symlink_to("src/app.py")


def edit_skill_md(world: World) -> None:
    with (world.skill / "SKILL.md").open("a") as f:
        f.write("Keep it short.\n")


def edit_another_skill_file(world: World) -> None:
    (world.skill / "notes.md").write_text("Greet coldly.\n")


def rename_the_skill_folder(world: World) -> None:
    renamed = world.skill.with_name("greeter-v2")
    world.skill.rename(renamed)
    world.skill = renamed


def go_scripted(world: World) -> None:
    world.script, world.seed = SCRIPT, SCRIPT.seed


def edit_the_script(world: World) -> None:
    world.script = Script.model_validate(
        {"turns": [{"content": [text("Goodbye.")]}], "seed": SCRIPT.seed}
    )


def nothing(world: World) -> None:
    pass


@dataclass(frozen=True)
class Case:
    name: str
    change: Change
    lanes: tuple[str, ...] = ALL_LANES
    setup: Change = nothing


CHANGES_KEY = [
    Case("instruction", spec_set(instruction="Greet the moon.")),
    Case("fixture-byte", flip_a_byte),
    Case("fixture-mode", make_executable),
    Case("fixture-rename", rename_a_file),
    Case("fixture-empty-folder", add_an_empty_folder),
    Case("fixture-symlink-target", retarget_the_symlink),
    Case("skill-md", edit_skill_md, SKILL_LANES),
    Case("skill-other-file", edit_another_skill_file, INSTALLED_LANES),
    Case("skill-folder-name", rename_the_skill_folder, INSTALLED_LANES),
    Case("nudge", spec_set(nudge="Use {skill} now."), ("agent-skill",)),
    Case("model", spec_set(model="opus")),
    Case("model-default", spec_set(model=None)),
    Case("cli-version", attr_set("cli_version", "2.1.330")),
    Case("max-turns", spec_set(max_turns=5), AGENT_LANES),
    Case("max-budget-usd", spec_set(max_budget_usd=0.5)),
    Case("allowed-tools", spec_set(allowed_tools=("Read", "Grep")), AGENT_LANES),
    Case("extra-args", spec_set(extra_args=("--fallback-model=haiku",))),
    Case("timeout", spec_set(timeout_s=300.0)),
    Case("idle-timeout", spec_set(idle_timeout_s=60.0)),
    Case("idle-timeout-off", spec_set(idle_timeout_s=None)),
    Case("env-passthrough", spec_set(env_passthrough=("GH_TOKEN",))),
    Case("trial", attr_set("trial", 1)),
    Case("live-to-scripted", go_scripted),
    Case("script-content", edit_the_script, setup=go_scripted),
    Case("seed", attr_set("seed", SCRIPT.seed + 1), setup=go_scripted),
    # What the agent can see and reach.
    Case("sandbox-off", spec_set(sandbox="none")),
    Case("network-host", spec_set(network="host")),
    Case("max-processes", spec_set(max_processes=256)),
]

# Inputs that do not reach the run in these lanes: the key must not move.
KEEPS_KEY = [
    Case("skill-md", edit_skill_md, NO_SKILL_LANES),
    Case("skill-other-file", edit_another_skill_file, NO_SKILL_LANES + PROMPT_SKILL_LANES),
    Case("skill-folder-name", rename_the_skill_folder, NO_SKILL_LANES + PROMPT_SKILL_LANES),
    Case(
        "nudge",
        spec_set(nudge="Use {skill} now."),
        tuple(n for n in ALL_LANES if n != "agent-skill"),
    ),
    # One turn with every tool off, whatever the spec asks.
    Case("max-turns", spec_set(max_turns=5), SINGLE_SHOT_LANES),
    Case("allowed-tools", spec_set(allowed_tools=("Read",)), SINGLE_SHOT_LANES),
    # The name is only a label: it never reaches the CLI.
    Case("scenario-name", spec_set(scenario="greet-again")),
    # Without the sandbox there is nothing to confine: the agent has the host's network.
    Case("network-unconfined", spec_set(network="host"), setup=spec_set(sandbox="none")),
    Case("processes-unconfined", spec_set(max_processes=256), setup=spec_set(sandbox="none")),
]


def case_params(cases: list[Case]) -> list[Any]:
    params = []
    for case in cases:
        for lane in case.lanes:
            params.append(pytest.param(case, lane, id=f"{case.name}-{lane}"))
    return params


@pytest.mark.parametrize(("case", "lane"), case_params(CHANGES_KEY))
def test_the_key_changes_with_each_input(tmp_path: Path, case: Case, lane: str) -> None:
    world = make_world(tmp_path)
    case.setup(world)
    before = world.key(lane)
    case.change(world)
    after = world.key(lane)
    assert after.digest != before.digest
    assert after != before


@pytest.mark.parametrize(("case", "lane"), case_params(KEEPS_KEY))
def test_the_key_ignores_inputs_the_lane_does_not_use(
    tmp_path: Path, case: Case, lane: str
) -> None:
    world = make_world(tmp_path)
    case.setup(world)
    before = world.key(lane)
    case.change(world)
    assert world.key(lane) == before
    assert world.key(lane).digest == before.digest


def test_the_schema_version_is_in_the_key(tmp_path: Path) -> None:
    key = make_world(tmp_path).key("agent-skill")
    assert key.schema_version == CACHE_SCHEMA
    bumped = key.model_copy(update={"schema_version": CACHE_SCHEMA + 1})
    assert bumped.digest != key.digest


def test_a_digest_is_a_128_bit_hex_name(tmp_path: Path) -> None:
    digest = make_world(tmp_path).key("agent-skill").digest
    assert len(digest) == 32
    int(digest, 16)


def touch_everything(root: Path, when: float) -> None:
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            os.utime(os.path.join(folder, name), (when, when), follow_symlinks=False)
    os.utime(root, (when, when))


@pytest.mark.parametrize("lane", ALL_LANES)
def test_the_key_ignores_paths_times_and_the_environment(
    tmp_path: Path, lane: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(tmp_path / "here")
    before = world.key(lane)
    # The same trees elsewhere (the fixture's own folder name too), every mtime different.
    elsewhere = tmp_path / "over" / "there"
    fixture = elsewhere / "fixture-copy"
    skill = elsewhere / "lib" / world.skill.name
    shutil.copytree(world.fixture, fixture, symlinks=True)
    shutil.copytree(world.skill, skill, symlinks=True)
    touch_everything(fixture, time.time() - 86400 * 400)
    touch_everything(skill, time.time() + 3600)
    # And the environment is another machine's.
    monkeypatch.setenv("HOME", str(tmp_path / "another-home"))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "another-tmp"))
    monkeypatch.setenv("RUNNER_TEST_NOISE", os.urandom(8).hex())
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")
    monkeypatch.delenv("USER", raising=False)
    time.sleep(0.05)
    moved = replace(world, fixture=fixture, skill=skill)
    assert moved.key(lane) == before
    assert moved.key(lane).digest == before.digest


def test_the_key_is_a_canonical_encoding(tmp_path: Path) -> None:
    """A script whose objects list their fields in another order is the same script."""
    world = make_world(tmp_path)
    world.script, world.seed = SCRIPT, SCRIPT.seed
    before = world.key("agent-baseline")
    write = {"type": "tool_use", "input": {"content": "Hello!\n", "file_path": "greeting.txt"}}
    write["name"] = "Write"
    world.script = Script.model_validate(
        {"seed": 7, "turns": [{"content": [write]}, {"content": [text("Greeted.")]}]}
    )
    assert world.key("agent-baseline").digest == before.digest


@pytest.mark.parametrize("lane", ["agent-skill", "baseline"])
@pytest.mark.parametrize("scripted", ["0", "1"])
def test_the_digest_is_the_same_in_another_process(
    tmp_path: Path, lane: str, scripted: str
) -> None:
    world = make_world(tmp_path)
    here = key_digest(str(world.fixture), str(world.skill), lane, scripted)
    code = "import sys; from tests.test_cache import key_digest; print(key_digest(*sys.argv[1:]))"
    for hash_seed in ("1", "4242"):
        env = {
            **os.environ,
            "PYTHONHASHSEED": hash_seed,
            "HOME": str(tmp_path / f"home-{hash_seed}"),
            "TMPDIR": str(tmp_path),
            "RUNNER_TEST_NOISE": hash_seed,
        }
        proc = subprocess.run(
            [sys.executable, "-c", code, str(world.fixture), str(world.skill), lane, scripted],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == here


# ---- tree digests ---------------------------------------------------------------------------


# ---- the environment the CLI sees -----------------------------------------------------------


def test_a_passed_through_variable_is_in_the_key_by_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(tmp_path)
    world.spec["env_passthrough"] = ("MY_FLAG", "MY_TOKEN")
    monkeypatch.setenv("MY_FLAG", "on")
    monkeypatch.setenv("MY_TOKEN", "tok-0123456789")
    before = world.key("agent-baseline")
    assert dict(before.env)["MY_FLAG"] == "on"
    monkeypatch.setenv("MY_FLAG", "off")
    flag = world.key("agent-baseline")
    assert flag.digest != before.digest
    monkeypatch.setenv("MY_TOKEN", "tok-9876543210")
    token = world.key("agent-baseline")
    assert token.digest != flag.digest
    # A secret's value never enters the key (key.json is stored): a one-way digest does.
    assert "tok-9876543210" not in token.model_dump_json()
    assert dict(token.env)["MY_TOKEN"].startswith("blake2b:")
    monkeypatch.delenv("MY_FLAG")  # unset: not passed, so not in the key's environment
    assert "MY_FLAG" not in dict(world.key("agent-baseline").env)


@pytest.mark.parametrize("sandbox", ["bwrap", "none"])
def test_path_is_in_the_key_where_it_reaches_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: str
) -> None:
    world = make_world(tmp_path)
    world.spec["sandbox"] = sandbox
    before = world.key("agent-baseline")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    # In the sandbox the CLI's PATH is the sandbox's own; unconfined, the caller's.
    assert (world.key("agent-baseline").digest != before.digest) == (sandbox == "none")


# The environment exactly as exec handed it over: by absolute path (no PATH lookup, no pyenv
# shim adding its own), read from /proc (not os.environ, which Python's locale coercion edits).
PRINT_ENVIRONMENT = """#!/usr/bin/python3 -I
import json, sys
sys.stdin.read()
with open("/proc/self/environ", "rb") as f:
    pairs = [v.decode("utf-8", "surrogateescape").split("=", 1) for v in f.read().split(b"\\0")]
env = json.dumps(dict(p for p in pairs if len(p) == 2))
result = {"type": "result", "subtype": "success", "is_error": False, "num_turns": 1}
print(json.dumps({**result, "result": env, "session_id": "env", "total_cost_usd": 0.0}))
"""


def environment_printer(folder: Path) -> ClaudeBinary:
    """A stand-in CLI whose result is its environment."""
    if not os.access("/usr/bin/python3", os.X_OK):
        pytest.skip("needs /usr/bin/python3 for the stand-in CLI")
    path = folder / "print-environment"
    path.write_text(PRINT_ENVIRONMENT)
    path.chmod(0o755)
    return ClaudeBinary(path, "test")


@pytest.mark.anyio
@pytest.mark.parametrize("sandbox", ["bwrap", "none"])
async def test_every_variable_the_cli_sees_is_runners_own_or_in_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: str
) -> None:
    """The CLI (a stand-in that prints its environment) started as every run is: whatever
    the caller's environment holds, each variable it sees is one runner sets itself (the
    same for every run of a sandbox mode) or is in the key with the value it saw."""
    monkeypatch.setenv("ANTHROPIC_MODEL", "claude-from-the-environment")
    monkeypatch.setenv("CLAUDE_CODE_USE_BEDROCK", "1")
    monkeypatch.setenv("NODE_OPTIONS", "--require=/tmp/evil.js")
    monkeypatch.setenv("MY_FLAG", "on")
    spec = RunSpec(
        scenario="env", instruction="echo", env_passthrough=("MY_FLAG",), sandbox=sandbox
    )
    lane = get_lane("agent-baseline")
    key = run_key(
        spec,
        lane,
        check(spec, lane),
        trial=0,
        cli_version=CLI_VERSION,
        fixture_digest=None,
        skill_digest=None,
    )
    options = RunOptions(binary=environment_printer(tmp_path), workspace_parent=tmp_path / "ws")
    record = await run_one(spec, lane, run_dir=tmp_path / "run", options=options)
    assert record.exit_reason == "success", record.diagnostics.agent_log
    seen: dict[str, str] = json.loads(record.transcript.final_text or "")
    own = set(cli_env("http://x", home="/h", tmp="/t", inherit={}))  # runner's fixed names
    # What the launchers add, the same for every run: bash (PID 1 in the sandbox), unconfined
    # the tree's mark, and the reaper's Python's C locale coercion (PEP 538), inherited.
    launcher = {"PWD", "OLDPWD", "SHLVL", "_", TREE_MARK}
    assert seen.get("LC_CTYPE", "C.UTF-8") == "C.UTF-8"
    for name, value in seen.items():
        if name not in own | launcher | {"LC_CTYPE"}:
            assert dict(key.env).get(name) == value, name
    assert set(dict(key.env)) == {"PATH", "MY_FLAG"}
    assert "ANTHROPIC_MODEL" not in seen
    assert "NODE_OPTIONS" not in seen


def build_tree(root: Path, reverse: bool) -> None:
    entries: list[tuple[str, str | None]] = [
        ("a.txt", "alpha\n"),
        ("src/b.py", "print('b')\n"),
        ("src/deep/c.md", "# c\n"),
        ("empty", None),
        ("z.bin", "\x00\x01\x02"),
    ]
    for rel, content in reversed(entries) if reverse else entries:
        path = root / rel
        if content is None:
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
    (root / "src" / "b.py").chmod(0o755)
    (root / "link").symlink_to("src/deep/c.md")


def test_equal_trees_built_independently_have_equal_digests(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    build_tree(one, reverse=False)
    time.sleep(0.01)
    build_tree(two, reverse=True)  # other creation order, other inodes and mtimes
    assert tree_digest(one) == tree_digest(two)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert tree_digest(empty) != tree_digest(one)


def test_a_fifo_does_not_block_and_is_not_an_empty_file(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.txt").write_text("a\n")
    os.mkfifo(tree / "pipe", 0o644)
    digests: list[str] = []
    worker = threading.Thread(target=lambda: digests.append(tree_digest(tree)), daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert digests, "tree_digest blocked on a FIFO"
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "a.txt").write_text("a\n")
    (plain / "pipe").write_bytes(b"")
    (plain / "pipe").chmod(0o644)
    assert tree_digest(plain) != digests[0]


def test_symlinks_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "data.txt").write_text("outside\n")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "dir-link").symlink_to(outside, target_is_directory=True)
    (tree / "file-link").symlink_to(outside / "data.txt")
    (tree / "loop").symlink_to("loop")
    (tree / "dangling").symlink_to("nowhere")
    before = tree_digest(tree)
    (outside / "data.txt").write_text("changed\n")
    (outside / "new.txt").write_text("new\n")
    (outside / "sub").mkdir()
    assert tree_digest(tree) == before
    # A link is its target's name: a copy of the target's bytes is another tree.
    (tree / "file-link").unlink()
    shutil.copy(outside / "data.txt", tree / "file-link")
    assert tree_digest(tree) != before


def test_a_file_name_that_is_not_utf8(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    (one / os.fsdecode(b"caf\xe9.txt")).write_text("x")
    (two / os.fsdecode(b"caf\xe8.txt")).write_text("x")
    assert tree_digest(one) != tree_digest(two)


# ---- the store, with a fake producer --------------------------------------------------------


def a_key(**fields: Any) -> RunKey:
    base: dict[str, Any] = {
        "instruction": "Greet the world.",
        "fixture": None,
        "lane": "agent-baseline",
        "skill": None,
        "nudge": None,
        "model": None,
        "cli_version": CLI_VERSION,
        "argv": ("--print",),
        "timeout_s": 600.0,
        "idle_timeout_s": 180.0,
        "trial": 0,
        "mode": "scripted",
    }
    return RunKey(**(base | fields))


def fake_record(exit_reason: str, label: str) -> RunRecord:
    return RunRecord(
        scenario="greet",
        lane="agent-baseline",
        trial=0,
        started_at="2026-01-01T00:00:00.000+00:00",
        files=[],
        argv=[f"--run={label}"],
        exit_reason=exit_reason,
        transcript=SummaryBuilder().summary(),
    )


@dataclass
class FakeRun:
    """A producer that writes a run's folder as run_one does, and counts its calls."""

    exit_reason: str = "success"
    delay_s: float = 0.0
    fail: Exception | None = None
    hang: bool = False
    tag: str = ""
    calls: int = 0

    async def __call__(self, folder: Path) -> RunRecord:
        self.calls += 1
        label = f"{self.tag}{self.calls}"
        (folder / "stream.ndjson").write_text(json.dumps({"type": "system", "run": label}) + "\n")
        (folder / "files").mkdir()
        (folder / "files" / "out.txt").write_text(f"{label}\n")
        if self.delay_s:
            await anyio.sleep(self.delay_s)
        if self.hang:
            await anyio.sleep_forever()
        if self.fail is not None:
            raise self.fail
        record = fake_record(self.exit_reason, label)
        (folder / "record.json").write_text(record.model_dump_json(indent=2))
        return record


def label_of(folder: Path) -> str:
    """Which run a folder holds, by each of its files: they must agree (one writer's, whole)."""
    record = RunRecord.model_validate_json((folder / "record.json").read_bytes())
    stream = json.loads((folder / "stream.ndjson").read_text())["run"]
    out = (folder / "files" / "out.txt").read_text().strip()
    assert record.argv == [f"--run={stream}"]
    assert out == stream
    return str(stream)


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every path under root with its mtime and bytes (b"" for folders)."""
    found: dict[str, tuple[int, bytes]] = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        content = path.read_bytes() if stat.S_ISREG(info.st_mode) else b""
        found[str(path.relative_to(root))] = (info.st_mtime_ns, content)
    return found


def put_entry(root: Path, key: RunKey, exit_reason: str = "success") -> Path:
    """A stored entry, as a fetch leaves it."""
    entry = RunCache(root).entry(key.digest)
    (entry / "files").mkdir(parents=True)
    (entry / "key.json").write_text(key.model_dump_json())
    (entry / "stream.ndjson").write_text('{"type": "system", "run": "x"}\n')
    (entry / "files" / "out.txt").write_text("x\n")
    (entry / "record.json").write_text(fake_record(exit_reason, "x").model_dump_json())
    write_manifest(entry, key.digest)
    return entry


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


@pytest.mark.anyio
async def test_a_miss_runs_and_stores_then_a_hit_does_not_run(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    cache = RunCache(root)
    key = a_key()
    k = key.digest
    produce = FakeRun()
    first = await cache.fetch(key, produce)
    assert (first.key, first.hit, first.stored) == (k, False, True)
    assert first.path == root / "runs" / k[:2] / k
    assert names(first.path) == [
        "files",
        "key.json",
        "manifest.json",
        "record.json",
        "stream.ndjson",
    ]
    assert RunKey.model_validate_json((first.path / "key.json").read_text()) == key
    assert label_of(first.path) == "1"

    age(first.path, 86400 * 10)
    second = await cache.fetch(key, produce)
    assert (second.key, second.hit, second.stored, second.path) == (k, True, True, first.path)
    assert second.record == first.record
    assert produce.calls == 1
    assert first.path.stat().st_mtime > time.time() - 60  # a hit is a use

    # Another cache on the root (another process, a later eval) hits as well.
    third = await RunCache(root).fetch(key, produce)
    assert third.hit
    assert produce.calls == 1
    # Another key is another entry.
    other = await cache.fetch(a_key(trial=1), produce)
    assert not other.hit
    assert other.path != first.path
    assert produce.calls == 2
    assert names(root / "tmp") == []
    assert names(root / "failed") == []
    assert cache.problems == []


@pytest.mark.anyio
async def test_refresh_runs_again_and_overwrites(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    key = a_key()
    produce = FakeRun()
    old = await RunCache(root).fetch(key, produce)
    refresh = RunCache(root, read=False)
    new = await refresh.fetch(key, produce)
    assert produce.calls == 2
    assert (new.hit, new.stored, new.path) == (False, True, old.path)
    assert new.record.argv == ["--run=2"]
    assert label_of(new.path) == "2"  # the whole folder is the new run's
    assert names(root / "tmp") == []
    assert names(root / "runs" / key.digest[:2]) == [key.digest]
    # Refreshing again still runs; a normal read then hits the newest.
    await refresh.fetch(key, produce)
    assert produce.calls == 3
    hit = await RunCache(root).fetch(key, produce)
    assert hit.hit
    assert hit.record.argv == ["--run=3"]
    assert produce.calls == 3
    assert names(root / "tmp") == []


@pytest.mark.anyio
async def test_a_timeline_beside_an_entry_is_no_damage_and_goes_when_it_is_replaced(
    tmp_path: Path,
) -> None:
    """The report keeps a run's timeline beside its entry: a hit stays a hit, checked byte for
    byte; a refresh that replaces the entry removes the old run's timeline."""
    root = tmp_path / "cache"
    key = a_key()
    produce = FakeRun()
    stored = await RunCache(root).fetch(key, produce)
    kept = timeline_file(stored.path)
    kept.write_text("the report's")
    cache = RunCache(root)
    hit = await cache.fetch(key, produce)
    assert (hit.hit, cache.problems, produce.calls) == (True, [], 1)
    assert names(root / "runs" / key.digest[:2]) == sorted([key.digest, kept.name])
    await RunCache(root, read=False).fetch(key, produce)
    assert produce.calls == 2
    assert not kept.exists()


@pytest.mark.anyio
async def test_no_cache_neither_reads_nor_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    root = tmp_path / "cache"
    key = a_key()
    produce = FakeRun()
    no_cache = RunCache(root, read=False, write=False)

    got = await no_cache.fetch(key, produce)
    assert not root.exists()  # not even a folder
    assert (got.hit, got.stored) == (False, False)
    assert not got.path.is_relative_to(root)
    assert got.path.parent == system_tmp
    assert label_of(got.path) == "1"  # the run's folder, for the caller to score, then remove

    # An entry in place is neither read nor touched.
    await RunCache(root).fetch(key, produce)
    before = snapshot(root)
    again = await no_cache.fetch(key, produce)
    assert produce.calls == 3
    assert not again.hit
    assert again.record.argv == ["--run=3"]
    assert not again.path.is_relative_to(root)
    # Nor does an uncacheable ending or a crash write anything under the root.
    failed = await no_cache.fetch(key, FakeRun(exit_reason="auth_error"))
    assert not failed.path.is_relative_to(root)
    with pytest.raises(RuntimeError, match="boom"):
        await no_cache.fetch(key, FakeRun(fail=RuntimeError("boom")))
    assert snapshot(root) == before
    assert no_cache.problems == []


CACHEABLE_REASONS = [
    "success",
    "error_max_turns",
    "error_max_budget_usd",
    "error_during_execution",
    "timeout",
    "idle_timeout",
]
UNCACHEABLE_REASONS = [
    "auth_error",
    "api_error",
    "cancelled",
    "spawn_error",
    "exit_code_1",
    "signal_9",
]


def test_cacheable_endings_are_the_agents_own() -> None:
    assert set(CACHEABLE_REASONS) == CACHEABLE
    assert not CACHEABLE & set(UNCACHEABLE_REASONS)


@pytest.mark.anyio
@pytest.mark.parametrize("reason", CACHEABLE_REASONS)
async def test_a_cacheable_ending_is_stored(tmp_path: Path, reason: str) -> None:
    cache = RunCache(tmp_path / "cache")
    produce = FakeRun(exit_reason=reason)
    first = await cache.fetch(a_key(), produce)
    assert first.stored
    second = await cache.fetch(a_key(), produce)
    assert second.hit
    assert second.record.exit_reason == reason
    assert produce.calls == 1


@pytest.mark.anyio
@pytest.mark.parametrize("reason", UNCACHEABLE_REASONS)
async def test_an_uncacheable_ending_is_set_aside_not_stored(tmp_path: Path, reason: str) -> None:
    root = tmp_path / "cache"
    cache = RunCache(root)
    key = a_key()
    k = key.digest
    produce = FakeRun(exit_reason=reason)
    first = await cache.fetch(key, produce)
    assert (first.hit, first.stored) == (False, False)
    assert first.record.exit_reason == reason
    assert first.path == root / "failed" / k
    assert (first.path / "key.json").is_file()
    assert not cache.entry(k).exists()

    second = await cache.fetch(key, produce)  # not stored: it runs again
    assert produce.calls == 2
    assert not second.hit
    assert second.path == root / "failed" / k
    assert label_of(second.path) == "2"  # the last attempt is kept
    assert names(root / "failed") == [k]
    assert names(root / "tmp") == []

    good = await cache.fetch(key, FakeRun())
    assert good.stored
    assert (await cache.fetch(key, produce)).hit


@pytest.mark.anyio
async def test_a_producer_that_raises_leaves_no_entry(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    cache = RunCache(root)
    key = a_key()
    k = key.digest
    with pytest.raises(RuntimeError, match="boom"):
        await cache.fetch(key, FakeRun(fail=RuntimeError("boom")))
    assert not cache.entry(k).exists()
    aside = root / "failed" / k
    assert names(aside) == ["files", "key.json", "stream.ndjson"]  # what the run left
    assert names(root / "tmp") == []
    produce = FakeRun()
    assert (await cache.fetch(key, produce)).stored
    assert (await cache.fetch(key, produce)).hit
    assert cache.problems == []


@pytest.mark.anyio
async def test_a_cancelled_run_leaves_no_entry(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    cache = RunCache(root)
    key = a_key()
    k = key.digest
    with anyio.move_on_after(0.3) as scope:
        await cache.fetch(key, FakeRun(hang=True))
    assert scope.cancelled_caught
    assert not cache.entry(k).exists()
    assert names(root / "failed" / k) == ["files", "key.json", "stream.ndjson"]
    assert names(root / "tmp") == []
    with anyio.fail_after(10):  # the key's lock was let go
        assert (await cache.fetch(key, FakeRun())).stored


def truncate_record(entry: Path) -> None:
    data = (entry / "record.json").read_bytes()
    (entry / "record.json").write_bytes(data[: len(data) // 2])


def write_record(content: str) -> Callable[[Path], None]:
    def corrupt(entry: Path) -> None:
        (entry / "record.json").write_text(content)

    return corrupt


def remove(name: str) -> Callable[[Path], None]:
    def corrupt(entry: Path) -> None:
        (entry / name).unlink()

    return corrupt


def remove_files(entry: Path) -> None:
    shutil.rmtree(entry / "files")


def truncate_stream(entry: Path) -> None:
    data = (entry / "stream.ndjson").read_bytes()
    (entry / "stream.ndjson").write_bytes(data[: len(data) // 2])


def change_a_file_keeping_its_size(entry: Path) -> None:
    """A captured file's bytes changed, its size and mtime as they were: only its digest
    tells."""
    (target,) = (p for p in (entry / "files").rglob("*") if p.is_file())
    info = target.stat()
    data = bytearray(target.read_bytes())
    data[0] ^= 0x20
    target.write_bytes(bytes(data))
    os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))


def add_a_file(entry: Path) -> None:
    (entry / "files" / "planted.txt").write_text("not the agent's\n")


def edit_manifest(**fields: Any) -> Callable[[Path], None]:
    def corrupt(entry: Path) -> None:
        manifest = json.loads((entry / MANIFEST).read_text())
        (entry / MANIFEST).write_text(json.dumps(manifest | fields))

    return corrupt


def write_manifest_text(content: str) -> Callable[[Path], None]:
    def corrupt(entry: Path) -> None:
        (entry / MANIFEST).write_text(content)

    return corrupt


CORRUPTIONS: dict[str, Callable[[Path], None]] = {
    "record-truncated": truncate_record,
    "record-not-json": write_record("this is not JSON\n"),
    "record-empty": write_record(""),
    "record-wrong-shape": write_record('{"exit_reason": "success", "scenario": 3}'),
    "record-a-list": write_record("[1, 2, 3]"),
    "record-missing": remove("record.json"),
    "stream-missing": remove("stream.ndjson"),
    "stream-truncated": truncate_stream,
    "files-gone": remove_files,
    "file-changed-same-size": change_a_file_keeping_its_size,
    "file-added": add_a_file,
    "manifest-missing": remove(MANIFEST),
    "manifest-not-json": write_manifest_text('{"schema_version": '),
    "manifest-wrong-shape": write_manifest_text('{"files": []}'),
    "manifest-older-schema": edit_manifest(schema_version=CACHE_SCHEMA - 1),
    "manifest-of-another-key": edit_manifest(key="0" * 32),
}
# What the size check cannot see: only reading every byte (a hit about to be scored) does.
DIGEST_ONLY = {"file-changed-same-size", "file-added"}
# What the report says is wrong, per kind.
SAYS = {
    "record-truncated": "record.json is",
    "record-not-json": "record.json is",
    "record-empty": "record.json is",
    "record-wrong-shape": "record.json is",
    "record-a-list": "record.json is",
    "record-missing": "record.json is missing",
    "stream-missing": "stream.ndjson is missing",
    "stream-truncated": "stream.ndjson is",
    "files-gone": "files/out.txt is missing",
    "file-changed-same-size": "files/out.txt differs from the manifest (its digest)",
    "file-added": "files/planted.txt is not in the manifest",
    "manifest-missing": "manifest.json is missing",
    "manifest-not-json": "manifest.json is malformed",
    "manifest-wrong-shape": "manifest.json is malformed",
    "manifest-older-schema": f"written by cache schema {CACHE_SCHEMA - 1}",
    "manifest-of-another-key": "manifest.json names another key",
}


@pytest.mark.anyio
@pytest.mark.parametrize("kind", CORRUPTIONS)
async def test_a_corrupt_entry_is_reported_once_and_run_again(tmp_path: Path, kind: str) -> None:
    root = tmp_path / "cache"
    key = a_key()
    produce = FakeRun()
    first = await RunCache(root).fetch(key, produce)
    CORRUPTIONS[kind](first.path)

    cache = RunCache(root)
    again = await cache.fetch(key, produce)  # no exception: a miss
    assert produce.calls == 2
    assert (again.hit, again.stored, again.path) == (False, True, first.path)
    (problem,) = cache.problems
    assert "\n" not in problem
    assert str(first.path) in problem
    assert "corrupt" in problem
    assert SAYS[kind] in problem
    assert again.problem is not None
    assert SAYS[kind] in again.problem

    # Overwritten with a good entry, which the next fetch hits without a word.
    assert label_of(first.path) == "2"
    hit = await cache.fetch(key, produce)
    assert hit.hit
    assert hit.record == again.record
    assert produce.calls == 2
    assert len(cache.problems) == 1
    assert names(root / "tmp") == []


@pytest.mark.parametrize("kind", [k for k in CORRUPTIONS if k not in DIGEST_ONLY])
def test_stats_and_prune_see_what_get_calls_corrupt(tmp_path: Path, kind: str) -> None:
    root = tmp_path / "cache"
    good = put_entry(root, a_key(trial=0))
    bad_key = a_key(trial=1)
    bad = put_entry(root, bad_key)
    CORRUPTIONS[kind](bad)
    cache = RunCache(root)
    assert cache.get(bad_key.digest, digests=False) is None
    assert cache.get(bad_key.digest) is None
    assert len(cache.problems) == 2
    stats = cache.stats()
    assert (stats.entries, stats.corrupt, stats.exit_reasons) == (2, 1, {"success": 1})
    report = cache.prune()
    assert report.removed == {"corrupt": 1}
    assert not bad.exists()
    assert good.exists()


@pytest.mark.anyio
async def test_sizes_are_always_checked_and_digests_when_a_hit_is_scored(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    key = a_key()
    first = await RunCache(root).fetch(key, FakeRun())
    change_a_file_keeping_its_size(first.path)
    cache = RunCache(root)
    # A look that does not score (stats, prune) stats each file: the same size passes.
    assert cache.get(key.digest, digests=False) is not None
    assert cache.stats().corrupt == 0
    # A hit about to be scored reads every byte.
    assert cache.get(key.digest) is None
    produce = FakeRun()
    again = await cache.fetch(key, produce)
    assert produce.calls == 1
    assert again.problem == "files/out.txt differs from the manifest (its digest)"


def test_the_manifest_is_written_last_and_lists_every_other_file(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    key = a_key()
    entry = put_entry(root, key)
    manifest = json.loads((entry / MANIFEST).read_text())
    assert manifest["key"] == key.digest
    assert manifest["schema_version"] == CACHE_SCHEMA
    assert sorted(manifest["files"]) == [
        "files/out.txt",
        "key.json",
        "record.json",
        "stream.ndjson",
    ]
    assert manifest["files"]["files/out.txt"]["size"] == 2
    assert max(p.stat().st_mtime_ns for p in entry.rglob("*") if p.is_file()) == (
        (entry / MANIFEST).stat().st_mtime_ns
    )


@pytest.mark.anyio
async def test_a_hit_is_served_when_its_use_cannot_be_noted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """os.utime fails on a read-only cache: the hit is still a hit, without a word."""
    root = tmp_path / "cache"
    key = a_key()
    await RunCache(root).fetch(key, FakeRun())

    def read_only(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(args[0]))

    monkeypatch.setattr("runner._evaluate.cache.os.utime", read_only)
    cache = RunCache(root)
    produce = FakeRun()
    hit = await cache.fetch(key, produce)
    assert (hit.hit, produce.calls, cache.problems) == (True, 0, [])


@pytest.mark.anyio
async def test_a_miss_the_cache_cannot_store_is_reported_and_its_run_used(
    tmp_path: Path,
) -> None:
    root = tmp_path / "cache"
    root.mkdir()
    (root / "tmp").write_text("not a folder")  # every scratch folder fails: ENOTDIR
    cache = RunCache(root)
    produce = FakeRun()
    run = await cache.fetch(a_key(), produce)
    assert (run.hit, run.stored, run.temporary, produce.calls) == (False, False, True, 1)
    assert run.record.exit_reason == "success"
    assert label_of(run.path) == "1"
    (problem,) = cache.problems
    assert problem == run.problem
    assert problem.startswith(f"{root / 'tmp'}")
    assert "cannot store runs (ENOTDIR" in problem
    assert "result is used, not kept" in problem
    cache.release(run)
    assert not run.path.exists()
    assert not (root / "runs").exists()


@pytest.mark.anyio
async def test_a_run_that_cannot_be_moved_into_place_is_used_and_reported(
    tmp_path: Path,
) -> None:
    root = tmp_path / "cache"
    (root / "runs").mkdir(parents=True)
    (root / "runs" / a_key().digest[:2]).write_text("not a folder")  # its shard: ENOTDIR
    cache = RunCache(root)
    run = await cache.fetch(a_key(), FakeRun())
    assert (run.stored, run.temporary) == (False, True)
    assert label_of(run.path) == "1"
    assert run.problem is not None
    assert "cannot store the run" in run.problem
    cache.release(run)
    assert names(root / "tmp") == []


def test_a_captured_file_name_that_is_not_utf8_is_in_the_manifest(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    key = a_key()
    entry = put_entry(root, key)
    odd = os.fsencode(entry / "files") + b"/caf\xe9.txt"
    with open(odd, "wb") as f:
        f.write(b"written by the agent\n")
    write_manifest(entry, key.digest)
    cache = RunCache(root)
    assert cache.get(key.digest) is not None
    os.truncate(odd, 3)
    assert cache.get(key.digest, digests=False) is None
    (problem,) = cache.problems
    assert "files/caf\\udce9.txt is 3 bytes" in problem
    problem.encode("utf-8")  # printable, and JSON-safe


def test_an_earlier_runners_entries_are_told_apart_from_corrupt_ones(tmp_path: Path) -> None:
    """Schema 3 wrote no manifest: its entries are not damaged, just unreachable (no key of
    this runner leads there). stats says so; prune removes them under their own name."""
    root = tmp_path / "cache"
    old_key = a_key(schema_version=CACHE_SCHEMA - 1)
    old = put_entry(root, old_key)
    (old / MANIFEST).unlink()
    damaged = put_entry(root, a_key(trial=1))
    (damaged / MANIFEST).unlink()
    good = put_entry(root, a_key(trial=2))
    stats = RunCache(root).stats()
    assert (stats.entries, stats.corrupt, stats.older_schema) == (3, 1, 1)
    report = RunCache(root).prune()
    assert report.removed == {"older schema": 1, "corrupt": 1}
    assert (old.exists(), damaged.exists(), good.exists()) == (False, False, True)


def tree_bytes(root: Path) -> int:
    return sum(p.lstat().st_size for p in root.rglob("*") if p.is_file())


def test_stats_counts_entries_reasons_corrupt_failed_and_in_progress(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    empty = RunCache(root).stats()
    assert (empty.entries, empty.bytes, empty.corrupt, empty.failed, empty.in_progress) == (
        0,
        0,
        0,
        0,
        0,
    )
    assert (empty.oldest_use, empty.newest_use) == (None, None)
    assert not root.exists()

    entries = [
        put_entry(root, a_key(trial=0)),
        put_entry(root, a_key(trial=1)),
        put_entry(root, a_key(trial=2), "error_max_turns"),
        put_entry(root, a_key(trial=3), "timeout"),
    ]
    corrupt = put_entry(root, a_key(trial=4))
    write_record("{")(corrupt)
    (root / "failed" / a_key(trial=5).digest).mkdir(parents=True)
    (root / "failed" / a_key(trial=5).digest / "stream.ndjson").write_text("{}\n")
    (root / "tmp" / "abc-1234").mkdir(parents=True)
    os.utime(entries[0], (1_700_000_000, 1_700_000_000))  # 2023-11-14T22:13:20Z

    stats = RunCache(root).stats()
    assert stats.root == str(root)
    assert stats.entries == 5
    assert stats.exit_reasons == {"success": 2, "error_max_turns": 1, "timeout": 1}
    assert (stats.corrupt, stats.failed, stats.in_progress) == (1, 1, 1)
    assert stats.bytes == tree_bytes(root)
    assert stats.oldest_use == "2023-11-14T22:13:20Z"
    assert stats.newest_use is not None
    assert stats.newest_use > stats.oldest_use


def test_prune_removes_corrupt_failed_and_stale_tmp(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    good = put_entry(root, a_key(trial=0))
    corrupt = put_entry(root, a_key(trial=1))
    truncate_record(corrupt)
    failed = root / "failed" / a_key(trial=2).digest
    failed.mkdir(parents=True)
    (failed / "stream.ndjson").write_text('{"type": "system"}\n')
    stale = root / "tmp" / "stale-run"
    stale.mkdir(parents=True)
    (stale / "stream.ndjson").write_text("partial\n")
    age(stale, 7 * 3600)
    fresh = root / "tmp" / "running-now"
    fresh.mkdir()
    (fresh / "stream.ndjson").write_text("going\n")
    age(good, 400 * 86400)  # old but not asked about: kept
    doomed_bytes = tree_bytes(corrupt) + tree_bytes(failed) + tree_bytes(stale)

    cache = RunCache(root)
    before = snapshot(root)
    dry = cache.prune(dry_run=True)
    assert dry.dry_run
    assert dry.removed == {"corrupt": 1, "failed": 1, "stale tmp": 1}
    assert dry.bytes_freed == doomed_bytes
    assert snapshot(root) == before  # a dry run removes nothing

    report = cache.prune()
    assert not report.dry_run
    assert report.removed == dry.removed
    assert report.bytes_freed == doomed_bytes
    assert not corrupt.exists()
    assert not failed.exists()
    assert not stale.exists()
    assert good.exists()
    assert fresh.exists()
    assert cache.prune().removed == {}


def test_prune_older_than_removes_unused_entries_and_a_hit_is_a_use(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    unused = put_entry(root, a_key(trial=0))
    recent = put_entry(root, a_key(trial=1))
    used_key = a_key(trial=2)
    used = put_entry(root, used_key)
    age(unused, 40 * 86400)
    age(used, 40 * 86400)
    age(recent, 5 * 86400)

    cache = RunCache(root)
    assert cache.get(used_key.digest) is not None  # a hit: used just now
    assert used.stat().st_mtime > time.time() - 60

    before = snapshot(root)
    dry = cache.prune(older_than_days=30, dry_run=True)
    assert dry.removed == {"unused": 1}
    assert dry.bytes_freed == tree_bytes(unused)
    assert snapshot(root) == before

    report = cache.prune(older_than_days=30)
    assert report.removed == {"unused": 1}
    assert not unused.exists()
    assert recent.exists()
    assert used.exists()
    # Without older_than_days, age alone removes nothing.
    age(recent, 1000 * 86400)
    assert cache.prune().removed == {}
    assert recent.exists()


def test_prune_of_no_cache_at_all(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    report = RunCache(root).prune(older_than_days=1)
    assert (report.removed, report.bytes_freed) == ({}, 0)
    assert not root.exists()


# ---- concurrent writers ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_concurrent_fetches_of_one_key_run_it_once(tmp_path: Path) -> None:
    cache = RunCache(tmp_path / "cache")
    key = a_key()
    produce = FakeRun(delay_s=0.2)
    results: list[CachedRun] = []

    async def one() -> None:
        results.append(await cache.fetch(key, produce))

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(one)
    assert produce.calls == 1
    assert len(results) == 5
    assert all(r.record == results[0].record for r in results)
    assert sorted(r.hit for r in results) == [False, True, True, True, True]
    assert {r.path for r in results} == {cache.entry(key.digest)}
    assert cache.problems == []


@pytest.mark.anyio
@pytest.mark.parametrize("writers", [2, 8])
async def test_caches_on_one_root_fetching_one_key_all_succeed(
    tmp_path: Path, writers: int
) -> None:
    """Like processes: each its own RunCache, so each runs the key; commits race."""
    root = tmp_path / "cache"
    key = a_key()
    k = key.digest
    producers = [FakeRun(delay_s=0.05 + 0.003 * i, tag=f"w{i}-") for i in range(writers)]
    results: dict[int, CachedRun] = {}

    async def one(i: int) -> None:
        results[i] = await RunCache(root).fetch(key, producers[i])

    async with anyio.create_task_group() as tg:
        for i in range(writers):
            tg.start_soon(one, i)
    assert len(results) == writers
    assert all(p.calls == 1 for p in producers)
    assert all(
        r.stored and not r.hit and r.path == RunCache(root).entry(k) for r in results.values()
    )
    assert names(root / "runs" / k[:2]) == [k]
    winner = label_of(root / "runs" / k[:2] / k)  # one writer's folder, whole
    assert winner in {f"w{i}-1" for i in range(writers)}
    assert names(root / "tmp") == []
    assert names(root / "failed") == []
    later = RunCache(root)
    hit = await later.fetch(key, FakeRun())
    assert hit.hit
    assert hit.record.argv == [f"--run={winner}"]
    assert later.problems == []


CHILD = """
import sys
import anyio
from pathlib import Path
from runner._evaluate.cache import RunCache
from tests.test_cache import FakeRun, a_key

async def main() -> None:
    cache = RunCache(Path(sys.argv[1]))
    got = await cache.fetch(a_key(), FakeRun(delay_s=float(sys.argv[3]), tag=sys.argv[2]))
    print(got.record.argv[0], got.hit, got.stored, len(cache.problems))

anyio.run(main)
"""


def test_processes_on_one_root_fetching_one_key_all_succeed(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    k = a_key().digest
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(root), f"p{i}-", str(1.0 + 0.01 * i)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    outputs = [child.communicate(timeout=120) for child in children]
    for child, (out, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, err
        assert out.split()[2:] == ["True", "0"], out  # stored, no problem met
    assert names(root / "runs" / k[:2]) == [k]
    winner = label_of(root / "runs" / k[:2] / k)
    assert winner in {f"p{i}-1" for i in range(4)}
    assert names(root / "tmp") == []
    assert names(root / "failed") == []


@pytest.mark.anyio
@pytest.mark.parametrize("ending", ["auth_error", "crash"])
async def test_caches_setting_aside_one_key_at_once_both_return(
    tmp_path: Path, ending: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "cache"
    key = a_key()
    # Two processes' timing, made certain: both clear failed/<k> before either moves in.
    barrier = threading.Barrier(2, timeout=5)
    real_rmtree = shutil.rmtree

    def rmtree(path: Any, *args: Any, **kwargs: Any) -> None:
        real_rmtree(path, *args, **kwargs)
        if Path(path).parent.name == "failed":
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()

    monkeypatch.setattr(shutil, "rmtree", rmtree)
    outcomes: list[str] = []

    async def one(i: int) -> None:
        if ending == "crash":
            produce = FakeRun(fail=RuntimeError(f"crash {i}"), tag=f"w{i}-")
        else:
            produce = FakeRun(exit_reason=ending, tag=f"w{i}-")
        try:
            got = await RunCache(root).fetch(key, produce)
            outcomes.append(got.record.exit_reason)
        except RuntimeError as exc:
            outcomes.append("crash" if str(exc).startswith("crash") else repr(exc))
        except OSError as exc:
            outcomes.append(f"OSError {errno.errorcode.get(exc.errno or 0, exc.errno)}")

    async with anyio.create_task_group() as tg:
        for i in range(2):
            tg.start_soon(one, i)
    assert outcomes == [ending, ending]
    assert names(root / "failed") == [key.digest]
    assert label_of_partial(root / "failed" / key.digest) in {"w0-1", "w1-1"}


def label_of_partial(folder: Path) -> str:
    return str(json.loads((folder / "stream.ndjson").read_text())["run"])


# ---- the real CLI through the cache ---------------------------------------------------------


@pytest.mark.cli
@pytest.mark.anyio
async def test_a_real_run_is_cached_and_a_hit_sends_no_request(tmp_path: Path) -> None:
    fixture = tmp_path / "fixture"
    fixture.mkdir()
    (fixture / "README.md").write_text("# project\n")
    spec = RunSpec(scenario="greet", instruction="Write a greeting.", fixture=fixture)
    lane = get_lane("agent-baseline")
    binary = find_claude()
    key = run_key(
        spec,
        lane,
        check(spec, lane),
        trial=0,
        cli_version=known_version(binary),
        fixture_digest=tree_digest(fixture),
        skill_digest=None,
        script=SCRIPT,
        seed=SCRIPT.seed,
    )
    root = tmp_path / "cache"
    cache = RunCache(root)
    async with scripted_model(SCRIPT, seed=key.seed) as model:
        options = RunOptions(binary=binary, endpoint=model.url, workspace_parent=tmp_path / "ws")

        async def produce(run_dir: Path) -> RunRecord:
            return await run_one(spec, lane, run_dir=run_dir, trial=0, options=options)

        first = await cache.fetch(key, produce)
        served = len(model.model.requests)
        second = await cache.fetch(key, produce)
        third = await RunCache(root).fetch(key, produce)
        assert len(model.model.requests) == served  # the hits started no CLI
    record = first.record
    assert record.exit_reason == "success", record.diagnostics.agent_log
    assert any(r.path == "/v1/messages" for r in model.model.requests[:served])
    assert (first.hit, first.stored) == (False, True)
    assert (second.hit, third.hit) == (True, True)
    assert second.record == record
    assert third.record == record
    folder = cache.entry(key.digest)
    assert first.path == folder
    assert {"stream.ndjson", "record.json", "key.json", "files"} <= set(names(folder))
    assert (folder / "stream.ndjson").stat().st_size > 0
    assert RunRecord.model_validate_json((folder / "record.json").read_bytes()) == record
    assert [(f.path, f.change) for f in record.files] == [("greeting.txt", "added")]
    assert (folder / "files" / "greeting.txt").read_text() == "Hello!\n"
    assert names(root / "tmp") == []
    assert cache.problems == []


@pytest.mark.cli
@pytest.mark.anyio
async def test_the_skill_folder_name_reaches_the_model(tmp_path: Path) -> None:
    """Why the folder's name belongs in the key : the CLI lists an
    installed skill to the model by its folder's name, nudge or not."""
    skill = tmp_path / "greeter-v2"
    shutil.copytree(GREETER, skill)
    spec = RunSpec(scenario="greet", instruction="Say hello.", skill=skill)
    script = Script.model_validate({"turns": [{"content": [text("Hello.")]}]})
    async with scripted_model(script) as model:
        options = RunOptions(endpoint=model.url, workspace_parent=tmp_path / "ws")
        record = await run_one(
            spec, "agent-skill-nonudge", run_dir=tmp_path / "run", options=options
        )
    assert record.exit_reason == "success", record.diagnostics.agent_log
    first = next(r for r in model.model.requests if r.path == "/v1/messages")
    assert "greeter-v2" in json.dumps(first.body)


# ---- the CLI's version ----------------------------------------------------------------------


def no_run(*args: object, **kwargs: object) -> str:
    raise AssertionError("the CLI was run")


def pinned_binary(monkeypatch: pytest.MonkeyPatch) -> ClaudeBinary:
    if pinned_dir() is None:
        pytest.skip("the pinned CLI is not installed (scripts/setup)")
    monkeypatch.delenv(ENV_VAR, raising=False)
    binary = find_claude()
    assert binary.source == "pinned"
    return binary


def test_known_version_of_the_pinned_cli_does_not_run_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    binary = pinned_binary(monkeypatch)
    monkeypatch.setattr("runner._agent.claude_bin.claude_version", no_run)
    monkeypatch.setattr("runner._agent.claude_bin.subprocess.run", no_run)
    memo = tmp_path / "cli-versions.json"
    assert known_version(binary, memo=memo) == pinned_version() == CLI_VERSION
    # Also through a link to it (a `claude` on PATH pointing at the install).
    link = tmp_path / "bin" / "claude"
    link.parent.mkdir()
    link.symlink_to(binary.path)
    assert known_version(ClaudeBinary(link, "PATH"), memo=memo) == CLI_VERSION
    assert not memo.exists()  # nothing to remember


def write_wrapper(path: Path, log: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\necho "$@" >> {shlex.quote(str(log))}\n{body}\n')
    path.chmod(0o755)


def calls(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


@pytest.mark.cli
def test_known_version_asks_a_wrapper_every_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A script may run anything: runner cannot know what, so it asks, once per call (one
    call per eval), and remembers nothing."""
    real = pinned_binary(monkeypatch)
    log = tmp_path / "calls.log"
    wrapper = tmp_path / "bin" / "claude"
    write_wrapper(wrapper, log, f'exec {shlex.quote(str(real.path))} "$@"')
    binary = ClaudeBinary(wrapper, "--claude-bin")
    memo = tmp_path / "cache" / "cli-versions.json"
    assert known_version(binary, memo=memo) == CLI_VERSION
    assert log.read_text() == "--version\n"
    assert known_version(binary, memo=memo) == CLI_VERSION
    assert calls(log) == 2
    assert not memo.exists()


def test_a_wrapper_whose_target_is_upgraded_gives_the_new_version(tmp_path: Path) -> None:
    """The wrapper itself unchanged (path, size, mtime): what it runs is upgraded."""
    target = tmp_path / "opt" / "claude-real"
    write_wrapper(target, tmp_path / "target.log", 'echo "9.9.9 (Claude Code)"')
    wrapper = tmp_path / "bin" / "claude"
    write_wrapper(wrapper, tmp_path / "calls.log", f'exec {shlex.quote(str(target))} "$@"')
    binary = ClaudeBinary(wrapper, "--claude-bin")
    memo = tmp_path / "cli-versions.json"
    before = wrapper.stat()
    assert known_version(binary, memo=memo) == "9.9.9"
    write_wrapper(target, tmp_path / "target.log", 'echo "9.9.10 (Claude Code)"')
    assert wrapper.stat() == before
    assert known_version(binary, memo=memo) == "9.9.10"


def test_a_symlink_is_followed_to_what_it_points_at(tmp_path: Path) -> None:
    old, new = tmp_path / "v1" / "claude", tmp_path / "v2" / "claude"
    write_wrapper(old, tmp_path / "v1.log", 'echo "1.0.0 (Claude Code)"')
    write_wrapper(new, tmp_path / "v2.log", 'echo "2.0.0 (Claude Code)"')
    link = tmp_path / "bin" / "claude"
    link.parent.mkdir()
    link.symlink_to(old)
    binary = ClaudeBinary(link, "PATH")
    memo = tmp_path / "cli-versions.json"
    assert known_version(binary, memo=memo) == "1.0.0"
    link.unlink()
    link.symlink_to(new)
    assert known_version(binary, memo=memo) == "2.0.0"


def padded_copy(source: str, dest: Path, size: int) -> None:
    """A copy of the program ``source``, zero bytes appended up to ``size`` (an ELF file runs
    the same with a tail it never reads)."""
    data = Path(source).read_bytes()
    assert len(data) <= size
    dest.write_bytes(data + bytes(size - len(data)))
    dest.chmod(0o755)


def test_a_binary_replaced_by_one_of_its_size_and_mtime_is_asked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memoized for a real binary, by a stamp that no replacement keeps: the ctime and inode
    change even when the size and the mtime are made to match."""
    echo, printf = shutil.which("echo"), shutil.which("printf")
    if echo is None or printf is None or Path(echo).read_bytes()[:4] != b"\x7fELF":
        pytest.skip("needs the echo and printf programs as ELF binaries")
    size = max(Path(echo).stat().st_size, Path(printf).stat().st_size)
    program = tmp_path / "bin" / "claude"
    program.parent.mkdir()
    padded_copy(echo, program, size)
    binary = ClaudeBinary(program, "--claude-bin")
    memo = tmp_path / "cli-versions.json"
    assert known_version(binary, memo=memo) == "echo"  # "echo (GNU coreutils) 9.1"
    was = program.stat()
    replacement = tmp_path / "bin" / ".claude.new"
    padded_copy(printf, replacement, size)
    os.utime(replacement, ns=(was.st_atime_ns, was.st_mtime_ns))
    replacement.replace(program)
    now = program.stat()
    assert (now.st_size, now.st_mtime_ns) == (was.st_size, was.st_mtime_ns)
    assert known_version(binary, memo=memo) == "printf"
    # Unchanged, it is not asked again: the memo answers.
    monkeypatch.setattr("runner._agent.claude_bin.claude_version", no_run)
    assert known_version(binary, memo=memo) == "printf"


def test_a_memo_that_cannot_be_written_or_read_is_no_error(tmp_path: Path) -> None:
    echo = shutil.which("echo")
    if echo is None or Path(echo).read_bytes()[:4] != b"\x7fELF":
        pytest.skip("needs the echo program as an ELF binary")
    program = tmp_path / "claude"
    padded_copy(echo, program, Path(echo).stat().st_size)
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    memo = blocked / "cli-versions.json"  # its folder is a file: ENOTDIR
    assert known_version(ClaudeBinary(program, "--claude-bin"), memo=memo) == "echo"
    # A memo that is not what runner writes is ignored, then rewritten.
    memo = tmp_path / "cli-versions.json"
    memo.write_text("[1, 2]")
    assert known_version(ClaudeBinary(program, "--claude-bin"), memo=memo) == "echo"
    assert list(json.loads(memo.read_text()).values()) == ["echo"]


# ---- through eval: damaged entries, a read-only cache ----------------------------------------

# The damage a disk, a half-done copy or a hand can do to a stored run, each one an entry that
# used to be served and turned a PASS into a lasting FAIL blamed on the agent.
EVAL_DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "files-gone": (remove_files, "files/CHANGELOG.md is missing"),
    "stream-truncated": (truncate_stream, "stream.ndjson is"),
    "file-changed-same-size": (
        change_a_file_keeping_its_size,
        "files/CHANGELOG.md differs from the manifest (its digest)",
    ),
    "manifest-missing": (remove(MANIFEST), SAYS["manifest-missing"]),
    "manifest-not-json": (write_manifest_text("{"), SAYS["manifest-not-json"]),
    "manifest-older-schema": (
        edit_manifest(schema_version=CACHE_SCHEMA - 1),
        SAYS["manifest-older-schema"],
    ),
}


@pytest.mark.cli
def test_eval_reports_each_damaged_entry_and_runs_it_again(tmp_path: Path) -> None:
    bench = workbench(tmp_path)
    assert bench.eval("--scenarios", "fix-entry").returncode == 0
    (entry,) = (bench.root / "cache" / "runs").glob("*/*")
    pristine = tmp_path / "pristine"
    shutil.copytree(entry, pristine, symlinks=True)
    for kind, (damage, says) in EVAL_DAMAGE.items():
        shutil.rmtree(entry)
        shutil.copytree(pristine, entry, symlinks=True)
        damage(entry)
        starts = bench.cli_runs()
        proc = bench.eval("--scenarios", "fix-entry", "--json")
        assert proc.returncode == 0, (kind, proc.stderr[-2000:])
        assert "Traceback" not in proc.stderr
        (run,) = report(proc)["runs"]
        assert (run["passed"], run["cache_hit"]) == (True, False), kind
        assert bench.cli_runs() == starts + 1, kind
        assert says in run["cache_problem"], kind
        assert report(proc)["header"]["totals"]["cache_problems"] == 1
        (warning,) = [line for line in proc.stderr.splitlines() if "corrupt cache entry" in line]
        assert str(entry) in warning
        assert says in warning
        assert report(proc)["cache_problems"] == [warning.removeprefix("runner: warning: ")]
        # Replaced by the run again, whole: the next eval is a clean hit.
        again = bench.eval("--scenarios", "fix-entry", "--json")
        (hit,) = report(again)["runs"]
        assert (hit["passed"], hit["cache_hit"], hit["cache_problem"]) == (True, True, None)
        assert bench.cli_runs() == starts + 1


MOUNT_RO = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" && exec "$@"'


def read_only_mounts() -> str | None:
    """Why a read-only bind mount in a private mount namespace cannot be made here, if so."""
    if shutil.which("unshare") is None:
        return "unshare(1) is not installed"
    with tempfile.TemporaryDirectory() as folder:
        probe = subprocess.run(
            ["unshare", "-m", "sh", "-c", MOUNT_RO, folder, "sh", "-c", f"! touch {folder}/x"],
            capture_output=True,
            text=True,
        )
    if probe.returncode != 0:
        return f"cannot mount read-only here: {probe.stderr.strip()[:200] or probe.returncode}"
    return None


@pytest.mark.cli
def test_a_read_only_cache_serves_its_hits_and_runs_what_it_cannot_keep(
    tmp_path: Path,
) -> None:
    why = read_only_mounts()
    if why is not None:
        pytest.skip(why)
    bench = workbench(tmp_path)
    assert bench.eval("--scenarios", "fix-entry").returncode == 0
    cache = bench.root / "cache"
    before = snapshot(cache)
    starts = bench.cli_runs()
    env = offline_env()
    # The cache mounted read-only in a mount namespace of the eval's own: a real EROFS on
    # os.utime, on mkdir in tmp/, on the CLI version's memo.
    proc = subprocess.run(
        ["unshare", "-m", "sh", "-c", MOUNT_RO, str(cache), sys.executable, "-m", "runner",
         "eval", "--suite", str(bench.suite), "--cache-dir", str(cache),
         "--runs-dir", str(bench.root / "runs"), "--claude-bin", str(bench.claude),
         "--scenarios", "fix-entry,feature-entry", "--json"],
        capture_output=True, text=True, cwd=bench.root, timeout=300,
        env={**env, "PATH": bench.path(env)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    hit, miss = sorted(report(proc)["runs"], key=lambda r: r["scenario"] != "fix-entry")
    assert (hit["scenario"], hit["cache_hit"], hit["passed"]) == ("fix-entry", True, True)
    assert hit["cache_problem"] is None
    assert (miss["scenario"], miss["cache_hit"], miss["passed"]) == ("feature-entry", False, True)
    assert miss["run_dir"] is None  # scored from a temporary folder, gone now
    assert "cannot store runs (EROFS" in miss["cache_problem"]
    assert str(cache / "tmp") in miss["cache_problem"]
    assert bench.cli_runs() == starts + 1
    assert f"warning: {miss['cache_problem']}" in proc.stderr
    assert snapshot(cache) == before
