"""Shared fixtures: the toy recipe registered, an isolated folder, an in-process CLI runner."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import toy_recipe
from cookbook_cli.app import app
from typer.testing import CliRunner

toy_recipe.register()


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test runs in its own folder with no user manifests, and leaves logging as it was."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COOKBOOK_MANIFESTS", str(tmp_path / "no-manifests.toml"))
    monkeypatch.setenv("COLUMNS", "200")
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    root.setLevel(level)
    root.handlers[:] = handlers


@pytest.fixture
def cli() -> Callable[..., object]:
    """Invoke `cookbook ARGS` in-process; stdout and stderr are kept apart."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> object:
        return runner.invoke(app, list(args), input=input)

    return invoke
