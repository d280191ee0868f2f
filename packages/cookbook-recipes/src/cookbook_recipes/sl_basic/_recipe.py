"""The `sl_basic` recipe: config defaults per backend and the experiment it builds."""

from __future__ import annotations

from typing import Any, ClassVar

from cookbook_runtime.ir import (
    BackendRef,
    DatasetRef,
    Experiment,
    ModelRef,
    OutputsSpec,
    PortBinding,
    StageSpec,
    TrainingConfig,
)
from cookbook_runtime.ports import RUN_DIR_PLACEHOLDER
from pydantic import BaseModel

from cookbook_recipes.datasets import tiny_chat
from cookbook_recipes.sl_basic._config import SlBasicConfig

__all__ = ["OFFLINE_PROFILES", "RECIPE", "SlBasicRecipe", "local_defaults"]

OFFLINE_PROFILES = ("local", "fake")
"""Manifest profiles that get `local_defaults()`: the embedded engine and the in-memory fakes."""


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


class SlBasicRecipe:
    """Basic supervised fine-tuning on a chat dataset, as tinker-cookbook's `sl_basic`."""

    name: ClassVar[str] = "sl_basic"
    kind: ClassVar[str] = "sl"
    description: ClassVar[str] = (
        "Supervised fine-tuning on a chat dataset (NoRobots on Tinker; tiny-chat locally), then a sample."
    )
    Config: ClassVar[type[BaseModel]] = SlBasicConfig

    def defaults_for(self, profile: str) -> dict[str, Any]:
        """Tinker's defaults are the class defaults; offline backends get the tiny setting.

        `profile` is the manifest's (its declared `profile`, else its service adapter), so
        any manifest extending `local`, or the `test` fakes, gets the offline setting.
        """
        if profile in OFFLINE_PROFILES:
            return local_defaults()
        return {}

    def build(self, config: SlBasicConfig) -> Experiment:
        """The experiment: `supervised_train`, optionally `evaluate_exact_match`, then `sample`."""
        model = ModelRef(
            name=config.model_name,
            renderer=config.renderer_name,
            load_checkpoint_path=config.load_checkpoint_path,
        )
        training = TrainingConfig.derive(config, model=model)
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
            backend=BackendRef(overrides=_metrics_wiring(config)),
            dataset=config.dataset,
            training=training,
            pipeline=pipeline,
            outputs=OutputsSpec(log_path=config.log_path),
        )


RECIPE = SlBasicRecipe()
