"""The `feedback_retrain` pipeline template.

`check_triggers` -> `export_feedback` -> (`fetch_model`) -> `dpo_train` -> `evaluate` ->
`register`; every stage after the trigger runs only when it fired
(`when: check_triggers.fired`), so a quiet feedback store ends the run there. DPO starts
from the registered `parent` version's weights (fetched from the registry) or from
`load_checkpoint_path`, on the `{prompt, chosen, rejected}` pairs made from the signals
posted since the trigger last fired; the result is registered as a child of `parent`
(lineage `dpo_trained_from`).
"""

from __future__ import annotations

from typing import Any, Literal

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.ir import Experiment, StageSpec, TrainingConfig
from cookbook_runtime.ports import check_model_name, parse_model_spec
from pydantic import BaseModel, ConfigDict, Field, field_validator

from cookbook_recipes._recipe_base import RecipeBase
from cookbook_recipes._spec_parts import evaluate_stage, model_ref

__all__ = ["RECIPE", "FeedbackRetrainConfig", "FeedbackRetrainRecipe", "local_defaults"]

FIRED = "check_triggers.fired"


class FeedbackRetrainConfig(BaseModel):
    """When to retrain, from which version, and the DPO run on the exported feedback."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    parent: str | None = Field(
        default="sft_to_deploy:production",
        description="Registered version to retrain and record as the parent (NAME, NAME:VERSION, NAME:STAGE).",
    )
    load_checkpoint_path: str | None = Field(
        default=None, description="Start from this saved state instead of the parent's registered weights."
    )
    registry_name: str | None = Field(
        default=None, description="Name the retrained version is registered under; None: the parent's name."
    )
    model_name: str = Field(default="Qwen/Qwen3.5-9B-Base", description="Base model of the weights retrained.")
    renderer_name: str | None = Field(
        default="role_colon", description="Chat renderer; None picks the model's recommended one."
    )
    trigger_name: str = Field(default="retrain", description="Trigger name; each keeps its history in the feedback store.")
    min_events: int | None = Field(default=100, ge=1, description="Fire once this many inference events arrived.")
    min_quality: float | None = Field(
        default=None, ge=0, le=1, description="Fire when the share of thumbs-up signals falls below this."
    )
    every: str | None = Field(default=None, description="Fire on a schedule, e.g. '7d' or '12h'.")
    served_model: str | None = Field(
        default=None, description="Export only feedback on completions of this served model name; None: all."
    )
    max_pairs_per_prompt: int | None = Field(default=None, ge=1, description="Cap on pairs made for one prompt.")
    test_size: int = Field(default=0, ge=0, description="Exported pairs kept for held-out pair accuracy.")
    dpo_beta: float = Field(default=0.1, gt=0, description="DPO beta: scale of the implicit reward.")
    learning_rate: float = Field(default=1e-5, gt=0, description="Peak learning rate.")
    lr_schedule: Literal["constant", "linear", "cosine"] = Field(default="linear", description="LR decay.")
    num_epochs: int = Field(default=1, ge=1, description="Passes over the exported pairs.")
    batch_size: int = Field(default=64, ge=1, description="Pairs per optimizer step.")
    max_length: int | None = Field(default=8192, ge=2, description="Truncate each side to this many tokens.")
    lora_rank: int = Field(default=32, ge=0, description="LoRA rank; 0 trains all weights where supported.")
    max_steps: int | None = Field(default=None, ge=1, description="Stop after this many steps.")
    save_every: int = Field(default=0, ge=0, description="Checkpoint every N steps; 0 saves only the final state.")
    seed: int = Field(default=0, description="Seed for the data order.")
    eval_task: str | None = Field(default=None, description="Benchmark task the retrained model is scored on; None skips.")
    eval_limit: int | None = Field(default=None, ge=1, description="Score at most this many items of eval_task.")
    eval_max_tokens: int = Field(default=64, ge=1, description="Cap on each evaluated reply's tokens.")
    log_path: str | None = Field(default=None, description="Run directory; rerunning it resumes. None: runs/feedback_retrain.")

    @field_validator("parent")
    @classmethod
    def _parent(cls, value: str | None) -> str | None:
        if value is not None:
            parse_model_spec(value)
        return value

    @field_validator("registry_name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return check_model_name(value) if value is not None else None


def local_defaults() -> dict[str, Any]:
    """The tiny model served by `sft_to_deploy`: a few steps of full fine-tuning DPO, scored on tiny_chat."""
    return {
        "model_name": "cookbook/tiny-chat",
        "renderer_name": "qwen3_instruct",
        "min_events": 4,
        "dpo_beta": 0.5,
        "learning_rate": 1e-4,
        "batch_size": 8,
        "max_length": 64,
        "lora_rank": 0,
        "eval_task": "tiny_chat",
        "eval_limit": 32,
        "eval_max_tokens": 24,
    }


class FeedbackRetrainRecipe(RecipeBase):
    """Users' feedback to a retrained, registered child version, when a trigger says so."""

    name = "feedback_retrain"
    kind = "pipeline"
    description = (
        "When a feedback trigger fires: export feedback pairs, DPO from the served version, evaluate, register a child."
    )
    Config = FeedbackRetrainConfig
    offline_defaults = staticmethod(local_defaults)

    def build(self, config: FeedbackRetrainConfig) -> Experiment:
        if config.parent is None and config.load_checkpoint_path is None:
            raise ConfigError(
                "feedback_retrain: set parent (a registered version) or load_checkpoint_path (the weights to retrain)"
            )
        if config.parent is None and config.registry_name is None:
            raise ConfigError("feedback_retrain: without a parent, set registry_name to register the retrained model")
        trigger: dict[str, Any] = {"name": config.trigger_name}
        for key in ("min_events", "min_quality", "every"):
            if getattr(config, key) is not None:
                trigger[key] = getattr(config, key)
        export: dict[str, Any] = {"trigger_stage": "check_triggers", "test_size": config.test_size}
        if config.served_model is not None:
            export["model"] = config.served_model
        if config.max_pairs_per_prompt is not None:
            export["max_pairs_per_prompt"] = config.max_pairs_per_prompt
        pipeline = [
            StageSpec(name="check_triggers", options=trigger),
            StageSpec(name="export_feedback", options=export, when=FIRED),
        ]
        dpo: dict[str, Any] = {
            "dataset_from_stage": "export_feedback", "comparison_format": "pairs", "dpo_beta": config.dpo_beta,
        }
        if config.load_checkpoint_path is None:
            pipeline.append(StageSpec(name="fetch_model", options={"model": config.parent}, when=FIRED))
            dpo["init_from_stage"] = "fetch_model"
        pipeline.append(StageSpec(name="dpo_train", options=dpo, when=FIRED))
        if config.eval_task is not None:
            pipeline.append(
                evaluate_stage(config.eval_task, "dpo_train", config.eval_max_tokens, config.eval_limit, when=FIRED)
            )
        register: dict[str, Any] = {"from_stage": "dpo_train", "lineage": "dpo_trained_from"}
        if config.parent is not None:
            register["parent"] = config.parent
        register["name"] = config.registry_name or (parse_model_spec(config.parent)[0] if config.parent else None)
        pipeline.append(StageSpec(name="register", options=register, when=FIRED))
        training = TrainingConfig.derive(config, model=model_ref(config), eval_every=0)
        return self.experiment(pipeline, training=training, log_path=config.log_path)


RECIPE = FeedbackRetrainRecipe()
