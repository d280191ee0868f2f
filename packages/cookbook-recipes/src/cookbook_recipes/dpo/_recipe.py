"""The `dpo` recipe.

On Tinker it is tinker-cookbook's DPO recipe: HH-RLHF (or HelpSteer3, UltraFeedback)
on its default base model, beta 0.1, learning rate 1e-5. Offline it runs on the
built-in tiny model: an optional short SFT on tiny-chat, then DPO on `tiny-prefs`
(correct vs. plausible wrong answers to the same letter tasks), scored on held-out
pairs before and after.
"""

from __future__ import annotations

from typing import Any, Literal

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.ir import DatasetRef, Experiment, StageSpec, TrainingConfig
from pydantic import BaseModel, ConfigDict, Field

from cookbook_recipes._recipe_base import RecipeBase
from cookbook_recipes._spec_parts import (
    comparisons,
    model_ref,
    sample_stage,
    supervised_stage,
    warm_start_training,
)
from cookbook_recipes.datasets import tiny_chat

__all__ = ["RECIPE", "DpoConfig", "DpoRecipe", "local_defaults"]


class DpoConfig(BaseModel):
    """DPO on a preference set, optionally after a supervised warm start."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model_name: str = Field(default="Qwen/Qwen3.5-9B-Base", description="Base model, or 'cookbook/tiny-chat'.")
    renderer_name: str | None = Field(
        default="role_colon", description="Chat renderer; None picks the model's recommended one."
    )
    load_checkpoint_path: str | None = Field(default=None, description="Start (and reference) from these weights.")
    preference_set: Literal["hh_rlhf", "helpsteer3", "ultrafeedback", "tiny_prefs", "custom"] = Field(
        default="hh_rlhf", description="Which comparisons to train on; 'custom' uses `dataset` and `comparison_format`."
    )
    dataset: DatasetRef | None = Field(default=None, description="With preference_set='custom': the rows.")
    comparison_format: str = Field(
        default="pairs",
        description="With preference_set='custom': 'pairs' ({prompt, chosen, rejected} or conversation pairs), "
        "'hh_rlhf', 'helpsteer3' or 'ultrafeedback'.",
    )
    dpo_beta: float = Field(default=0.1, gt=0, description="DPO beta: scale of the implicit reward.")
    learning_rate: float = Field(default=1e-5, gt=0, description="Peak learning rate.")
    lr_schedule: Literal["constant", "linear", "cosine"] = Field(default="linear", description="LR decay.")
    warmup_steps: int = Field(default=0, ge=0, description="Steps of linear warmup.")
    num_epochs: int = Field(default=1, ge=1, description="Passes over the comparisons.")
    batch_size: int = Field(default=256, ge=1, description="Comparisons per optimizer step.")
    max_length: int | None = Field(default=8192, ge=2, description="Truncate each side to this many tokens.")
    lora_rank: int = Field(default=32, ge=0, description="LoRA rank; 0 trains all weights where supported.")
    max_steps: int | None = Field(default=None, ge=1, description="Stop after this many steps.")
    eval_every: int = Field(default=10, ge=0, description="Held-out pair accuracy every N steps; 0: only at the ends.")
    max_eval_batches: int | None = Field(default=4, ge=1, description="Score at most this many held-out batches.")
    save_every: int = Field(default=20, ge=0, description="Checkpoint every N steps.")
    seed: int = Field(default=0, description="Seed for the data order.")
    adam_beta1: float = Field(default=0.9, ge=0, lt=1, description="Adam beta1.")
    adam_beta2: float = Field(default=0.95, ge=0, lt=1, description="Adam beta2.")
    adam_eps: float = Field(default=1e-8, gt=0, description="Adam epsilon.")
    sft_warm_start: bool = Field(default=False, description="Fine-tune on `sft_dataset` first, then DPO from there.")
    sft_dataset: DatasetRef | None = Field(default=None, description="Chat data of the warm start.")
    sft_learning_rate: float = Field(default=1e-4, gt=0, description="Warm start peak learning rate.")
    sft_batch_size: int = Field(default=32, ge=1, description="Warm start batch size.")
    sft_warmup_steps: int = Field(default=0, ge=0, description="Warm start linear warmup steps.")
    sft_max_steps: int | None = Field(default=None, ge=1, description="Stop the warm start after this many steps.")
    sft_max_length: int | None = Field(default=2048, ge=2, description="Warm start truncation length.")
    sample_prompt: str | None = Field(
        default="What makes a good answer?", description="User message of the final sample from the trained model."
    )
    sample_max_tokens: int = Field(default=64, ge=1, description="Cap on the final sample's tokens.")
    log_path: str | None = Field(default=None, description="Run directory; rerunning it resumes. None: runs/dpo.")


def local_defaults() -> dict[str, Any]:
    """The offline setting: the tiny model, a short partial SFT, then two epochs of DPO on tiny-prefs.

    The warm start (one epoch of tiny-chat, 93 steps of 64) teaches the answer format
    but leaves the model unable to tell the tasks apart: on the 128 held-out pairs
    (right answer vs. another task's answer on the same letters) it prefers the right
    one half the time. DPO (beta 0.5, peak learning rate 2e-3, 92 steps of 64 pairs)
    then raises that held-out pair accuracy; measured on 2 busy CPU cores: 0.500 ->
    0.680 (1e-3 gave 0.656, too near the 0.15 target; beta 1.0 gave 0.562).
    """
    return {
        "model_name": "cookbook/tiny-chat",
        "renderer_name": "qwen3_instruct",
        "preference_set": "tiny_prefs",
        "sft_warm_start": True,
        "sft_dataset": DatasetRef(name=tiny_chat.NAME, split="train", test_split="test", format="jsonl"),
        "sft_learning_rate": 3e-3,
        "sft_warmup_steps": 20,
        "sft_max_steps": 100,
        "sft_batch_size": 64,
        "sft_max_length": 64,
        "lora_rank": 0,
        "dpo_beta": 0.5,
        "learning_rate": 2e-3,
        "lr_schedule": "linear",
        "num_epochs": 2,
        "batch_size": 64,
        "max_length": 64,
        "eval_every": 46,
        "max_eval_batches": None,
        "save_every": 46,
        "sample_prompt": "reverse b d a",
        "sample_max_tokens": 16,
    }


class DpoRecipe(RecipeBase):
    """Direct Preference Optimization, as tinker-cookbook's `preference/dpo` recipe."""

    name = "dpo"
    kind = "preference"
    description = (
        "DPO on comparisons: HH-RLHF/HelpSteer3/UltraFeedback on Tinker; locally tiny-prefs with the tiny model."
    )
    Config = DpoConfig
    offline_defaults = staticmethod(local_defaults)

    def build(self, config: DpoConfig) -> Experiment:
        """`supervised_train` (when warm-starting), `dpo_train`, then a `sample` from the result."""
        ref, comparison_format = comparisons(self.name, config)
        dpo_training = TrainingConfig.derive(config, model=model_ref(config), dataset=ref)
        dpo_options: dict[str, Any] = {
            "comparison_format": comparison_format,
            "dpo_beta": config.dpo_beta,
            "max_eval_batches": config.max_eval_batches,
        }
        training = dpo_training
        pipeline: list[StageSpec] = []
        if config.sft_warm_start:
            if config.sft_dataset is None:
                raise ConfigError("dpo: sft_warm_start needs sft_dataset; set it or turn the warm start off")
            training = warm_start_training(config, config.sft_dataset)
            pipeline.append(supervised_stage("sft"))
            dpo_options["init_from_stage"] = "supervised_train"
            dpo_options["dataset"] = ref.model_dump(mode="json")
            dpo_options["training"] = dpo_training.model_dump(mode="json", exclude={"model", "dataset"})
        pipeline.append(StageSpec(name="dpo_train", options=dpo_options))
        pipeline.append(sample_stage("dpo_train", config.sample_max_tokens, config.sample_prompt))
        dataset = config.sft_dataset if config.sft_warm_start else ref
        return self.experiment(pipeline, dataset=dataset, training=training, log_path=config.log_path)


RECIPE = DpoRecipe()
