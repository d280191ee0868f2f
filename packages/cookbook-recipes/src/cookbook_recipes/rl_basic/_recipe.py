"""The `rl_basic` recipe.

On Tinker it is tinker-cookbook's `rl_basic`: GSM8K, 128 problems x 16 samples per
step, learning rate 4e-5, importance-sampling loss. Offline it is a pipeline on the
built-in tiny model: a short, deliberately partial SFT on the tiny-chat letter
tasks, then RL on the `letters` env (the same tasks, new strings) from those
weights, evaluated on tiny-chat's held-out test prompts before, during and after.
"""

from __future__ import annotations

from typing import Any, Literal

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.ir import DatasetRef, Experiment, StageSpec
from pydantic import Field

from cookbook_recipes._recipe_base import RecipeBase
from cookbook_recipes._rl_config import RLRecipeConfig, rl_stage, rl_training
from cookbook_recipes._spec_parts import sample_stage, supervised_stage, warm_start_training
from cookbook_recipes.datasets import tiny_chat

__all__ = ["RECIPE", "RlBasicConfig", "RlBasicRecipe", "local_defaults"]


class RlBasicConfig(RLRecipeConfig):
    """RL on GSM8K (or, offline, letter tasks or arithmetic), optionally after a supervised warm start."""

    env: Literal["gsm8k", "arithmetic", "letters"] = Field(
        default="gsm8k", description="The task: 'gsm8k', 'arithmetic' or 'letters' (tiny-chat's letter tasks)."
    )
    sft_warm_start: bool = Field(default=False, description="Fine-tune on `sft_dataset` first, then RL from there.")
    sft_dataset: DatasetRef | None = Field(default=None, description="Chat data of the warm start.")
    sft_learning_rate: float = Field(default=1e-4, gt=0, description="Warm start peak learning rate.")
    sft_epochs: int = Field(default=1, ge=1, description="Warm start epochs.")
    sft_batch_size: int = Field(default=32, ge=1, description="Warm start batch size.")
    sft_warmup_steps: int = Field(default=0, ge=0, description="Warm start linear warmup steps.")
    sft_max_steps: int | None = Field(default=None, ge=1, description="Stop the warm start after this many steps.")
    sft_max_length: int | None = Field(default=2048, ge=2, description="Warm start truncation length.")


def local_defaults() -> dict[str, Any]:
    """The offline setting: a short SFT then RL on the tiny model, a few minutes on two CPU cores.

    The warm start is deliberately partial: 200 steps of 64 tiny-chat rows (about two
    of sl_basic's six epochs) leave the model right on about 0.3 of the 64 held-out
    prompts (greedy exact match), so RL has room to improve. The RL then samples
    16 replies at temperature 0.7 for each of 8 new letter-task problems a step.
    Measured (2 busy CPU cores): held-out reward 0.297 after the warm start, and
    after 30 RL steps 0.266 (lr 1e-4); other settings tried (lr 5e-5..5e-4,
    temperature 0.7/1.0, PPO, larger batches, 60 steps) also ended at or below
    0.297, so this RL does not yet raise the held-out reward. Further runs (lr 1e-3
    and 3e-3 collapse to ~0; 150 steps of 16 groups at 1e-4 and 3e-4, temperature
    1.0 with 32 samples and constant groups dropped, a warm start on demonstrations
    with half the answers from another task, and a per-position partial-credit
    reward) did not raise it either. A loop written by hand outside the runtime
    reproduces this, and the same updates drive the reward of a few fixed problems
    from 0.3 to 1.0 in 15 steps: the gradient is right, but what this tiny model
    learns from it does not carry over to new letter strings at this compute.
    """
    return {
        "model_name": "cookbook/tiny-chat",
        "renderer_name": "qwen3_instruct",
        "env": "letters",
        "env_options": {"num_batches": 30, "test_problems": 64},
        "sft_warm_start": True,
        "sft_dataset": DatasetRef(name=tiny_chat.NAME, split="train", test_split="test", format="jsonl"),
        "sft_learning_rate": 3e-3,
        "sft_warmup_steps": 20,
        "sft_epochs": 3,
        "sft_max_steps": 200,
        "sft_batch_size": 64,
        "sft_max_length": 64,
        "lora_rank": 0,
        "group_size": 16,
        "groups_per_batch": 8,
        "learning_rate": 1e-4,
        "temperature": 0.7,
        "lr_schedule": "constant",
        "max_tokens": 16,
        "eval_temperature": 0.0,
        "max_steps": 30,
        "eval_every": 10,
        "save_every": 10,
    }


class RlBasicRecipe(RecipeBase):
    """Basic RL with a verifiable reward, as tinker-cookbook's `rl_basic`."""

    name = "rl_basic"
    kind = "rl"
    description = (
        "RL with a verifiable reward: GSM8K on Tinker; locally SFT then RL on letter tasks with the tiny model."
    )
    Config = RlBasicConfig
    offline_defaults = staticmethod(local_defaults)

    def build(self, config: RlBasicConfig) -> Experiment:
        training = rl_training(config)
        pipeline: list[StageSpec] = []
        rl_extra: dict[str, Any] = {}
        if config.sft_warm_start:
            if config.sft_dataset is None:
                raise ConfigError("rl_basic: sft_warm_start needs sft_dataset; set it or turn the warm start off")
            training = warm_start_training(config, config.sft_dataset, num_epochs=config.sft_epochs)
            pipeline.append(supervised_stage("sft"))
            rl_extra = {
                "init_from_stage": "supervised_train",
                "training": rl_training(config).model_dump(mode="json", exclude={"model", "dataset"}),
            }
        pipeline.append(rl_stage(config, config.env, **rl_extra))
        pipeline.append(sample_stage("rl_train", config.max_tokens, _sample_prompt(config.env)))
        dataset = config.sft_dataset if config.sft_warm_start else None
        return self.experiment(pipeline, dataset=dataset, training=training, log_path=config.log_path)


def _sample_prompt(env: str) -> str:
    if env == "letters":
        return "reverse b d a"
    return "What is 3 + 5?" if env == "arithmetic" else "What is 12 * 7 + 5? Write your final answer inside \\boxed{}."


RECIPE = RlBasicRecipe()
