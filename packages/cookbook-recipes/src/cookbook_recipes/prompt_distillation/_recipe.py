"""The `prompt_distillation` recipe (context distillation).

tinker-cookbook's version has a teacher with a long task prompt (a language
classifier's rules) label a set of queries into a file, then fine-tunes the student
on the labelled queries without the prompt. Here one `distill_off_policy` stage
does both: the teacher writes each reply seeing the system prompt and scores it
(top-K next-token distributions), and the student is trained on those soft
targets with the prompt left out, so it learns the prompt's behaviour rather
than only the sampled words. Offline the teacher is the tiny model fine-tuned on
tiny-chat first, with a short instruction as its system prompt.
"""

from __future__ import annotations

from typing import Any

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.ir import DatasetRef, Experiment, ModelRef, StageSpec, TrainingConfig
from pydantic import BaseModel, ConfigDict, Field

from cookbook_recipes._recipe_base import RecipeBase
from cookbook_recipes._spec_parts import supervised_stage, teacher_source
from cookbook_recipes.datasets import tiny_chat

__all__ = ["DEFAULT_SYSTEM_PROMPT", "RECIPE", "PromptDistillationConfig", "PromptDistillationRecipe", "local_defaults"]

DEFAULT_SYSTEM_PROMPT = (
    "You label the language of a text. Reply with exactly one line, 'Final Answer: xx', where xx is one of "
    "ar, de, el, en, es, fr, hi, ru, tr, ur, vi, zh, or ot for other or unclear text. Decide by script first "
    "(Devanagari hi, Greek el, Cyrillic ru, Han zh, Arabic script ar or ur), then, for Latin script, by letters "
    "and function words particular to a language; ignore code, URLs, numbers, names and emoji; prefer ot when "
    "the evidence is thin, mixed or romanised."
)
TEACHER_STAGE = "teacher"


class PromptDistillationConfig(BaseModel):
    """Teacher, its system prompt, the queries and the student's training."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model_name: str = Field(default="Qwen/Qwen3-8B-Base", description="The student's base model.")
    renderer_name: str | None = Field(default="qwen3", description="Chat renderer; None: the model's recommended one.")
    teacher_model: str | None = Field(default="Qwen/Qwen3-8B", description="Teacher base model (same tokenizer).")
    teacher_path: str | None = Field(default=None, description="Teacher sampler weights; overrides teacher_model.")
    system_prompt: str = Field(default=DEFAULT_SYSTEM_PROMPT, min_length=1, description="What only the teacher sees.")
    queries: DatasetRef = Field(
        default=DatasetRef(name="allenai/tulu-3-sft-mixture", test_size=64),
        description="Chat rows whose prompts (all but a final reply) are the queries.",
    )
    max_queries: int | None = Field(default=2000, ge=1, description="Label at most this many queries.")
    test_queries: int = Field(default=64, ge=0, description="Held-out queries for the teacher KL; 0: none.")
    max_tokens: int = Field(default=64, ge=1, description="Cap on a teacher reply.")
    temperature: float = Field(default=0.7, ge=0, description="Teacher sampling temperature.")
    topk: int = Field(default=20, ge=1, description="Teacher tokens kept per reply position.")
    train_teacher: bool = Field(default=False, description="Fine-tune the teacher first on `teacher_dataset`.")
    teacher_dataset: DatasetRef | None = Field(default=None, description="Chat data the teacher is fine-tuned on.")
    teacher_max_steps: int = Field(default=100, ge=1, description="Teacher fine-tuning steps.")
    teacher_learning_rate: float = Field(default=3e-3, gt=0, description="Teacher fine-tuning learning rate.")
    batch_size: int = Field(default=32, ge=1, description="Student batch size (and teacher fine-tuning's).")
    learning_rate: float = Field(default=1e-4, gt=0, description="Student peak learning rate.")
    num_epochs: int = Field(default=2, ge=1, description="Student passes over the labelled queries.")
    max_length: int | None = Field(default=4096, ge=2, description="Truncation length.")
    lora_rank: int = Field(default=32, ge=0, description="LoRA rank; 0 trains all weights where supported.")
    save_every: int = Field(default=20, ge=0, description="Checkpoint every N steps.")
    seed: int = Field(default=0, description="Seed for data order, sampling and initialisation.")
    log_path: str | None = Field(default=None, description="Run directory; rerunning it resumes.")


def local_defaults() -> dict[str, Any]:
    """Offline: the tiny model fine-tuned on tiny-chat teaches, with a short system prompt, the untrained tiny model."""
    data = DatasetRef(name=tiny_chat.NAME, split="train", test_split="test", format="jsonl")
    return {
        "model_name": "cookbook/tiny-chat",
        "renderer_name": "qwen3_instruct",
        "teacher_model": None,
        "train_teacher": True,
        "teacher_dataset": data,
        "teacher_max_steps": 60,
        "system_prompt": "Answer with the letters only.",
        "queries": data,
        "max_queries": 512,
        "test_queries": 32,
        "max_tokens": 16,
        "temperature": 0.0,
        "topk": 8,
        "batch_size": 32,
        "learning_rate": 3e-3,
        "max_length": 96,
        "lora_rank": 0,
        "save_every": 0,
    }


class PromptDistillationRecipe(RecipeBase):
    """Distil a system prompt's behaviour into the student's weights."""

    name = "prompt_distillation"
    kind = "distillation"
    description = (
        "Prompt distillation: a teacher answers with a long system prompt; the student learns its top-K "
        "distributions without the prompt."
    )
    Config = PromptDistillationConfig
    offline_defaults = staticmethod(local_defaults)

    def build(self, config: PromptDistillationConfig) -> Experiment:
        teacher = teacher_source(self.name, config, TEACHER_STAGE)
        model = ModelRef(name=config.model_name, renderer=config.renderer_name)
        training = TrainingConfig.derive(config, model=model, dataset=config.queries, eval_every=0)
        pipeline: list[StageSpec] = []
        if config.train_teacher:
            if config.teacher_dataset is None:
                raise ConfigError("prompt_distillation: train_teacher needs teacher_dataset; set it")
            teacher_training = training.model_copy(update={
                "dataset": config.teacher_dataset, "max_steps": config.teacher_max_steps, "num_epochs": 100,
                "learning_rate": config.teacher_learning_rate, "lr_schedule": "linear", "seed": config.seed + 1,
                "save_every": 0,
            })
            pipeline.append(supervised_stage(TEACHER_STAGE, id=TEACHER_STAGE, training=teacher_training))
        options: dict[str, Any] = {
            "teacher": teacher,
            "completions": "teacher",
            "teacher_system_prompt": config.system_prompt,
            "topk": config.topk,
            "max_tokens": config.max_tokens,
            "temperature": config.temperature,
            "test_rows": config.test_queries,
        }
        if config.max_queries is not None:
            options["max_rows"] = config.max_queries
        pipeline.append(StageSpec(name="distill_off_policy", options=options))
        return self.experiment(pipeline, dataset=config.queries, training=training, log_path=config.log_path)


RECIPE = PromptDistillationRecipe()
