"""The `sl_basic` recipe: config defaults per backend and the experiment it builds."""

from __future__ import annotations

from typing import Any

from cookbook_runtime.ir import (
    BackendRef,
    DatasetRef,
    Experiment,
    PortBinding,
    StageSpec,
    TrainingConfig,
)
from cookbook_runtime.ports import RUN_DIR_PLACEHOLDER

from cookbook_recipes._recipe_base import OFFLINE_PROFILES, RecipeBase
from cookbook_recipes._spec_parts import exact_match_stage, model_ref
from cookbook_recipes.datasets import tiny_chat
from cookbook_recipes.sl_basic._config import SlBasicConfig

__all__ = ["OFFLINE_PROFILES", "RECIPE", "SlBasicRecipe", "local_defaults"]


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
        "dataset": DatasetRef(name=tiny_chat.NAME, split="train", test_split="test", format="jsonl"),
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


def _metrics_wiring(config: SlBasicConfig) -> dict[str, PortBinding]:
    """`wandb_project` wires the run's `metrics` port to the W&B adapter, logging into the run."""
    if not config.wandb_project:
        return {}
    options: dict[str, Any] = {"project": config.wandb_project, "dir": RUN_DIR_PLACEHOLDER}
    if config.wandb_name:
        options["name"] = config.wandb_name
    return {"metrics": PortBinding.model_validate({"adapter": "wandb", "options": options})}


class SlBasicRecipe(RecipeBase):
    """Basic supervised fine-tuning on a chat dataset, as tinker-cookbook's `sl_basic`."""

    name = "sl_basic"
    kind = "sl"
    description = (
        "Supervised fine-tuning on a chat dataset (NoRobots on Tinker; tiny-chat locally), then a sample."
    )
    Config = SlBasicConfig
    offline_defaults = staticmethod(local_defaults)

    def build(self, config: SlBasicConfig) -> Experiment:
        """The experiment: `supervised_train`, optionally `evaluate_exact_match`, then `sample`."""
        training = TrainingConfig.derive(config, model=model_ref(config))
        train_options: dict[str, Any] = {
            "train_on_what": config.train_on_what,
            "lookahead": config.lookahead,
        }
        if config.eval_tasks:
            train_options["eval_tasks"] = [
                {"task": task, "max_tokens": config.sample_max_tokens} for task in config.eval_tasks
            ]
        sample_options: dict[str, Any] = {"max_tokens": config.sample_max_tokens, "seed": config.seed}
        if config.sample_prompt is not None:
            sample_options["prompt"] = config.sample_prompt
        pipeline = [StageSpec(name="supervised_train", options=train_options)]
        if config.exact_match_examples:
            pipeline.append(exact_match_stage(config.exact_match_examples, config.sample_max_tokens))
        pipeline.append(StageSpec(name="sample", options=sample_options))
        return self.experiment(
            pipeline, backend=BackendRef(overrides=_metrics_wiring(config)), dataset=config.dataset,
            training=training, log_path=config.log_path,
        )


RECIPE = SlBasicRecipe()
