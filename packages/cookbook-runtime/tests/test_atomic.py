"""One atomic-write helper: whole files or nothing, fsynced, used by every writer."""

from __future__ import annotations

import os
import re
from pathlib import Path

import cookbook_runtime
import pytest
from cookbook_runtime.atomic import atomic_directory, atomic_write, atomic_writer


def test_writes_text_bytes_and_file_contents(tmp_path: Path) -> None:
    atomic_write(tmp_path / "a" / "t.txt", "héllo")
    atomic_write(tmp_path / "b.bin", b"\x00\xff")
    atomic_write(tmp_path / "c.txt", tmp_path / "a" / "t.txt")
    assert (tmp_path / "a" / "t.txt").read_text(encoding="utf-8") == "héllo"
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\xff"
    assert (tmp_path / "c.txt").read_bytes() == "héllo".encode()


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    atomic_write(target, "old")
    with pytest.raises(RuntimeError), atomic_writer(target) as f:
        f.write(b"half of the n")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_the_file_and_its_directory_are_fsynced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[bool] = []
    real = os.fsync

    def spy(fd: int) -> None:
        synced.append(os.path.isdir(f"/proc/self/fd/{fd}") if os.path.exists("/proc/self/fd") else False)
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    atomic_write(tmp_path / "x", "data")
    assert len(synced) == 2
    if os.path.exists("/proc/self/fd"):
        assert synced == [False, True]  # the file, then the directory holding the rename


def _record_fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Spy on os.fsync, recording the (device, inode) of every fd it is given."""
    synced: list[tuple[int, int]] = []
    real = os.fsync

    def spy(fd: int) -> None:
        st = os.fstat(fd)
        synced.append((st.st_dev, st.st_ino))
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    return synced


def _identity(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return (st.st_dev, st.st_ino)


def _fill(tmp: Path) -> None:
    (tmp / "sub").mkdir()
    (tmp / "weights.bin").write_bytes(b"\x01" * 16)
    (tmp / "sub" / "config.json").write_text("{}")


@pytest.mark.parametrize("replace", [False, True], ids=["fresh", "replacing"])
def test_a_directory_is_fsynced_before_and_its_parent_after_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, replace: bool
) -> None:
    dest = tmp_path / "parent" / "ckpt"
    if replace:
        atomic_directory(dest, lambda d: (d / "stale").write_text("old"))
    synced = _record_fsyncs(monkeypatch)
    atomic_directory(dest, _fill, replace=replace)
    assert sorted(p.name for p in dest.rglob("*")) == ["config.json", "sub", "weights.bin"]
    files = [_identity(dest / "weights.bin"), _identity(dest / "sub" / "config.json")]
    assert all(f in synced for f in files), f"files not fsynced before the rename: {synced}"
    if getattr(os, "O_DIRECTORY", None) is not None:
        parent = _identity(dest.parent)
        assert parent in synced, f"parent {dest.parent} not fsynced after the rename: {synced}"
        assert synced.index(parent) > max(synced.index(f) for f in files), "parent fsynced before the files"
        assert _identity(dest) in synced and _identity(dest / "sub") in synced


def test_a_lost_race_keeps_the_winner(tmp_path: Path) -> None:
    dest = tmp_path / "tiny"
    atomic_directory(dest, lambda d: (d / "who").write_text("first"))
    atomic_directory(dest, lambda d: (d / "who").write_text("second"))
    assert (dest / "who").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny"]


def test_no_runtime_module_writes_files_around_the_helper() -> None:
    root = Path(cookbook_runtime.__file__).parent
    pattern = re.compile(r"tempfile\.mkstemp|os\.replace\(|\.write_text\(|\.write_bytes\(")
    offenders = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if p.name != "atomic.py" and pattern.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == [], f"write through cookbook_runtime.atomic instead: {offenders}"
