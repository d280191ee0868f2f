"""What the training stages share: the training config, the renderer, datum conversion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework import (
    CheckpointRef,
    Context,
    DatasetArtifact,
    earlier_stage_keys,
    require_earlier_stage,
)
from cookbook_runtime.ir import DatasetRef, Experiment, TrainingConfig
from cookbook_runtime.ports import DatasetStore, Rows
from cookbook_runtime.train.checkpoints import last_checkpoint
from cookbook_runtime.train.data import ToDatum
from cookbook_runtime.types import Tokenizer

if TYPE_CHECKING:
    from cookbook_runtime.train.renderers import Renderer

__all__ = [
    "TrainedWeights",
    "check_renderer_name",
    "check_train_on_what",
    "checkpoint_of",
    "dataset_from_stage",
    "earlier_stage_keys",
    "held_out_rows",
    "make_to_datum",
    "override_training",
    "publish_checkpoint",
    "renderer_for",
    "renderer_name_for",
    "require_dataset",
    "require_earlier_stage",
    "require_training",
    "sampler_path_for",
    "start_state_path",
    "trained_weights",
]


def require_training(ctx: Context | Experiment, stage: str) -> TrainingConfig:
    """The experiment's training config, or a `ConfigError` saying the stage needs one."""
    experiment = ctx if isinstance(ctx, Experiment) else ctx.experiment
    training = experiment.training
    if training is None:
        raise ConfigError(f"stage {stage!r} needs the experiment's 'training' section; add one to the spec")
    return training


def override_training(base: TrainingConfig, overrides: dict[str, Any], stage: str) -> TrainingConfig:
    """`base` with a stage's own training overrides, or a `ConfigError` naming the bad field."""
    if not overrides:
        return base
    from pydantic import ValidationError

    try:
        return TrainingConfig.model_validate({**base.model_dump(mode="json"), **overrides})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"stage {stage!r}: training override {where}: {err['msg']}") from None


def require_dataset(training: TrainingConfig, stage: str) -> DatasetRef:
    """The training dataset, or a `ConfigError` saying the stage needs one."""
    if training.dataset is None:
        raise ConfigError(f"stage {stage!r} needs training.dataset; set it in the spec")
    return training.dataset


def renderer_name_for(training: TrainingConfig) -> str:
    """The configured renderer, else the model's recommended one."""
    if training.model.renderer:
        return training.model.renderer
    from cookbook_runtime.train.renderers import recommended_renderer

    name: str = recommended_renderer(training.model.name)
    return name


def check_renderer_name(name: str) -> None:
    """Raise `UnknownNameError` for a renderer name no factory is registered under."""
    from cookbook_runtime.errors import UnknownNameError
    from cookbook_runtime.train.renderers import renderer_names

    known = renderer_names()
    if name not in known:
        raise UnknownNameError("renderer", name, known)


def check_train_on_what(value: str) -> None:
    """Raise `ConfigError` for a `train_on_what` that is not a TrainOnWhat value."""
    from cookbook_runtime.train.renderers import TrainOnWhat

    try:
        TrainOnWhat(value)
    except ValueError:
        from cookbook_runtime.errors import UnknownNameError

        raise UnknownNameError("train_on_what", value, [m.value for m in TrainOnWhat]) from None


def renderer_for(name: str, tokenizer: Tokenizer) -> Renderer:
    """The renderer called `name` over `tokenizer`."""
    from cookbook_runtime.train.renderers import get_renderer

    renderer: Renderer = get_renderer(name, tokenizer)
    return renderer


def make_to_datum(
    renderer: Renderer, training: TrainingConfig, train_on_what: str, reduction: Literal["none", "mean"]
) -> ToDatum:
    """Conversation -> datum with this run's renderer, truncation and loss mask."""
    from cookbook_runtime.train.datum import conversation_to_datum
    from cookbook_runtime.train.renderers import TrainOnWhat

    mode = TrainOnWhat(train_on_what)

    def to_datum(messages: list[dict[str, Any]]) -> Any:
        return conversation_to_datum(messages, renderer, training.max_length, mode, reduction)  # type: ignore[arg-type]

    return to_datum


