"""The `sl_basic` config: every knob of a basic supervised fine-tuning run.

The class defaults are tinker-cookbook's `sl_basic` recipe (NoRobots on its default
base model); `defaults_for("local")` (any manifest whose profile is `local`) swaps in the built-in tiny model and the
generated tiny-chat dataset so the recipe runs offline on a laptop CPU.
"""

from __future__ import annotations

from typing import Literal

from cookbook_runtime.ir import DatasetRef
from pydantic import BaseModel, ConfigDict, Field

from cookbook_recipes.datasets.norobots import norobots_ref

__all__ = ["SlBasicConfig", "TrainOn"]

TrainOn = Literal[
    "last_assistant_message",
    "last_assistant_turn",
    "all_assistant_messages",
    "all_messages",
    "all_tokens",
    "all_user_and_system_messages",
    "customized",
]


class SlBasicConfig(BaseModel):
    """Supervised fine-tuning on a chat dataset, then one sample from the result."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model_name: str = Field(
        default="Qwen/Qwen3.5-9B-Base",
        description="Base model: a hub id, a local directory, or 'cookbook/tiny-chat'.",
    )
    renderer_name: str | None = Field(
        default="role_colon",
        description="Chat renderer (tinker-cookbook's name); None picks the model's recommended renderer.",
    )
    load_checkpoint_path: str | None = Field(
        default=None, description="Start from these saved weights (a state path) instead of the base model."
    )
    dataset: DatasetRef = Field(
        default_factory=norobots_ref,
        description="Chat dataset: rows with a list of {role, content} messages.",
    )
    train_on_what: TrainOn = Field(
        default="all_assistant_messages", description="Which tokens carry loss."
    )
    learning_rate: float = Field(default=2e-4, gt=0, description="Peak learning rate.")
    lr_schedule: Literal["constant", "linear", "cosine"] = Field(
        default="linear", description="Decay of the learning rate over the run."
    )
    warmup_steps: int = Field(default=0, ge=0, description="Steps of linear warmup to the peak rate.")
    num_epochs: int = Field(default=1, ge=1, description="Passes over the training split.")
    batch_size: int = Field(default=128, ge=1, description="Conversations per optimizer step.")
    max_length: int | None = Field(
        default=32768, ge=2, description="Truncate each conversation to this many tokens."
    )
    lora_rank: int = Field(default=32, ge=0, description="LoRA rank; 0 trains all weights where supported.")
    save_every: int = Field(default=20, ge=0, description="Checkpoint every N steps; 0 saves only the final state.")
    eval_every: int = Field(default=8, ge=0, description="Held-out NLL (and eval_tasks) every N steps; 0 disables.")
    infrequent_eval_every: int = Field(
        default=0, ge=0, description="Infrequent evaluators every N steps; 0 runs them only at the end."
    )
    eval_tasks: list[str] = Field(
        default_factory=list,
        description="Benchmark tasks (see 'cookbook eval --help') scored greedily every eval_every steps.",
    )
    max_steps: int | None = Field(default=None, ge=1, description="Stop after this many steps; None trains all epochs.")
    seed: int = Field(default=0, description="Seed for the data order and sampling.")
    adam_beta1: float = Field(default=0.9, ge=0, lt=1, description="Adam beta1.")
    adam_beta2: float = Field(default=0.95, ge=0, lt=1, description="Adam beta2.")
    adam_eps: float = Field(default=1e-8, gt=0, description="Adam epsilon.")
    weight_decay: float = Field(default=0.0, ge=0, description="Decoupled weight decay.")
    grad_clip_norm: float = Field(default=0.0, ge=0, description="Clip the global gradient norm; 0 disables.")
    lookahead: int = Field(
        default=1, ge=0, description="Batches queued ahead of the one being awaited; 0 disables pipelining."
    )
    log_path: str | None = Field(
        default=None, description="Run directory; rerunning with the same one resumes. None: runs/sl_basic."
    )
    wandb_project: str | None = Field(
        default=None,
        description="W&B project to log to: wires the metrics port to 'wandb' (pip install 'cookbook-adapters[wandb]').",
    )
    wandb_name: str | None = Field(default=None, description="W&B run name (with wandb_project).")
    sample_prompt: str | None = Field(
        default=None, description="User message for the final sample; None takes a held-out conversation."
    )
    sample_max_tokens: int = Field(default=64, ge=1, description="Cap on the final sample's tokens.")
    exact_match_examples: int = Field(
        default=0,
        ge=0,
        description="After training, answer this many held-out prompts greedily and score exact match; 0 skips.",
    )
