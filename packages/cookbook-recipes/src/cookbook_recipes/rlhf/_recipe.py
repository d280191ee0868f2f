"""The `rlhf` recipe: `supervised_train` -> `reward_model_train` -> `rl_train`.

Like tinker-cookbook's `preference/rlhf` pipeline: fine-tune the policy on chat
data, train a pairwise (Bradley-Terry) reward model on comparisons starting from
those weights, then RL the policy from the same SFT weights on the comparisons'
prompts, rewarded by the reward model's score of each reply. Each stage takes its
input from the previous stage's typed artifact reference (`CheckpointRef` of the
SFT stage, `RewardModelRef` of the reward model), not from another stage's output
keys. On Tinker the defaults are no_robots SFT and HH-RLHF comparisons; offline it
is the tiny model on tiny-chat and `tiny-prefs`.
"""

from __future__ import annotations

from typing import Any, Literal

from cookbook_runtime.ir import DatasetRef, Experiment, StageSpec, TrainingConfig
from pydantic import Field

from cookbook_recipes._recipe_base import RecipeBase
from cookbook_recipes._rl_config import RLRecipeConfig, rl_stage, rl_training
from cookbook_recipes._spec_parts import (
    comparisons,
    model_ref,
    sample_stage,
    supervised_stage,
    warm_start_training,
)
from cookbook_recipes.datasets import tiny_chat
from cookbook_recipes.datasets.norobots import norobots_ref

__all__ = ["RECIPE", "RlhfConfig", "RlhfRecipe", "local_defaults"]

SFT, RM, RL = "supervised_train", "reward_model_train", "rl_train"


class RlhfConfig(RLRecipeConfig):
    """SFT, then a reward model on comparisons, then RL against the reward model."""

    sft_dataset: DatasetRef = Field(default_factory=norobots_ref, description="Chat data of the SFT stage.")
    sft_learning_rate: float = Field(default=1e-4, gt=0, description="SFT peak learning rate.")
    sft_epochs: int = Field(default=1, ge=1, description="SFT epochs.")
    sft_batch_size: int = Field(default=128, ge=1, description="SFT batch size.")
    sft_warmup_steps: int = Field(default=0, ge=0, description="SFT linear warmup steps.")
    sft_max_steps: int | None = Field(default=None, ge=1, description="Stop SFT after this many steps.")
    sft_max_length: int | None = Field(default=8192, ge=2, description="SFT truncation length.")
    preference_set: Literal["hh_rlhf", "helpsteer3", "ultrafeedback", "tiny_prefs", "custom"] = Field(
        default="hh_rlhf",
        description="Comparisons of the reward model (and the RL prompts); 'custom' uses `dataset` and "
        "`comparison_format`.",
    )
    dataset: DatasetRef | None = Field(default=None, description="With preference_set='custom': the rows.")
    comparison_format: str = Field(
        default="pairs", description="With preference_set='custom': how a row becomes a comparison."
    )
    rm_score: Literal["mean", "sum"] = Field(
        default="mean", description="Reward-model score: mean (length-neutral) or sum of the reply's logprobs."
    )
    rm_beta: float = Field(default=1.0, gt=0, description="Scale of the score in the Bradley-Terry loss.")
    rm_reference: Literal["initial", "none"] = Field(
        default="initial",
        description="'initial': score replies relative to the reward model's starting (SFT) weights; 'none': raw.",
    )
    rm_learning_rate: float = Field(default=1e-4, gt=0, description="Reward-model peak learning rate.")
    rm_lr_schedule: Literal["constant", "linear", "cosine"] = Field(default="linear", description="RM LR decay.")
    rm_epochs: int = Field(default=1, ge=1, description="Passes over the comparisons.")
    rm_batch_size: int = Field(default=256, ge=1, description="Comparisons per reward-model step.")
    rm_max_steps: int | None = Field(default=None, ge=1, description="Stop the reward model after this many steps.")
    rm_max_length: int | None = Field(default=8192, ge=2, description="Truncate each side of a pair to this.")
    rm_eval_every: int = Field(default=20, ge=0, description="Held-out pair accuracy every N RM steps.")
    rm_max_eval_batches: int | None = Field(default=4, ge=1, description="Score at most this many held-out batches.")
    rl_max_prompts: int | None = Field(default=None, ge=1, description="Use at most this many RL prompts.")
    rl_test_prompts: int = Field(
        default=64, ge=0, description="Held-out prompts whose replies the reward model scores at RL eval steps."
    )
    sample_prompt: str | None = Field(
        default="What makes a good answer?", description="User message of the final sample from the policy."
    )


