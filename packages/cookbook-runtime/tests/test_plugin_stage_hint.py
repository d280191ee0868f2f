"""A plugin stage whose dependencies come with an extra names the install that brings them.

The plugin here is a real installed distribution (a `.dist-info` folder on `sys.path`)
declaring a `cookbook.stages` entry point whose module imports a package only one of
its extras requires, as cookbook-adapters declares `deploy` without its `[deploy]` extra.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework import _stage

METADATA = """\
Metadata-Version: 2.1
Name: cookbook-ghost-plugin
Version: 0.1.0
Requires-Dist: cookbook-runtime
Provides-Extra: base
Requires-Dist: cookbook_ghost_dep_a>=1; extra == 'base'
Provides-Extra: other
Requires-Dist: cookbook-ghost-dep-b>=1; extra == "other"
Provides-Extra: haunt
Requires-Dist: cookbook-ghost-plugin[base]; extra == "haunt"
Requires-Dist: cookbook-ghost-dep-b>=1; extra == "haunt"
"""

ENTRY_POINTS = """\
[cookbook.stages]
haunt = cookbook_ghost_plugin_mod.haunt:HauntStage
wail = cookbook_ghost_plugin_mod.wail:WailStage
broken = cookbook_ghost_plugin_mod.broken:BrokenStage
"""


@pytest.fixture
def ghost_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    info = tmp_path / "cookbook_ghost_plugin-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(METADATA)
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    pkg = tmp_path / "cookbook_ghost_plugin_mod"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "haunt.py").write_text("import cookbook_ghost_dep_a\n")
    (pkg / "wail.py").write_text("import cookbook_ghost_dep_b.sub\n")
    (pkg / "broken.py").write_text("import cookbook_ghost_undeclared\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    _stage._entry_point_stages.cache_clear()
    yield
    _stage._entry_point_stages.cache_clear()


def test_a_missing_dependency_names_the_extra_that_brings_it(ghost_plugin: None) -> None:
    # dep a comes with [base] directly and with [haunt] through it: the stage's own name wins
    with pytest.raises(ConfigError) as err:
        _stage.get_stage("haunt")
    assert str(err.value) == (
        "stage 'haunt' (cookbook-ghost-plugin) needs cookbook_ghost_dep_a: "
        "pip install 'cookbook-ghost-plugin[haunt]'"
    )


def test_the_first_extra_that_provides_a_submodule_s_package(ghost_plugin: None) -> None:
    with pytest.raises(ConfigError, match=r"^stage 'wail' \(cookbook-ghost-plugin\) needs cookbook_ghost_dep_b: "
                       r"pip install 'cookbook-ghost-plugin\[other\]'$"):
        _stage.get_stage("wail")


def test_a_dependency_no_extra_declares_is_not_disguised(ghost_plugin: None) -> None:
    with pytest.raises(ModuleNotFoundError, match="cookbook_ghost_undeclared"):
        _stage.get_stage("broken")


def test_plugin_stages_are_listed(ghost_plugin: None) -> None:
    assert {"haunt", "wail", "broken"} <= set(_stage.stage_names())


def test_an_unknown_stage_still_lists_the_known_ones(ghost_plugin: None) -> None:
    with pytest.raises(ConfigError, match="unknown stage 'hant'.*known: .*haunt"):
        _stage.get_stage("hant")
