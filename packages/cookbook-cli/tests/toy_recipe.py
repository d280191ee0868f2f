"""A tiny recipe and two stages for CLI tests: fast, on the `test` manifest's fakes.

`toy_train` trains a fake LoRA client for a few steps, reporting progress, writing
metrics.jsonl and checkpoints.jsonl and publishing a `CheckpointRef` like the real
loops; `toy_sample` returns the
`{"prompt", "completion", "sampler_path"}` a `sample` stage returns.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar, Literal

from cookbook_runtime.errors import BackendError
from cookbook_runtime.framework import CheckpointRef, Context, Progress, register_stage
from cookbook_runtime.ir import Experiment, ModelRef, OutputsSpec, StageSpec, TrainingConfig
from cookbook_runtime.runtime import register_recipe
from cookbook_runtime.train.types import AdamParams
from pydantic import BaseModel, ConfigDict, Field


class ToyTraining(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    learning_rate: float = Field(default=1e-3, gt=0, description="Peak learning rate.")
    steps: int = Field(default=4, ge=1, description="Optimizer steps.")


class ToyConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(default="toy", description="Experiment id.")
    model_name: str = Field(default="cookbook/tiny-chat", description="Base model.")
    log_path: str | None = Field(default=None, description="Run directory.")
    mode: Literal["fast", "slow"] = Field(default="fast", description="How fast to go.")
    step_delay: float = Field(default=0.0, ge=0, description="Seconds to sleep per step.")
    fail: bool = Field(default=False, description="Make the training stage fail (a CookbookError).")
    crash: bool = Field(default=False, description="Make the training stage crash (a bug: RuntimeError).")
    tags: list[str] = Field(default_factory=list, description="Labels.")
    api_key: str | None = Field(default=None, description="A secret that must never be printed.")
    training: ToyTraining = Field(default_factory=ToyTraining, description="Training settings.")


class ToyTrainOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    steps: int = 4
    step_delay: float = 0.0
    fail: bool = False
    crash: bool = False


class ToyTrainStage:
    name: ClassVar[str] = "toy_train"
    Options: ClassVar[type[BaseModel]] = ToyTrainOptions

    async def run(self, ctx: Context, options: Any) -> dict[str, Any]:
        assert ctx.experiment.training is not None
        client = await ctx.ports.service.create_lora_training_client(ctx.experiment.training.model.name, rank=4)
        nll = 2.0
        for step in range(options.steps):
            if options.fail and step == 1:
                raise BackendError("toy training blew up")
            if options.crash and step == 1:
                raise RuntimeError("toy bug")
            nll *= 1.0 - min(0.5, 200 * ctx.experiment.training.learning_rate)  # 0.8 at the default 1e-3
            await (await client.optim_step(AdamParams(learning_rate=ctx.experiment.training.learning_rate))).result()
            row = {"step": step, "train_mean_nll": nll, "learning_rate": 1e-3, "time/step": 0.01}
            ctx.run_dir.append_jsonl("metrics.jsonl", row)
            ctx.report_progress(Progress(self.name, step + 1, options.steps, {"train_mean_nll": nll}))
            time.sleep(options.step_delay)
        name = f"{options.steps:06d}"
        state_path = await (await client.save_state(name)).result()
        sampler_path = await (await client.save_weights_for_sampler(name)).result()
        ctx.run_dir.append_jsonl(  # a checkpoints.jsonl row as docs/CONVENTIONS.md describes it
            "checkpoints.jsonl",
            {"name": name, "step": options.steps, "epoch": 1, "batch": 0, "state_path": state_path,
             "sampler_path": sampler_path, "final": True},
        )
        ctx.publish(CheckpointRef(
            state_path=state_path, sampler_path=sampler_path, base_model=ctx.experiment.training.model.name,
            kind="toy", steps=options.steps,
        ))
        return {"final_state_path": state_path, "final_sampler_path": sampler_path, "steps": options.steps}


class ToySampleOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt: str = "What is 2+2?"


class ToySampleStage:
    name: ClassVar[str] = "toy_sample"
    Options: ClassVar[type[BaseModel]] = ToySampleOptions

    async def run(self, ctx: Context, options: Any) -> dict[str, Any]:
        path = ctx.artifact(CheckpointRef, stage="toy_train").sampler_path
        return {"prompt": options.prompt, "completion": "four, I think", "sampler_path": path}


class ToyRecipe:
    name: ClassVar[str] = "toy"
    kind: ClassVar[str] = "sl"
    description: ClassVar[str] = "A toy recipe for CLI tests."
    Config: ClassVar[type[BaseModel]] = ToyConfig

    def defaults_for(self, profile: str) -> dict[str, Any]:
        return {"model_name": "fake/toy-model"} if profile == "fake" else {}

    def build(self, config: Any) -> Experiment:
        cfg: ToyConfig = config
        return Experiment(
            id=cfg.name,
            tags=list(cfg.tags),
            training=TrainingConfig(
                model=ModelRef(name=cfg.model_name, renderer="role_colon"),
                learning_rate=cfg.training.learning_rate,
            ),
            pipeline=[
                StageSpec(
                    name="toy_train",
                    options={
                        "steps": cfg.training.steps,
                        "step_delay": cfg.step_delay,
                        "fail": cfg.fail,
                        "crash": cfg.crash,
                    },
                ),
                StageSpec(name="toy_sample"),
            ],
            outputs=OutputsSpec(log_path=cfg.log_path),
        )


def register() -> None:
    register_stage(ToyTrainStage)
    register_stage(ToySampleStage)
    register_recipe(ToyRecipe())
