"""The `distillation` recipe.

On Tinker it follows tinker-cookbook's distillation recipe: a base student learns
an instruction-tuned teacher of the same family (same tokenizer) on a prompt set,
either on-policy (the student samples, each token's advantage is the negated
reverse KL to the teacher) or off-policy (the teacher's top-K next-token
distribution on dataset completions as soft cross-entropy targets).

Offline the teacher is trained first in the same pipeline: a tiny model fine-tuned
on the tiny-chat letter tasks; the student is the untrained tiny model, and the
held-out teacher KL is reported before and after distillation.
"""

from __future__ import annotations

from typing import Any, Literal

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.ir import DatasetRef, Experiment, ModelRef, StageSpec, TrainingConfig
from pydantic import BaseModel, ConfigDict, Field

from cookbook_recipes._recipe_base import RecipeBase
from cookbook_recipes._spec_parts import model_ref, supervised_stage, teacher_source
from cookbook_recipes.datasets import tiny_chat

__all__ = ["RECIPE", "DistillationConfig", "DistillationRecipe", "local_defaults"]

TEACHER_STAGE = "teacher"
STUDENT_STAGE = "student_init"


class DistillationConfig(BaseModel):
    """Student, teacher, prompts and the distillation loop."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Literal["on_policy", "off_policy"] = Field(
        default="on_policy", description="'on_policy' (student samples, reverse KL) or 'off_policy' (soft targets)."
    )
    model_name: str = Field(default="Qwen/Qwen3-8B-Base", description="The student's base model.")
    renderer_name: str | None = Field(default="qwen3", description="Chat renderer; None: the model's recommended one.")
    load_checkpoint_path: str | None = Field(default=None, description="Start the student from these weights.")
    teacher_model: str | None = Field(default="Qwen/Qwen3-8B", description="Teacher base model (same tokenizer).")
    teacher_path: str | None = Field(default=None, description="Teacher sampler weights; overrides teacher_model.")
    train_teacher: bool = Field(
        default=False, description="Fine-tune the teacher first on `teacher_dataset` (the offline demonstration)."
    )
    teacher_dataset: DatasetRef | None = Field(default=None, description="Chat data the teacher is fine-tuned on.")
    teacher_learning_rate: float = Field(default=3e-3, gt=0, description="Teacher fine-tuning peak learning rate.")
    teacher_batch_size: int = Field(default=128, ge=1, description="Teacher fine-tuning batch size.")
    teacher_epochs: int = Field(default=1, ge=1, description="Teacher fine-tuning epochs.")
    teacher_max_steps: int | None = Field(default=None, ge=1, description="Stop teacher fine-tuning after N steps.")
    teacher_max_length: int | None = Field(default=2048, ge=2, description="Teacher fine-tuning truncation length.")
    student_sft_steps: int = Field(
        default=0, ge=0,
        description="Fine-tune the student this many steps on `teacher_dataset` first (a less-trained start); 0: none.",
    )
    student_sft_learning_rate: float = Field(default=3e-3, gt=0, description="Student warm-up learning rate.")
    prompts: DatasetRef = Field(
        default=DatasetRef(name="allenai/tulu-3-sft-mixture", test_size=64),
        description="Chat dataset: its prompts (on-policy) or its conversations (off-policy completions).",
    )
    max_prompts: int | None = Field(default=None, ge=1, description="Use at most this many training prompts.")
    test_prompts: int = Field(default=64, ge=0, description="Held-out prompts for the teacher KL; 0: no eval.")
    group_size: int = Field(default=4, ge=1, description="on_policy: student samples per prompt.")
    groups_per_batch: int = Field(default=64, ge=1, description="Prompts (or off-policy conversations) per step.")
    learning_rate: float = Field(default=1e-4, gt=0, description="Student peak learning rate.")
    lr_schedule: Literal["constant", "linear", "cosine"] = Field(default="linear", description="LR decay.")
    max_tokens: int = Field(default=1024, ge=1, description="on_policy: cap on each sampled reply.")
    temperature: float = Field(default=1.0, gt=0, description="on_policy: student sampling temperature.")
    kl_penalty_coef: float = Field(default=1.0, gt=0, description="on_policy: advantage = -coef * reverse KL.")
    kl_discount_factor: float = Field(default=0.0, ge=0, le=1, description="on_policy: discount of future KL.")
    loss_fn: Literal["importance_sampling", "ppo", "cispo", "dro"] = Field(
        default="importance_sampling", description="on_policy: policy loss."
    )
    topk: int = Field(default=20, ge=1, description="off_policy: teacher tokens kept per position.")
    max_length: int | None = Field(default=4096, ge=2, description="off_policy: conversation truncation length.")
    lora_rank: int = Field(default=32, ge=0, description="Student LoRA rank; 0 trains all weights where supported.")
    max_steps: int | None = Field(default=None, ge=1, description="Stop the student after this many steps.")
    eval_every: int = Field(default=20, ge=0, description="Held-out teacher KL every N steps; 0: start and end only.")
    save_every: int = Field(default=20, ge=0, description="Checkpoint every N steps.")
    seed: int = Field(default=0, description="Seed for data order, sampling and initialisation.")
    log_path: str | None = Field(default=None, description="Run directory; rerunning it resumes.")


def local_defaults() -> dict[str, Any]:
    """Offline: teacher = the tiny model fine-tuned on tiny-chat first (100 steps of 64); student = the tiny
    model after a 10-step warm-up, distilled for 60 steps of 16 prompts x 4 samples.

    Measured on 2 busy CPU cores, on-policy: held-out teacher KL 2.041 -> 0.758 (-63%) in about 2.5 minutes
    (lr 3e-3 constant gave -56%); off-policy (mode=off_policy, fewer teacher steps): 1.615 -> 0.216.
    """
    data = DatasetRef(name=tiny_chat.NAME, split="train", test_split="test", format="jsonl")
    return {
        "model_name": "cookbook/tiny-chat",
        "renderer_name": "qwen3_instruct",
        "teacher_model": None,
        "train_teacher": True,
        "teacher_dataset": data,
        "teacher_learning_rate": 3e-3,
        "teacher_batch_size": 64,
        "teacher_epochs": 2,
        "student_sft_steps": 10,
        "teacher_max_steps": 100,
        "teacher_max_length": 64,
        "prompts": data,
        "test_prompts": 64,
        "group_size": 4,
        "groups_per_batch": 16,
        "learning_rate": 5e-3,
        "lr_schedule": "linear",
        "max_tokens": 16,
        "topk": 8,
        "max_length": 64,
        "lora_rank": 0,
        "max_steps": 60,
        "eval_every": 30,
        "save_every": 30,
    }


class DistillationRecipe(RecipeBase):
    """On- or off-policy distillation of a teacher into a student."""

    name = "distillation"
    kind = "distillation"
    description = (
        "Distil a teacher into a student: on-policy reverse KL or off-policy top-K soft targets; "
        "locally the teacher is a tiny model fine-tuned first."
    )
    Config = DistillationConfig
    offline_defaults = staticmethod(local_defaults)

    def build(self, config: DistillationConfig) -> Experiment:
        teacher = teacher_source(self.name, config, TEACHER_STAGE)
        student = model_ref(config)
        student_training = TrainingConfig.derive(
            config, model=student, dataset=config.prompts, batch_size=config.groups_per_batch
        )
        pipeline: list[StageSpec] = []
        extra: dict[str, Any] = {}
        sft_data = config.teacher_dataset
        if (config.train_teacher or config.student_sft_steps) and sft_data is None:
            raise ConfigError("distillation: fine-tuning the teacher or student needs teacher_dataset; set it")
        if config.train_teacher and sft_data is not None:
            teacher_training = TrainingConfig(
                model=ModelRef(name=config.model_name, renderer=config.renderer_name),
                dataset=sft_data,
                num_epochs=config.teacher_epochs,
                max_steps=config.teacher_max_steps,
                batch_size=config.teacher_batch_size,
                learning_rate=config.teacher_learning_rate,
                lr_schedule="linear",
                max_length=config.teacher_max_length,
                lora_rank=config.lora_rank,
                seed=config.seed + 1,  # the teacher does not start from the student's initial weights
                save_every=0,
                eval_every=0,
            )
            pipeline.append(supervised_stage(TEACHER_STAGE, id=TEACHER_STAGE, training=teacher_training))
        if config.student_sft_steps and sft_data is not None:
            student_sft = TrainingConfig(
                model=student,
                dataset=sft_data,
                max_steps=config.student_sft_steps,
                batch_size=config.teacher_batch_size,
                learning_rate=config.student_sft_learning_rate,
                lr_schedule="constant",
                max_length=config.teacher_max_length,
                lora_rank=config.lora_rank,
                seed=config.seed,
                save_every=0,
                eval_every=0,
            )
            pipeline.append(supervised_stage(STUDENT_STAGE, id=STUDENT_STAGE, training=student_sft))
            extra["init_from_stage"] = STUDENT_STAGE
        if config.mode == "on_policy":
            pipeline.append(self._on_policy(config, teacher, extra))
        else:
            pipeline.append(self._off_policy(config, teacher, extra))
        return self.experiment(pipeline, dataset=config.prompts, training=student_training, log_path=config.log_path)

    def _on_policy(self, config: DistillationConfig, teacher: dict[str, Any], extra: dict[str, Any]) -> StageSpec:
        env_options: dict[str, Any] = {
            "dataset": config.prompts.model_dump(mode="json", exclude_defaults=True),
            "test_prompts": config.test_prompts,
        }
        if config.max_prompts is not None:
            env_options["max_prompts"] = config.max_prompts
        source = {"env": "prompts", "env_options": env_options, "teacher": teacher,
                  "groups_per_batch": config.groups_per_batch}
        return StageSpec(
            name="distill_on_policy",
            options={
                "datasets": [source],
                "group_size": config.group_size,
                "max_tokens": config.max_tokens,
                "temperature": config.temperature,
                "kl_penalty_coef": config.kl_penalty_coef,
                "kl_discount_factor": config.kl_discount_factor,
                "loss_fn": config.loss_fn,
                **extra,
            },
        )

    def _off_policy(self, config: DistillationConfig, teacher: dict[str, Any], extra: dict[str, Any]) -> StageSpec:
        options: dict[str, Any] = {"teacher": teacher, "topk": config.topk, "test_rows": config.test_prompts, **extra}
        if config.max_prompts is not None:
            options["max_rows"] = config.max_prompts
        return StageSpec(name="distill_off_policy", options=options)


RECIPE = DistillationRecipe()