def local_defaults() -> dict[str, Any]:
    """The offline setting: the tiny model, a short SFT, the reward model on tiny-prefs, then RL.

    SFT: 93 steps of 64 tiny-chat rows (one epoch). Reward model: 40 steps of 64
    tiny-prefs pairs from the SFT weights, scored by the summed reply logprob relative
    to those weights (beta 0.5). RL: 40 steps of 8 prompts x 8 replies from the SFT
    weights, KL penalty 1.0 against them. Measured on 2 busy CPU cores (4-13 minutes
    wall, most of it the SFT): held-out reward-model pair accuracy 0.500 -> 0.773;
    held-out reward-model score of the policy's greedy replies -4.28 -> -2.24. That
    rise is reward hacking, not better answers: the share of held-out replies that
    are exactly the preferred answer fell from 0.078 to 0.016. Without the KL
    penalty the score rises further (-4.28 -> +1.45) while replies shrink to two or
    three tokens; with the reward model's mean score instead of the sum the same
    happens (to +6.6). The reward model ranks held-out pairs it was trained to tell
    apart, but misjudges replies unlike its training pairs, and RL finds them.
    """
    return {
        "model_name": "cookbook/tiny-chat",
        "renderer_name": "qwen3_instruct",
        "sft_dataset": DatasetRef(name=tiny_chat.NAME, split="train", test_split="test", format="jsonl"),
        "sft_learning_rate": 3e-3,
        "sft_warmup_steps": 20,
        "sft_max_steps": 100,
        "sft_batch_size": 64,
        "sft_max_length": 64,
        "preference_set": "tiny_prefs",
        "rm_score": "sum",
        "rm_beta": 0.5,
        "rm_learning_rate": 1e-3,
        "rm_batch_size": 64,
        "rm_max_steps": 40,
        "rm_max_length": 64,
        "rm_eval_every": 20,
        "rm_max_eval_batches": None,
        "lora_rank": 0,
        "group_size": 8,
        "groups_per_batch": 8,
        "learning_rate": 3e-4,
        "kl_penalty_coef": 1.0,
        "temperature": 1.0,
        "eval_temperature": 0.0,
        "max_tokens": 16,
        "max_steps": 40,
        "eval_every": 10,
        "save_every": 10,
        "rl_test_prompts": 64,
        "sample_prompt": "reverse b d a",
    }


class RlhfRecipe(RecipeBase):
    """RLHF as tinker-cookbook's `preference/rlhf`: SFT, a pairwise reward model, RL on its score."""

    name = "rlhf"
    kind = "preference"
    description = (
        "SFT -> Bradley-Terry reward model -> RL on its score: no_robots + HH-RLHF on Tinker; "
        "locally tiny-chat + tiny-prefs with the tiny model."
    )
    Config = RlhfConfig
    offline_defaults = staticmethod(local_defaults)

    def build(self, config: RlhfConfig) -> Experiment:
        """The three stages, each reading the previous one's typed ref, then a `sample` of the policy."""
        sft = warm_start_training(config, config.sft_dataset, num_epochs=config.sft_epochs)
        prefs, comparison_format = comparisons(self.name, config)
        rm = TrainingConfig(
            model=model_ref(config),
            dataset=prefs,
            num_epochs=config.rm_epochs,
            max_steps=config.rm_max_steps,
            batch_size=config.rm_batch_size,
            learning_rate=config.rm_learning_rate,
            lr_schedule=config.rm_lr_schedule,
            max_length=config.rm_max_length,
            lora_rank=config.lora_rank,
            seed=config.seed,
            save_every=0,
            eval_every=config.rm_eval_every,
        )
        env_options = {
            **config.env_options,
            "dataset": prefs.model_dump(mode="json"),
            "comparison_format": comparison_format,
            "reward_model_stage": RM,
            "max_prompts": config.rl_max_prompts,
            "test_prompts": config.rl_test_prompts,
        }
        rl_config = config.model_copy(update={"env_options": env_options})
        pipeline = [
            supervised_stage("sft"),
            StageSpec(
                name=RM,
                options={
                    "log_subdir": "reward_model",
                    "init_from_stage": SFT,
                    "dataset": prefs.model_dump(mode="json"),
                    "comparison_format": comparison_format,
                    "score": config.rm_score,
                    "beta": config.rm_beta,
                    "reference": config.rm_reference,
                    "max_eval_batches": config.rm_max_eval_batches,
                    "training": rm.model_dump(mode="json", exclude={"model", "dataset"}),
                },
            ),
            rl_stage(
                rl_config,
                "reward_model",
                init_from_stage=SFT,
                training=rl_training(config).model_dump(mode="json", exclude={"model", "dataset"}),
            ),
        ]
        pipeline.append(sample_stage(RL, config.max_tokens, config.sample_prompt))
        return self.experiment(pipeline, dataset=config.sft_dataset, training=sft, log_path=config.log_path)


RECIPE = RlhfRecipe()
