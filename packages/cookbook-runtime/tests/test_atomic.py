"""One atomic-write helper: whole files or nothing, fsynced, used by every writer."""

from __future__ import annotations

import os
import re
from pathlib import Path

import cookbook_runtime
import pytest
from cookbook_runtime.atomic import atomic_write, atomic_writer


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


def test_no_runtime_module_writes_files_around_the_helper() -> None:
    root = Path(cookbook_runtime.__file__).parent
    pattern = re.compile(r"tempfile\.mkstemp|os\.replace\(|\.write_text\(|\.write_bytes\(")
    offenders = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if p.name != "atomic.py" and pattern.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == [], f"write through cookbook_runtime.atomic instead: {offenders}"