def held_out_rows(store: DatasetStore, ref: DatasetRef, seed: int) -> Rows:
    """The held-out rows the supervised stage evaluates on (the first training rows if none)."""
    if ref.test_split is not None:
        return store.open(ref, ref.test_split)
    rows = store.open(ref, ref.split)
    if ref.test_size > 0:
        return rows.shuffle(seed).take(ref.test_size)
    return rows


def publish_checkpoint(
    ctx: Context, kind: str, *, state_path: str, sampler_path: str | None, base_model: str, renderer: str | None,
    steps: int | None = None,
) -> CheckpointRef:
    """Publish the running stage's final weights as a `CheckpointRef` and return it."""
    ref = CheckpointRef(
        state_path=state_path, sampler_path=sampler_path, base_model=base_model, renderer=renderer, kind=kind,
        steps=steps,
    )
    ctx.publish(ref)
    return ref


def checkpoint_of(ctx: Context, stage: str) -> CheckpointRef | None:
    """The `CheckpointRef` `stage` published, None if it published none."""
    return ctx.find_artifact(CheckpointRef, stage)


def sampler_path_for(ctx: Context, stage: str, sampler_path: str | None, train_stage: str) -> str:
    """The sampler weights a stage uses: the given path, `train_stage`'s final weights, or the last checkpoint's."""
    if sampler_path:
        return sampler_path
    found = checkpoint_of(ctx, train_stage)
    if found is not None and found.sampler_path:
        return found.sampler_path
    record = last_checkpoint(ctx.run_dir.path)
    if record is not None and record.sampler_path:
        return record.sampler_path
    raise ConfigError(f"stage {stage!r} found no sampler weights: run {train_stage!r} first or set sampler_path")


def dataset_from_stage(ctx: Context, stage: str, from_stage: str, kind: str) -> DatasetRef:
    """The dataset of `kind` that `from_stage` published (a `DatasetArtifact`), as a reference to open."""
    found = ctx.artifact(DatasetArtifact, stage=from_stage, kind=kind)  # raises, saying what to fix
    return DatasetRef(name=found.path, format=found.format, test_size=found.test_size)


def start_state_path(ctx: Context, stage: str, init_from_stage: str | None, training: TrainingConfig) -> str | None:
    """The state a stage starts from: `init_from_stage`'s final state, else the model's `load_checkpoint_path`.

    One rule for every stage that can continue an earlier one (RL after SFT, DPO,
    distillation), so a pipeline wires them all the same way: the earlier stage's
    `CheckpointRef`, or a `ConfigError` saying where to put that stage.
    """
    if init_from_stage is None:
        return training.model.load_checkpoint_path
    return ctx.artifact(CheckpointRef, stage=init_from_stage).state_path  # raises, saying what to fix


@dataclass(frozen=True)
class TrainedWeights:
    """What an earlier training stage left: its checkpoint and the stage that trained it."""

    stage: str
    """The training stage's key in the pipeline."""
    stage_name: str
    """Its stage name (`supervised_train`, `dpo_train`, ...), which says how the weights were trained."""
    checkpoint: CheckpointRef

    @property
    def state_path(self) -> str:
        return self.checkpoint.state_path

    @property
    def sampler_path(self) -> str | None:
        return self.checkpoint.sampler_path

    @property
    def base_model(self) -> str | None:
        return self.checkpoint.base_model or None

    @property
    def renderer(self) -> str | None:
        return self.checkpoint.renderer


def trained_weights(ctx: Context, stage: str, from_stage: str | None) -> TrainedWeights:
    """The `CheckpointRef` of `from_stage`, or of the latest earlier stage that published one."""
    if from_stage is not None:
        ref = checkpoint_of(ctx, from_stage)
        if ref is None:
            raise ConfigError(
                f"stage {stage!r} takes the weights of stage {from_stage!r}, which has not produced "
                "final weights: put a training stage with that id earlier in the pipeline"
            )
        key = from_stage
    else:
        found = [(k, r) for k in reversed(list(ctx.refs)) if k != ctx.stage and (r := checkpoint_of(ctx, k))]
        if not found:
            raise ConfigError(f"stage {stage!r} found no trained weights: put a training stage before it")
        key, ref = found[0]
    name = next((s.name for s in ctx.experiment.pipeline if s.key == key), key)
    return TrainedWeights(stage=key, stage_name=name, checkpoint=ref)
