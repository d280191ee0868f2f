"""The `sft_to_deploy` pipeline template.

`supervised_train` -> `evaluate` -> `register` -> `promote` (gated on metrics) ->
`export` -> `deploy`, the last only when the promotion passed (`when: promote.promoted`).
The training knobs are `sl_basic`'s; offline they are its tiny-chat setting, scored on
the `tiny_chat` eval task and gated on its pass@1, and the endpoint listens on 127.0.0.1.
"""

from __future__ import annotations

from typing import Any, Literal

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.ir import BackendRef, Experiment, StageSpec, TrainingConfig
from cookbook_runtime.ports import EXPORT_FORMATS, ExportFormat
from pydantic import Field

from cookbook_recipes._recipe_base import RecipeBase
from cookbook_recipes._spec_parts import evaluate_stage, exact_match_stage, model_ref
from cookbook_recipes.sl_basic import SlBasicConfig
from cookbook_recipes.sl_basic import local_defaults as sl_local_defaults
from cookbook_recipes.sl_basic._recipe import _metrics_wiring

__all__ = ["RECIPE", "SftToDeployConfig", "SftToDeployRecipe", "local_defaults"]


class SftToDeployConfig(SlBasicConfig):
    """`sl_basic`'s training knobs plus what the evaluation, registry, export and endpoint do."""

    registry_name: str | None = Field(
        default=None, description="Model name in the registry; None: 'sft_to_deploy'."
    )
    eval_task: str | None = Field(
        default=None, description="Benchmark task the trained model is scored on (see 'cookbook eval --help'); None skips."
    )
    eval_limit: int | None = Field(default=None, ge=1, description="Score at most this many items of eval_task.")
    promote_to: Literal["staging", "production"] = Field(
        default="production", description="Registry stage the version moves to when it passes the gate."
    )
    gate_min: dict[str, float] = Field(
        default_factory=dict, description="Metric -> lowest value allowed to promote (e.g. eval/tiny_chat/pass@1)."
    )
    gate_max: dict[str, float] = Field(
        default_factory=dict, description="Metric -> highest value allowed to promote (e.g. test/nll)."
    )
    export_formats: list[ExportFormat] = Field(
        default_factory=lambda: list(EXPORT_FORMATS),
        description="Formats the export stage writes; empty skips the export.",
    )
    deploy: bool = Field(default=True, description="Serve the promoted version on an OpenAI-compatible endpoint.")
    host: str = Field(default="127.0.0.1", description="Interface the endpoint listens on (it has no authentication).")
    port: int = Field(default=0, ge=0, le=65535, description="Endpoint TCP port; 0 picks a free one.")


def local_defaults() -> dict[str, Any]:
    """`sl_basic`'s offline setting (tiny model, tiny-chat, about a minute of training), gated on pass@1."""
    return {
        **sl_local_defaults(),
        "exact_match_examples": 0,
        "eval_task": "tiny_chat",
        "eval_limit": 64,
        "gate_min": {"eval/tiny_chat/pass@1": 0.5},
        "export_formats": ["merged"],  # a full fine-tune (lora_rank 0) has no adapter to export
    }


class SftToDeployRecipe(RecipeBase):
    """Data to a served model: fine-tune, evaluate, register, promote if the gate passes, export, deploy."""

    name = "sft_to_deploy"
    kind = "pipeline"
    description = (
        "Supervised fine-tuning, evaluation, registration, gated promotion, export and an OpenAI-compatible endpoint."
    )
    Config = SftToDeployConfig
    offline_defaults = staticmethod(local_defaults)

    def build(self, config: SftToDeployConfig) -> Experiment:
        if config.lora_rank == 0 and "peft_adapter" in config.export_formats:
            raise ConfigError(
                "sft_to_deploy: a full fine-tune (lora_rank=0) has no LoRA adapter to export; "
                "set export_formats to ['merged'] or lora_rank above 0"
            )
        train_options: dict[str, Any] = {"train_on_what": config.train_on_what, "lookahead": config.lookahead}
        pipeline = [StageSpec(name="supervised_train", options=train_options)]
        if config.exact_match_examples:
            pipeline.append(exact_match_stage(config.exact_match_examples, config.sample_max_tokens))
        if config.eval_task is not None:
            pipeline.append(
                evaluate_stage(config.eval_task, "supervised_train", config.sample_max_tokens, config.eval_limit)
            )
        register: dict[str, Any] = {"from_stage": "supervised_train", "name": config.registry_name or self.name}
        pipeline.append(StageSpec(name="register", options=register))
        pipeline.append(
            StageSpec(
                name="promote",
                options={"to": config.promote_to, "min": dict(config.gate_min), "max": dict(config.gate_max)},
            )
        )
        if config.export_formats:
            pipeline.append(
                StageSpec(name="export", options={"from_stage": "supervised_train", "formats": config.export_formats})
            )
        if config.deploy:
            pipeline.append(
                StageSpec(name="deploy", options={"host": config.host, "port": config.port}, when="promote.promoted")
            )
        return self.experiment(
            pipeline, backend=BackendRef(overrides=_metrics_wiring(config)), dataset=config.dataset,
            training=TrainingConfig.derive(config, model=model_ref(config)), log_path=config.log_path,
        )


RECIPE = SftToDeployRecipe()
