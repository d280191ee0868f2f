"""Fixtures for the inspect-ai adapter's tests: no network, inspect's files kept in a temp dir."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("inspect_ai")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Connections anywhere but loopback (or a unix socket) fail the test that makes them."""
    attempts: list[Any] = []
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and host not in ("127.0.0.1", "::1", "localhost"):
            attempts.append(address)
            raise OSError(f"test blocked a network connection to {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    yield attempts
    assert not attempts, f"inspect tried to reach the network: {attempts}"


@pytest.fixture(autouse=True)
def user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Home and XDG dirs in the test's temp dir, to see what inspect writes outside its log dir."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.delenv("INSPECT_LOG_DIR", raising=False)
    return home


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache holding the tiny local model, built once per session (slow tests only)."""
    pytest.importorskip("torch")
    from cookbook_adapters.local import tiny_chat_dir

    root = tmp_path_factory.mktemp("cookbook-cache")
    tiny_chat_dir(root)
    return root
