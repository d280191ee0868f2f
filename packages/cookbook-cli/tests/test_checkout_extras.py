"""From a checkout, `uv run --extra NAME cookbook ...` reaches every adapter extra (e.g. serve)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
ROOT_PYPROJECT = ROOT / "pyproject.toml"
ADAPTERS_PYPROJECT = ROOT / "packages" / "cookbook-adapters" / "pyproject.toml"
IN_THE_CLI = {"local", "files"}  # cookbook-cli already depends on these


@pytest.mark.skipif(not ROOT_PYPROJECT.is_file(), reason="not run from a checkout of the workspace")
def test_every_adapter_extra_is_a_root_extra() -> None:
    root = tomllib.loads(ROOT_PYPROJECT.read_text())["project"]["optional-dependencies"]
    adapters = tomllib.loads(ADAPTERS_PYPROJECT.read_text())["project"]["optional-dependencies"]
    assert root["server"] == ["cookbook-adapters[server]"]  # `uv run --extra server cookbook serve`
    missing = sorted(set(adapters) - IN_THE_CLI - set(root))
    assert missing == [], f"root pyproject lacks extras {missing}: `uv run --extra NAME` cannot reach them"
    for name, deps in root.items():
        assert deps == [f"cookbook-adapters[{name}]"], name
