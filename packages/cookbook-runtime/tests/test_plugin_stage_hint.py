"""A pipeline naming a stage another package provides says which install brings it."""

from __future__ import annotations

import pytest
from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework import _stage


def test_a_missing_plugin_stage_names_its_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_stage, "_entry_point_stages", dict)  # as with the runtime installed alone
    with pytest.raises(ConfigError, match=r"stage 'deploy' comes with cookbook-adapters\[deploy\]: pip install"):
        _stage.get_stage("deploy")


def test_an_unknown_stage_still_lists_the_known_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_stage, "_entry_point_stages", dict)
    with pytest.raises(ConfigError, match="unknown stage 'deplyo'.*known: "):
        _stage.get_stage("deplyo")
