"""Options that name an earlier stage: checked by `validate` at the holding stage's own key, before any write."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, ClassVar

import pytest
from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework import (
    Context,
    EarlierStage,
    earlier_stage_keys,
    preflight,
    register_stage,
    require_earlier_stage,
    run,
    validate,
)
from cookbook_runtime.framework import _stage as stage_module
from cookbook_runtime.ir import Experiment
from cookbook_runtime.ports import Ports
from pydantic import BaseModel, Field

TRAINING = {"model": {"name": "fake/toy-model", "renderer": "role_colon"}}


def _experiment(*stages: dict[str, Any]) -> Experiment:
    return Experiment.model_validate({"id": "refs", "training": TRAINING, "pipeline": list(stages)})


# -- the same stage name twice: each is checked at its own position ---------------------------------
def test_a_second_dpo_stage_may_start_from_the_first() -> None:
    spec = _experiment(
        {"name": "supervised_train"},
        {"name": "dpo_train", "options": {"init_from_stage": "supervised_train"}},
        {"name": "dpo_train", "id": "dpo_2", "options": {"init_from_stage": "dpo_train"}},
    )
    assert [p.spec.key for p in validate(spec)] == ["supervised_train", "dpo_train", "dpo_2"]


async def test_a_second_supervised_stage_may_train_on_what_an_export_between_them_published() -> None:
    spec = _experiment(
        {"name": "supervised_train"},
        {"name": "check_triggers", "id": "check", "options": {"min_events": 1}},
        {"name": "export_feedback", "options": {"trigger_stage": "check"}},
        {"name": "supervised_train", "id": "sft_2", "options": {"dataset_from_stage": "export_feedback"}},
    )
    planned = validate(spec)
    assert planned[-1].spec.key == "sft_2"
    await preflight(planned[-1:], spec, Ports())  # its own checks, at its own position: nothing to refuse


def test_the_first_of_two_same_named_stages_cannot_start_from_the_second() -> None:
    spec = _experiment(
        {"name": "supervised_train"},
        {"name": "dpo_train", "options": {"init_from_stage": "dpo_2"}},
        {"name": "dpo_train", "id": "dpo_2", "options": {"init_from_stage": "dpo_train"}},
    )
    with pytest.raises(ConfigError) as info:
        validate(spec)
    assert str(info.value) == (
        "stage 'dpo_train': init_from_stage 'dpo_2' is not an earlier enabled stage (earlier: supervised_train); "
        "put 'dpo_2' before 'dpo_train', or name one of those"
    )


def test_earlier_stage_keys_go_by_key_not_name() -> None:
    spec = _experiment({"name": "supervised_train"}, {"name": "dpo_train"}, {"name": "dpo_train", "id": "dpo_2"})
    assert earlier_stage_keys(spec, "dpo_train") == ["supervised_train"]
    assert earlier_stage_keys(spec, "dpo_2") == ["supervised_train", "dpo_train"]
    with pytest.raises(ConfigError, match="stage 'nope' is not in the pipeline"):
        earlier_stage_keys(spec, "nope")


# -- every option that names a stage to start from or read from --------------------------------------
REFERENCES = [
    ("dpo_train", {"init_from_stage": "supervised_trian"}, "init_from_stage"),
    ("rl_train", {"env": "test_letters", "init_from_stage": "supervised_trian"}, "init_from_stage"),
    ("reward_model_train", {"init_from_stage": "supervised_trian"}, "init_from_stage"),
    ("distill_off_policy", {"teacher": {"model": "t"}, "init_from_stage": "supervised_trian"}, "init_from_stage"),
    ("distill_off_policy", {"teacher": {"from_stage": "supervised_trian"}}, "teacher.from_stage"),
    (
        "distill_on_policy",
        {"datasets": [{"env": "test_letters", "teacher": {"from_stage": "supervised_trian"}}]},
        r"datasets\[0\].teacher.from_stage",
    ),
    ("distill_on_policy", {"datasets": [{"env": "test_letters", "teacher": {"model": "t"}}],
                           "init_from_stage": "supervised_trian"}, "init_from_stage"),
    ("supervised_train", {"dataset_from_stage": "supervised_trian"}, "dataset_from_stage"),
    ("dpo_train", {"dataset_from_stage": "supervised_trian"}, "dataset_from_stage"),
    ("export", {"from_stage": "supervised_trian"}, "from_stage"),
    ("register", {"from_stage": "supervised_trian"}, "from_stage"),
    ("export_feedback", {"trigger_stage": "supervised_trian"}, "trigger_stage"),
]


@pytest.mark.parametrize(("name", "options", "option"), REFERENCES, ids=[f"{n}-{o}" for n, _, o in REFERENCES])
def test_a_typo_in_a_stage_reference_fails_validation(name: str, options: dict[str, Any], option: str) -> None:
    spec = _experiment({"name": "supervised_train"}, {"name": name, "id": "later", "options": options})
    with pytest.raises(ConfigError) as info:
        validate(spec)
    message = str(info.value)
    assert "\n" not in message
    pattern = (
        rf"^stage 'later': {option} 'supervised_trian' is not an earlier enabled stage "
        r"\(earlier: supervised_train\); no stage has the id 'supervised_trian'"
    )
    assert re.search(pattern, message), f"{name} {options}: {message}"


@pytest.mark.parametrize("name", ["dpo_train", "rl_train", "reward_model_train"])
def test_init_from_stage_refuses_a_later_and_a_disabled_stage(name: str) -> None:
    options: dict[str, Any] = {"env": "test_letters"} if name == "rl_train" else {}
    later = _experiment({"name": name, "options": {**options, "init_from_stage": "sft"}},
                        {"name": "supervised_train", "id": "sft"})
    with pytest.raises(ConfigError, match=f"stage '{name}': init_from_stage 'sft' .*put 'sft' before '{name}'"):
        validate(later)
    disabled = _experiment({"name": "supervised_train", "id": "sft", "enabled": False},
                           {"name": name, "options": {**options, "init_from_stage": "sft"}})
    with pytest.raises(ConfigError, match=r"\(earlier: none\); 'sft' is disabled"):
        validate(disabled)


def test_a_stage_cannot_start_from_itself() -> None:
    spec = _experiment({"name": "supervised_train"}, {"name": "dpo_train", "options": {"init_from_stage": "dpo_train"}})
    with pytest.raises(ConfigError, match="cannot read its own outputs"):
        validate(spec)


async def test_a_bad_reference_fails_the_run_before_anything_is_written(tmp_path: Path) -> None:
    spec = _experiment({"name": "supervised_train"}, {"name": "dpo_train", "options": {"init_from_stage": "sft"}})
    with pytest.raises(ConfigError, match="init_from_stage 'sft'"):
        await run(spec, Ports(), tmp_path / "run")  # no ports: it fails before any preflight needs one
    assert not (tmp_path / "run").exists()


# -- plugin stages: declared references, and a preflight that is given its key ---------------------
class _Teacher(BaseModel):
    source: Annotated[str | None, EarlierStage()] = Field(default=None, description="Stage to read.")


class _ReadOptions(BaseModel):
    model_config = {"extra": "forbid"}
    source: Annotated[str | None, EarlierStage()] = Field(default=None, description="Stage to read.")
    teachers: list[_Teacher] = Field(default_factory=list, description="Nested references.")
    checked_in_preflight: str | None = Field(default=None, description="A stage the preflight checks itself.")


SEEN: list[tuple[str, str | None]] = []


class _KeyedStage:
    """A plugin whose preflight takes `key` and checks a reference itself."""

    name: ClassVar[str] = "keyed"
    Options: ClassVar[type[BaseModel]] = _ReadOptions

    async def preflight(self, experiment: Experiment, ports: Ports, options: _ReadOptions, *, key: str) -> None:
        SEEN.append(("keyed", key))
        require_earlier_stage(experiment, key, "checked_in_preflight", options.checked_in_preflight)

    async def run(self, ctx: Context, options: _ReadOptions) -> dict[str, Any]:
        return {}


class _OldStyleStage:
    """A plugin written before preflights were given their key."""

    name: ClassVar[str] = "old_style"
    Options: ClassVar[type[BaseModel]] = _ReadOptions

    async def preflight(self, experiment: Experiment, ports: Ports, options: _ReadOptions) -> None:
        SEEN.append(("old_style", None))

    async def run(self, ctx: Context, options: _ReadOptions) -> dict[str, Any]:
        return {}


@pytest.fixture
def plugins() -> Iterator[list[tuple[str, str | None]]]:
    saved = dict(stage_module._registered)
    register_stage(_KeyedStage)
    register_stage(_OldStyleStage)
    SEEN.clear()
    yield SEEN
    stage_module._registered.clear()
    stage_module._registered.update(saved)


async def test_a_preflight_taking_key_is_given_its_own_and_an_old_one_still_runs(
    plugins: list[tuple[str, str | None]],
) -> None:
    spec = _experiment(
        {"name": "old_style"},
        {"name": "keyed"},
        {"name": "keyed", "id": "keyed_2", "options": {"checked_in_preflight": "keyed"}},
    )
    await preflight(validate(spec), spec, Ports())
    assert plugins == [("old_style", None), ("keyed", "keyed"), ("keyed", "keyed_2")]


async def test_a_keyed_preflight_refuses_a_reference_by_its_own_position(
    plugins: list[tuple[str, str | None]], tmp_path: Path
) -> None:
    spec = _experiment(
        {"name": "keyed", "options": {"checked_in_preflight": "keyed_2"}},
        {"name": "keyed", "id": "keyed_2"},
    )
    with pytest.raises(ConfigError) as info:
        await run(spec, Ports(), tmp_path / "run")
    assert str(info.value).startswith(
        "stage 'keyed': checked_in_preflight 'keyed_2' is not an earlier enabled stage (earlier: none)"
    )
    assert not (tmp_path / "run").exists()


def test_a_plugin_declares_references_nested_at_any_depth(plugins: list[tuple[str, str | None]]) -> None:
    ok = _experiment({"name": "old_style"}, {"name": "keyed", "options": {"teachers": [{"source": "old_style"}]}})
    validate(ok)
    bad = _experiment({"name": "old_style"}, {"name": "keyed", "options": {"teachers": [{}, {"source": "x"}]}})
    with pytest.raises(ConfigError, match=r"^stage 'keyed': teachers\[1\].source 'x' is not an earlier"):
        validate(bad)
