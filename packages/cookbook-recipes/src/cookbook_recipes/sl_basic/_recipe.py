"""The `sl_basic` recipe: config defaults per backend and the experiment it builds."""

from __future__ import annotations

from typing import Any, ClassVar

from cookbook_runtime.ir import (
    DatasetRef,
    Experiment,
    ModelRef,
    OutputsSpec,
    StageSpec,
    TrainingConfig,
)
from pydantic import BaseModel

from cookbook_recipes.datasets import tiny_chat
from cookbook_recipes.sl_basic._config import SlBasicConfig

__all__ = ["RECIPE", "SlBasicRecipe", "local_defaults"]


def local_defaults() -> dict[str, Any]:
    """The offline setting: the built-in tiny model, from scratch, on the tiny-chat tasks.

    One epoch of the 6000 shipped rows is 46 steps of 128; six epochs (276 steps) of
    full fine-tuning take about a minute on two idle CPU cores. The model then copies,
    reverses and sorts letter strings it never saw: the 64 held-out prompts are
    answered greedily and scored by exact match (about 0.9 when measured).
    """
    return {
        "model_name": "cookbook/tiny-chat",
        "renderer_name": "qwen3_instruct",
        "dataset": DatasetRef(
            name=str(tiny_chat.DATA_DIR), split="train", test_split="test", format="jsonl"
        ),
        "learning_rate": 3e-3,
        "lr_schedule": "linear",
        "warmup_steps": 20,
        "num_epochs": 6,
        "batch_size": 128,
        "max_length": 64,
        "lora_rank": 0,
        "save_every": 100,
        "eval_every": 46,
        "sample_max_tokens": 24,
        "exact_match_examples": 64,
    }


class SlBasicRecipe:
    """Basic supervised fine-tuning on a chat dataset, as tinker-cookbook's `sl_basic`."""

    name: ClassVar[str] = "sl_basic"
    kind: ClassVar[str] = "sl"
    description: ClassVar[str] = (
        "Supervised fine-tuning on a chat dataset (NoRobots on Tinker; tiny-chat locally), then a sample."
    )
    Config: ClassVar[type[BaseModel]] = SlBasicConfig

    def defaults_for(self, manifest: str) -> dict[str, Any]:
        """Tinker's defaults are the class defaults; offline manifests get the tiny setting."""
        if manifest in ("local", "test"):
            return local_defaults()
        return {}

    def build(self, config: SlBasicConfig) -> Experiment:
        """The experiment: `supervised_train`, optionally `evaluate_exact_match`, then `sample`."""
        training = TrainingConfig(
            model=ModelRef(
                name=config.model_name,
                renderer=config.renderer_name,
                load_checkpoint_path=config.load_checkpoint_path,
            ),
            dataset=config.dataset,
            num_epochs=config.num_epochs,
            batch_size=config.batch_size,
            learning_rate=config.learning_rate,
            lr_schedule=config.lr_schedule,
            warmup_steps=config.warmup_steps,
            lora_rank=config.lora_rank,
            max_length=config.max_length,
            seed=config.seed,
            save_every=config.save_every,
            eval_every=config.eval_every,
            max_steps=config.max_steps,
            adam_beta1=config.adam_beta1,
            adam_beta2=config.adam_beta2,
            adam_eps=config.adam_eps,
            weight_decay=config.weight_decay,
            grad_clip_norm=config.grad_clip_norm,
        )
        train_options: dict[str, Any] = {
            "train_on_what": config.train_on_what,
            "lookahead": config.lookahead,
        }
        if config.wandb_project:
            train_options["wandb_project"] = config.wandb_project
        if config.wandb_name:
            train_options["wandb_name"] = config.wandb_name
        sample_options: dict[str, Any] = {"max_tokens": config.sample_max_tokens, "seed": config.seed}
        if config.sample_prompt is not None:
            sample_options["prompt"] = config.sample_prompt
        pipeline = [StageSpec(name="supervised_train", options=train_options)]
        if config.exact_match_examples:
            pipeline.append(
                StageSpec(
                    name="evaluate_exact_match",
                    options={"max_examples": config.exact_match_examples, "max_tokens": config.sample_max_tokens},
                )
            )
        pipeline.append(StageSpec(name="sample", options=sample_options))
        return Experiment(
            id="sl_basic",
            description=self.description,
            recipe=self.name,
            dataset=config.dataset,
            training=training,
            pipeline=pipeline,
            outputs=OutputsSpec(log_path=config.log_path),
        )


RECIPE = SlBasicRecipe()
