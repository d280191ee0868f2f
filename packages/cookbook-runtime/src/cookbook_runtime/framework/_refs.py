"""Typed artifact references: what one stage hands to a later one.

A stage publishes refs on the run context (`ctx.publish(CheckpointRef(...))`); a
later stage asks for one by type and, optionally, by the stage that made it
(`ctx.artifact(CheckpointRef, stage="supervised_train")`). The runner stores each
finished stage's refs in its `stage_finished` event, so a resumed run restores them
with the stage's outputs, and a ref a stage asks for but no earlier stage published
fails with a `ConfigError` naming the stage to put earlier.

Refs are frozen pydantic models, serialised as `{"type": <class name>, "data": {...}}`;
every `ArtifactRef` subclass is registered by class name when it is defined, so a
third-party package adds its own kind by subclassing. They are data only (paths,
names, numbers): the framework never interprets them.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "ArtifactRef",
    "CheckpointRef",
    "DatasetArtifact",
    "EvalResultRef",
    "RewardModelRef",
    "artifact_type",
    "dump_refs",
    "load_refs",
]

_TYPES: dict[str, type[ArtifactRef]] = {}


class ArtifactRef(BaseModel):
    """Base of every artifact reference; subclasses register under their class name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    produces_hint: ClassVar[str] = "a stage that produces one"
    """How a missing-ref error names the stages that publish this kind."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        _TYPES[cls.__name__] = cls

    def replaces(self, other: ArtifactRef) -> bool:
        """Whether publishing this ref drops `other`, published earlier by the same stage: one of the same type."""
        return type(other) is type(self)


class CheckpointRef(ArtifactRef):
    """Trained weights: a resumable training state and, where saved, sampler weights."""

    produces_hint: ClassVar[str] = "a training stage (supervised_train, rl_train, dpo_train, distill_*)"

    state_path: str = Field(description="Training state (weights and optimizer) to continue from.")
    sampler_path: str | None = Field(default=None, description="Sampler weights of the same step, if saved.")
    base_model: str = Field(description="Base model the weights were trained from.")
    renderer: str | None = Field(default=None, description="Renderer the stage trained with.")
    kind: str = Field(description="What trained them: 'supervised', 'rl', 'dpo', 'distill', ...")
    steps: int | None = Field(default=None, ge=0, description="Optimizer steps the stage had taken.")


class RewardModelRef(ArtifactRef):
    """A pairwise reward model: weights plus how a reply's score is read from them."""

    produces_hint: ClassVar[str] = "reward_model_train"

    state_path: str = Field(description="Training state of the reward model.")
    sampler_path: str = Field(description="Sampler weights the score is computed with (compute_logprobs).")
    base_model: str = Field(description="Base model of the reward model; policies it scores must share its tokenizer.")
    renderer: str = Field(description="Renderer prompts and replies are scored with.")
    score: Literal["mean", "sum"] = Field(description="Reply logprob reduction the model was trained on.")
    beta: float = Field(gt=0, description="Scale of the score: reward = beta * reduced (logprob - reference logprob).")
    reference_sampler_path: str | None = Field(
        default=None, description="Sampler weights scores are relative to (the starting weights); None: raw logprobs."
    )
    held_out_pair_accuracy: float | None = Field(
        default=None, description="Share of held-out pairs it ranked right at the end of training."
    )


class DatasetArtifact(ArtifactRef):
    """A dataset a stage wrote (e.g. the conversations and preference pairs `export_feedback` makes).

    `kind` says what the rows are, so one stage can publish several datasets and a
    reader asks for the one it trains on (`ctx.artifact(DatasetArtifact, stage=..., kind="pairs")`).
    """

    produces_hint: ClassVar[str] = "a stage that writes a dataset (export_feedback)"

    path: str = Field(description="Where the rows are (a file or a directory of splits).")
    kind: str | None = Field(
        default=None, description="What the rows are: 'sft' (conversations), 'pairs' (comparisons), ...; None: unsaid."
    )
    format: str = Field(default="jsonl", description="File format of the rows.")
    splits: dict[str, int] = Field(default_factory=dict, description="Split name -> number of rows.")
    test_size: int = Field(
        default=0, ge=0, description="Rows a reader carves off (shuffled) for held-out evaluation; 0: none."
    )

    def replaces(self, other: ArtifactRef) -> bool:
        """Only a dataset of the same kind: a stage may publish one of each kind."""
        return isinstance(other, DatasetArtifact) and other.kind == self.kind


class EvalResultRef(ArtifactRef):
    """Metrics an evaluation stage measured."""

    produces_hint: ClassVar[str] = "an evaluation stage"

    metrics: dict[str, float] = Field(description="Metric name -> value.")
    checkpoint: str | None = Field(default=None, description="The weights that were evaluated, if known.")


def artifact_type(name: str) -> type[ArtifactRef] | None:
    """The registered ref class called `name`, None if unknown."""
    return _TYPES.get(name)


def dump_refs(refs: list[ArtifactRef]) -> list[dict[str, Any]]:
    """Refs as JSON-ready `{"type", "data"}` objects."""
    return [{"type": type(r).__name__, "data": r.model_dump(mode="json")} for r in refs]


def load_refs(items: object) -> list[ArtifactRef]:
    """Refs back from `dump_refs` output; `ValueError` for an unknown type or bad data."""
    if not isinstance(items, list):
        raise ValueError("artifacts is not a list")
    out: list[ArtifactRef] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise ValueError("an artifact has no type")
        cls = _TYPES.get(item["type"])
        if cls is None:
            raise ValueError(f"unknown artifact type {item['type']!r} (is the package that defines it installed?)")
        try:
            out.append(cls.model_validate(item.get("data")))
        except ValidationError as exc:
            raise ValueError(f"artifact {item['type']} is invalid: {exc.errors()[0]['msg']}") from None
    return out
