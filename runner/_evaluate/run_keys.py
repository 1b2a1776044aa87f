"""Run keys: everything that can change what the agent does, and nothing else, as a frozen
model (``RunKey``) whose xxh3_128 digest names the run's cache entry; tree digests of the
fixture and skill it starts from.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

import xxhash
from pydantic import BaseModel, ConfigDict

from runner._agent.cli_spec import CliSpec, inherited_env
from runner._agent.engine import RunSpec
from runner._agent.jail import SEARCH_PATH, Network
from runner._agent.lanes import Lane
from runner._agent.sandbox import SandboxMode
from runner._agent.workspace import walk_tree
from runner._model.script import Script
from runner._util.redact import is_secret_name

# 3: runs in the sandbox (fixed paths, no network); the capture cap. 4: a manifest in every
# entry; the skill lane keyed on SKILL.md alone; the environment's values in the key; records
# summarized by newer rules (a failed Skill call is not an invocation, sessions apart, null
# estimates), which a hit does not redo: a change to how records are summarized bumps this.
CACHE_SCHEMA = 4


def tree_digest(root: Path) -> str:
    """xxh3_128 over a tree's paths, bytes, modes and symlink targets; empty folders count."""
    files, folders = walk_tree(root)
    h = xxhash.xxh3_128()
    # surrogateescape: a file name that is not UTF-8 hashes as its own bytes.
    for path in sorted(files):
        f = files[path]
        line = f"F\0{path}\0{f.mode:o}\0{f.size}\0{f.symlink:d}\0{f.digest}\n"
        h.update(line.encode("utf-8", "surrogateescape"))
    for path in sorted(folders):
        h.update(f"D\0{path}\0{folders[path]:o}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def canonical_json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class RunKey(BaseModel):
    """Every input of a run that can change its outcome; ``digest`` names its cache folder."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = CACHE_SCHEMA
    instruction: str
    fixture: str | None  # tree digest; None: an empty workspace
    lane: str
    skill: str | None  # tree digest, when the lane installs the skill (else SKILL.md is in argv)
    skill_name: str | None = None  # its folder's name: the CLI shows it to the model
    nudge: str | None  # when the lane carries one
    model: str | None
    cli_version: str
    argv: tuple[str, ...]  # every option that reaches the CLI's command line
    timeout_s: float
    idle_timeout_s: float | None
    trial: int
    mode: Literal["live", "scripted", "replay"]
    script: str | None = None  # the scripted model's digest, when scripted
    seed: int | None = None  # its seed for this run
    cassette: str | None = None  # the API cassette's digest, when replayed from one
    env_names: tuple[str, ...] = ()  # variables asked to pass through, set or not
    # Every variable of the caller's that reaches the CLI (PATH and the passed-through ones
    # that are set), by value; a secret's (by its name) as a one-way digest, never the value.
    env: tuple[tuple[str, str], ...] = ()  # (name, value), sorted: a key stays hashable
    sandbox: SandboxMode = "bwrap"  # "none": on the host, seeing (and doing) what the user can
    network: Network | None = "model"  # in the sandbox: what the agent can reach
    max_processes: int | None = None  # in the sandbox

    @property
    def digest(self) -> str:
        return xxhash.xxh3_128_hexdigest(canonical_json(self.model_dump(mode="json")))


def key_env(spec: RunSpec) -> tuple[tuple[str, str], ...]:
    """What of the caller's environment the CLI will see, as the key holds it."""
    search_path = None if spec.sandbox == "none" else SEARCH_PATH
    seen = inherited_env(spec.env_passthrough, search_path=search_path)
    return tuple(
        (name, _secret_digest(value) if is_secret_name(name) else value)
        for name, value in sorted(seen.items())
    )


def _secret_digest(value: str) -> str:
    # Cryptographic, not xxh3: key.json is stored, and must not give a short secret back.
    digest = hashlib.blake2b(value.encode("utf-8", "surrogateescape"), digest_size=16)
    return f"blake2b:{digest.hexdigest()}"


def script_digest(script: Script) -> str:
    return xxhash.xxh3_128_hexdigest(canonical_json(script.model_dump(mode="json")))


def run_key(
    spec: RunSpec,
    lane: Lane,
    cli: CliSpec,
    *,
    trial: int,
    cli_version: str,
    fixture_digest: str | None,
    skill_digest: str | None,
    script: Script | None = None,
    seed: int | None = None,
    cassette: str | None = None,
) -> RunKey:
    """The key of ``spec`` run in ``lane``. Tree digests come from the caller, which hashes a
    fixture once for all the runs that share it."""
    installed = lane.installs_skill and spec.skill is not None
    return RunKey(
        instruction=spec.instruction,
        fixture=fixture_digest,
        lane=lane.name,
        skill=skill_digest if installed else None,
        skill_name=spec.skill.name if installed and spec.skill is not None else None,
        nudge=spec.nudge if lane.nudge else None,
        model=spec.model,
        cli_version=cli_version,
        argv=tuple(cli.argv(Path("claude"))[1:]),
        timeout_s=spec.timeout_s,
        idle_timeout_s=spec.idle_timeout_s,
        trial=trial,
        mode="replay" if cassette else "live" if script is None else "scripted",
        # A replay's model is its cassette: no script, no seed.
        script=None if script is None or cassette else script_digest(script),
        seed=None if cassette else seed,
        cassette=cassette,
        env_names=tuple(sorted(spec.env_passthrough)),
        env=key_env(spec),
        sandbox=spec.sandbox,
        network=spec.network if spec.sandbox != "none" else None,
        max_processes=spec.max_processes if spec.sandbox != "none" else None,
    )
