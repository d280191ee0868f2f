"""The report after `cookbook run`: every held-out before -> after in one section, in pipeline order."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from cookbook_runtime.framework import Context, register_stage
from cookbook_runtime.ir import Experiment, ModelRef, OutputsSpec, StageSpec, TrainingConfig
from cookbook_runtime.runtime import register_recipe
from pydantic import BaseModel, ConfigDict, Field

SCORES: dict[str, dict[str, float]] = {  # stage id -> what it returns, as the real stages name their outputs
    "rl": {"first_test_reward": -0.25, "final_test_reward": 0.5},
    "rm": {"first_test_accuracy": 0.5, "final_test_accuracy": 0.75},
    "dpo": {"first_test_pair_accuracy": 0.5, "final_test_pair_accuracy": 0.625, "steps": 3},
    "distill": {"first_test_teacher_kl": 2.0, "final_test_teacher_kl": 0.5},
}


class _ScoredOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    outputs: dict[str, float] = Field(default_factory=dict)
    nll: list[float] = Field(default_factory=list)


class _ScoredStage:
    name: ClassVar[str] = "report_scored"
    Options: ClassVar[type[BaseModel]] = _ScoredOptions

    async def run(self, ctx: Context, options: Any) -> dict[str, Any]:
        for step, value in enumerate(options.nll):
            ctx.run_dir.append_jsonl("metrics.jsonl", {"step": step, "test/nll": value})
        return dict(options.outputs)


class _ScoredConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    log_path: str | None = Field(default=None, description="Run directory.")
    stages: list[str] = Field(default_factory=lambda: list(SCORES), description="Which stages of SCORES run.")


class _ScoredRecipe:
    name: ClassVar[str] = "report_scored"
    kind: ClassVar[str] = "sl"
    description: ClassVar[str] = "Stages that return fixed held-out scores."
    Config: ClassVar[type[BaseModel]] = _ScoredConfig

    def defaults_for(self, profile: str) -> dict[str, Any]:
        return {}

    def build(self, config: Any) -> Experiment:
        pipeline = [StageSpec(name="report_scored", id="sft", options={"nll": [4.0, 3.0, 1.0]})]
        pipeline += [StageSpec(name="report_scored", id=key, options={"outputs": SCORES[key]}) for key in config.stages]
        return Experiment(
            id="report_scored",
            training=TrainingConfig(model=ModelRef(name="fake/toy-model", renderer="role_colon")),
            pipeline=pipeline,
            outputs=OutputsSpec(log_path=config.log_path),
        )


register_stage(_ScoredStage)
register_recipe(_ScoredRecipe())


def _section(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    start = lines.index("held-out, before -> after:")
    rows = []
    for line in lines[start + 1 :]:
        if not line.startswith("  "):
            break
        rows.append(re.sub(r"\s+", " ", line.strip()))
    return rows


def test_every_before_and_after_is_one_row_of_one_section(cli: Any) -> None:
    result = cli("run", "report_scored", "--manifest", "test", "log_path=r")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("before -> after") == 1, result.stdout
    assert _section(result.stdout) == [
        "NLL 4.000 -> 1.000 (-75%)",
        "reward (rl) -0.250 -> 0.500 (+0.750)",
        "reward accuracy (rm) 0.500 -> 0.750 (+0.250)",
        "pair accuracy (dpo) 0.500 -> 0.625 (+0.125)",
        "teacher KL (distill) 2.000 -> 0.500 (-75%)",
    ], result.stdout


def test_the_rows_line_up(cli: Any) -> None:
    result = cli("run", "report_scored", "--manifest", "test", "log_path=r")
    lines = result.stdout.splitlines()
    start = lines.index("held-out, before -> after:")
    columns = {line.index(" -> ") for line in lines[start + 1 : start + 6]}
    assert len(columns) == 1, result.stdout


def test_a_run_with_only_the_nll_has_a_one_row_section(cli: Any) -> None:
    result = cli("run", "report_scored", "--manifest", "test", "log_path=r", "stages=[]")
    assert result.exit_code == 0, result.output
    assert _section(result.stdout) == ["NLL 4.000 -> 1.000 (-75%)"], result.stdout
