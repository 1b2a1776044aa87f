"""Workspaces: a fresh copy per run, the skill installed, and exact added/changed/deleted."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from runner._agent.workspace import FileChange, Workspace, diff_states, tree_state


def fixture(tmp_path: Path) -> Path:
    root = tmp_path / "fixture"
    (root / "src").mkdir(parents=True)
    (root / "src" / "a.py").write_text("a = 1\n")
    (root / "keep.txt").write_text("same\n")
    (root / "gone.txt").write_text("bye\n")
    (root / "run.sh").write_text("#!/bin/sh\n")
    (root / "link").symlink_to("keep.txt")
    return root


def test_a_fresh_copy_each_time(tmp_path: Path) -> None:
    src = fixture(tmp_path)
    one = Workspace.create(src, parent=tmp_path / "ws")
    two = Workspace.create(src, parent=tmp_path / "ws")
    (one.path / "keep.txt").write_text("changed in one\n")
    assert (two.path / "keep.txt").read_text() == "same\n"
    assert (src / "keep.txt").read_text() == "same\n"
    assert (one.path / "link").is_symlink()
    assert one.home.is_dir()
    assert not one.home.is_relative_to(one.path)


def test_changes_against_the_start(tmp_path: Path) -> None:
    ws = Workspace.create(fixture(tmp_path), parent=tmp_path)
    skill = tmp_path / "greeter"
    skill.mkdir()
    (skill / "SKILL.md").write_text("---\nname: greeter\n---\n")
    ws.install_skill(skill)
    ws.snapshot()  # the installed skill is part of the start, not a change
    (ws.path / "src" / "a.py").write_text("a = 2\n")
    (ws.path / "src" / "b.py").write_text("b = 1\n")
    (ws.path / "gone.txt").unlink()
    (ws.path / "run.sh").chmod(0o755)
    (ws.path / "keep.txt").write_text("same\n")  # rewritten, same bytes: unchanged
    (ws.path / "link").unlink()
    (ws.path / "link").symlink_to("src/a.py")
    os.mkfifo(ws.path / "fifo")  # must not block the walk
    changes = {c.path: c for c in ws.changes()}
    assert {p: c.change for p, c in changes.items()} == {
        "fifo": "added",
        "gone.txt": "deleted",
        "link": "changed",
        "run.sh": "changed",
        "src/a.py": "changed",
        "src/b.py": "added",
    }
    assert changes["run.sh"].mode == 0o755
    assert changes["link"].symlink
    assert changes["gone.txt"].size is None

    dest = tmp_path / "captured"
    ws.capture(list(changes.values()), dest)
    assert (dest / "src" / "a.py").read_text() == "a = 2\n"
    assert (dest / "src" / "b.py").read_text() == "b = 1\n"
    assert os.readlink(dest / "link") == "src/a.py"
    assert os.stat(dest / "run.sh").st_mode & 0o777 == 0o755
    assert not (dest / "gone.txt").exists()
    assert not (dest / "fifo").exists()
    files = [p.name for p in dest.rglob("*") if p.is_file() and not p.is_symlink()]
    assert sorted(files) == ["a.py", "b.py", "run.sh"]

    ws.remove()
    assert not ws.root.exists()


def test_no_fixture_is_an_empty_folder(tmp_path: Path) -> None:
    ws = Workspace.create(None, parent=tmp_path)
    ws.snapshot()
    assert list(ws.path.iterdir()) == []
    (ws.path / "new.txt").write_text("x")
    assert [(c.path, c.change, c.size) for c in ws.changes()] == [("new.txt", "added", 1)]


def test_a_workspace_deleted_or_replaced_by_a_symlink_is_every_file_deleted(
    tmp_path: Path,
) -> None:
    ws = Workspace.create(fixture(tmp_path), parent=tmp_path)
    ws.snapshot()
    everything = {"gone.txt", "keep.txt", "link", "run.sh", "src/a.py"}
    shutil.rmtree(ws.path)
    assert {(c.path, c.change) for c in ws.changes()} == {(p, "deleted") for p in everything}
    ws.path.symlink_to("/")  # never followed: the walk would read the whole machine
    assert {(c.path, c.change) for c in ws.changes()} == {(p, "deleted") for p in everything}


def test_a_name_that_is_not_utf8_is_escaped_and_not_kept(tmp_path: Path) -> None:
    ws = Workspace.create(None, parent=tmp_path)
    ws.snapshot()
    (ws.path / os.fsdecode(b"caf\xe9")).write_text("x")
    (ws.path / "ok.txt").write_text("fine")
    changes = ws.changes()
    odd, _ = changes
    assert (odd.path, odd.captured) == ("caf\\xe9", False)
    assert odd.error == "the name is not UTF-8 (shown with \\x escapes): not kept"
    kept = ws.capture(changes, tmp_path / "captured")
    assert kept == changes
    assert sorted(os.listdir(tmp_path / "captured")) == ["ok.txt"]
    FileChange.model_validate_json(odd.model_dump_json())  # JSON can hold it


def test_an_entry_that_cannot_be_read_is_listed_and_hides_nothing(tmp_path: Path) -> None:
    ws = Workspace.create(None, parent=tmp_path)
    ws.snapshot()
    fd = os.open(ws.path, os.O_RDONLY)
    try:  # 25 folders of 200 characters: past PATH_MAX, made by relative steps
        for _ in range(25):
            os.mkdir("d" * 200, dir_fd=fd)
            inner = os.open("d" * 200, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
    finally:
        os.close(fd)
    (deep,) = ws.changes()
    assert deep.path.startswith("d" * 200 + "/")
    assert (deep.change, deep.captured, deep.error) == (
        "added",
        False,
        "not read: File name too long",
    )
    assert ws.capture([deep], tmp_path / "captured") == [deep]
    # What was under a folder that could not be read is not taken for deleted.
    before = tree_state(fixture(tmp_path))
    unread = {"src": "not read: Permission denied"}
    after = {p: s for p, s in before.items() if not p.startswith("src/")}
    assert [(c.path, c.change, c.error) for c in diff_states(before, after, unread)] == [
        ("src", "changed", "not read: Permission denied")
    ]
    root = diff_states(before, {}, {".": "not read: Permission denied"})
    assert [(c.path, c.change) for c in root] == [(".", "changed")]
    ws.remove()
