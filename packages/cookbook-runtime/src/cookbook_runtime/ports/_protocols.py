"""The ports: small async protocols every outside system is reached through.

Training calls are two-phase so a loop can pipeline: `await client.forward_backward(...)`
returns as soon as the request is queued, with a `Pending` handle; `await handle.result()`
waits for the output. A client executes requests in submission order.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

from cookbook_runtime.ir import DatasetRef
from cookbook_runtime.ports._export import ExportedWeights, ExportFormat
from cookbook_runtime.ports._feedback import (
    FeedbackSignal,
    InferenceEvent,
    SignalKind,
    TriggerRecord,
)
from cookbook_runtime.ports._model_types import (
    ArtifactSource,
    Deployment,
    DeploymentDraft,
    DeploymentStatus,
    HealthCheck,
    Lineage,
    ModelStage,
    ModelVersion,
    Registration,
    TrafficSplit,
    VersionComparison,
    VersionRef,
    VersionSelector,
)
from cookbook_runtime.types import (
    AdamParams,
    Datum,
    ForwardBackwardOutput,
    LossName,
    ModelInput,
    OptimStepOutput,
    SampleResult,
    SamplingParams,
    TensorData,
    Tokenizer,
    TrainingInfo,
)

__all__ = [
    "BlobStore",
    "CustomLossFn",
    "DatasetStore",
    "EmbeddingClient",
    "FeedbackStore",
    "HubClient",
    "MetricsSink",
    "ModelRegistry",
    "Pending",
    "Rows",
    "SamplingClient",
    "ServiceClient",
    "TrainingClient",
    "WeightsExporter",
]

T_co = TypeVar("T_co", covariant=True)

CustomLossFn = Callable[[list[Datum], list[Any]], tuple[Any, dict[str, float]]]
"""`(data, per_datum_logprobs) -> (scalar loss, metrics)`; the logprobs are backend tensors."""


class Pending(Protocol[T_co]):
    """A queued request; `result()` waits for and returns its output."""

    async def result(self) -> T_co:
        """Wait for the request to finish and return its output (or raise its error)."""
        ...


@runtime_checkable
class SamplingClient(Protocol):
    """Samples from one fixed set of weights."""

    async def sample(
        self,
        prompt: ModelInput,
        num_samples: int,
        params: SamplingParams,
        *,
        include_prompt_logprobs: bool = False,
        topk_prompt_logprobs: int = 0,
        topk_sample_logprobs: int = 0,
        target_prompt_logprobs: TensorData | None = None,
        prompt_alt_tokens_k: int = 0,
    ) -> SampleResult:
        """Sample `num_samples` completions of `prompt`.

        `include_prompt_logprobs` fills `SampleResult.prompt_logprobs` (as
        `compute_logprobs` would); `topk_prompt_logprobs=k > 0` fills
        `SampleResult.topk_prompt_logprobs` with the `k` most likely tokens at each
        prompt position (the soft targets of off-policy distillation).
        `topk_sample_logprobs=k > 0` fills each sequence's `topk_logprobs` with the
        `k` most likely tokens at every generated position. `target_prompt_logprobs`,
        an int64 `[len(prompt) - 1, K]` tensor of token ids (-1 for none), fills
        `SampleResult.target_prompt_logprobs` with the logprob of id `[i, j]` at prompt
        position `i + 1`. `prompt_alt_tokens_k=k > 0` fills
        `SampleResult.prompt_alt_tokens` with `k` draws (with replacement, at
        `params.temperature`, reproducible under `params.seed`) from the next-token
        distribution at each prompt position after the first. Every logprob is on
        the scale of the sampled tokens' `logprobs`.
        """
        ...

    async def compute_logprobs(self, prompt: ModelInput) -> list[float | None]:
        """Logprob of each prompt token given those before it (None for the first)."""
        ...

    def tokenizer(self) -> Tokenizer:
        """The tokenizer matching these weights."""
        ...

    async def close(self) -> None:
        """Release these weights; later calls raise `BackendError`. Closing twice is a no-op."""
        ...


@runtime_checkable
class TrainingClient(Protocol):
    """One trainable model (LoRA or full) on a backend."""

    async def forward(
        self, data: Sequence[Datum], loss_fn: LossName = "cross_entropy"
    ) -> Pending[ForwardBackwardOutput]:
        """Queue a forward pass without gradients; outputs carry per-token `logprobs`."""
        ...

    async def forward_backward(
        self,
        data: Sequence[Datum],
        loss_fn: LossName,
        loss_fn_config: Mapping[str, float] | None = None,
    ) -> Pending[ForwardBackwardOutput]:
        """Queue a forward and backward pass, accumulating gradients for the next step."""
        ...

    async def forward_backward_custom(
        self, data: Sequence[Datum], loss_fn: CustomLossFn
    ) -> Pending[ForwardBackwardOutput]:
        """Queue a forward/backward with a user loss over per-token logprobs."""
        ...

    async def optim_step(self, params: AdamParams) -> Pending[OptimStepOutput]:
        """Queue one Adam step over the accumulated gradients, then clear them."""
        ...

    async def save_state(self, name: str) -> Pending[str]:
        """Queue saving weights and optimizer state; the result is a path to resume from."""
        ...

    async def load_state(self, path: str, *, with_optimizer: bool = True) -> Pending[None]:
        """Queue loading a saved state (optionally with its optimizer state)."""
        ...

    async def save_weights_for_sampler(self, name: str) -> Pending[str]:
        """Queue saving sampler weights; the result is a path `create_sampling_client` takes."""
        ...

    async def sampling_client(self, name: str | None = None) -> SamplingClient:
        """Save the current weights for sampling and return a client over them."""
        ...

    def tokenizer(self) -> Tokenizer:
        """The tokenizer of the base model."""
        ...

    async def info(self) -> TrainingInfo:
        """What this client trains."""
        ...

    async def close(self) -> None:
        """Release the client's resources; further calls are errors."""
        ...


@runtime_checkable
class ServiceClient(Protocol):
    """A training backend: creates training and sampling clients."""

    async def create_lora_training_client(
        self,
        base_model: str,
        *,
        rank: int = 32,
        seed: int | None = None,
        train_mlp: bool = True,
        train_attn: bool = True,
        train_unembed: bool = True,
    ) -> TrainingClient:
        """A new LoRA (rank > 0) or full (rank 0, where supported) training client."""
        ...

    async def create_training_client_from_state(
        self, path: str, *, with_optimizer: bool = True
    ) -> TrainingClient:
        """A training client resumed from `save_state`'s path."""
        ...

    async def create_sampling_client(
        self, *, base_model: str | None = None, model_path: str | None = None
    ) -> SamplingClient:
        """A sampling client over a base model or over saved sampler weights."""
        ...

    def get_tokenizer(self, base_model: str) -> Tokenizer:
        """The tokenizer of `base_model`, without creating a training client."""
        ...

    async def close(self) -> None:
        """Release the backend's resources."""
        ...


@runtime_checkable
class Rows(Protocol):
    """A lazy, re-iterable view of dataset rows; transforms return new views."""

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Stream the rows (never all in memory unless the adapter was asked to)."""
        ...

    def __len__(self) -> int:
        """Number of rows; adapters that cannot know raise `TypeError`."""
        ...

    def shuffle(self, seed: int) -> Rows:
        """The same rows in the order `shuffled_order(seed, len(self))`: position `i` holds
        the row at index `order[i]`, on every adapter, so switching stores keeps the order.
        Only a view with no length (a stream) may fall back to an approximate shuffle."""
        ...

    def take(self, n: int) -> Rows:
        """The first `n` rows."""
        ...

    def skip(self, n: int) -> Rows:
        """All rows after the first `n`."""
        ...

    def select(self, indices: Sequence[int]) -> Rows:
        """The rows at `indices`, in that order."""
        ...


@runtime_checkable
class DatasetStore(Protocol):
    """Opens datasets by reference.

    Synchronous on purpose: rows stream lazily, the way `datasets` and file readers
    already do, and loops consume them from one thread.
    """

    def open(self, ref: DatasetRef, split: str | None = None) -> Rows:
        """Rows of `split` (default `ref.split`) of the referenced dataset."""
        ...

    def splits(self, ref: DatasetRef) -> list[str]:
        """Split names the dataset offers."""
        ...


@runtime_checkable
class BlobStore(Protocol):
    """Keyed bytes. Keys are relative '/'-separated paths; '..' and absolute keys are rejected."""

    async def read(self, key: str) -> bytes:
        """The whole object; `StorageError` if absent."""
        ...

    def read_stream(self, key: str, *, chunk_size: int = 1 << 20) -> AsyncIterator[bytes]:
        """The object in chunks, for objects too large to hold."""
        ...

    async def write(self, key: str, data: bytes) -> None:
        """Write atomically: readers see the old object or the new one, never a part."""
        ...

    async def write_file(self, key: str, path: Path) -> None:
        """Upload a local file atomically (multipart where the store supports it)."""
        ...

    async def exists(self, key: str) -> bool:
        """Whether `key` holds an object."""
        ...

    async def list(self, prefix: str = "") -> list[str]:
        """Keys under `prefix`, sorted."""
        ...

    async def delete(self, key: str) -> None:
        """Remove `key`; deleting an absent key is not an error."""
        ...


@runtime_checkable
class HubClient(Protocol):
    """A model/dataset hub."""

    async def download(
        self, repo_id: str, filename: str, *, repo_type: str = "model", revision: str | None = None
    ) -> Path:
        """Local path of one file of a repo (downloaded or from the cache)."""
        ...

    async def snapshot(
        self, repo_id: str, *, repo_type: str = "model", revision: str | None = None
    ) -> Path:
        """Local directory holding the whole repo."""
        ...

    async def list_files(
        self, repo_id: str, *, repo_type: str = "model", revision: str | None = None
    ) -> list[str]:
        """Paths of the files in a repo."""
        ...


@runtime_checkable
class MetricsSink(Protocol):
    """Where a run's per-step metrics go besides `metrics.jsonl` (W&B, MLflow, a dashboard).

    A training stage calls `start` once with the run's training config, `log_metrics`
    once per step with the same row it appends to `metrics.jsonl`, and `close` at the
    end. Calls are quick (a sink queues and sends in the background); a sink that
    raises is reported and skipped, never failing the run.
    """

    def start(self, config: Mapping[str, Any]) -> None:
        """Begin a run described by `config` (the experiment's training section, as JSON)."""
        ...

    def log_metrics(self, metrics: Mapping[str, Any], step: int) -> None:
        """Record one step's metrics."""
        ...

    def close(self) -> None:
        """Flush and finish the run."""
        ...


@runtime_checkable
class EmbeddingClient(Protocol):
    """Text embeddings."""

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, all of the same dimension."""
        ...


@runtime_checkable
class ModelRegistry(Protocol):
    """Versions of trained models, their artifacts, lineage, stages and deployments.

    Errors: an unknown model, version or deployment raises `UnknownNameError` (a
    `ConfigError`) naming what is known; an invalid request (a stage move the
    lifecycle forbids, a parent that does not exist) raises `ConfigError`; storage
    failures raise `StorageError`. Every write is atomic: after a crash a registry
    holds the version (or stage change, or deployment) entirely or not at all.
    """

    async def register(self, registration: Registration) -> ModelVersion:
        """Add the next version of `registration.name` in stage `experiment`, storing its artifacts.

        Artifacts given by `path` are copied into the blob store with their SHA-256 and
        size; those given by `uri` are kept as references. Idempotent: when the model
        already has a version with the same config hash and the same artifact checksums,
        that version is returned unchanged and nothing new is written. The parent, if
        any, must already be registered.
        """
        ...

    async def get(self, name: str, version: VersionSelector = None) -> ModelVersion:
        """One version: by number, the newest in a stage (`"production"`), or the newest (None)."""
        ...

    async def list(self, name: str | None = None, *, stage: ModelStage | None = None) -> list[ModelVersion]:
        """Versions of `name` (or of every model), optionally only those in `stage`, by name then version."""
        ...

    async def promote(self, name: str, version: int, to: ModelStage, *, reason: str = "") -> ModelVersion:
        """Move a version to stage `to`, recording the change in its history.

        Allowed: forward along experiment -> staging -> production (skipping is fine),
        any stage -> archived, and archived -> staging or production. Moving into
        production archives the model's previous production version. Anything else
        (backwards, or to the stage it is in) is a `ConfigError`.
        """
        ...

    async def refuse_promotion(self, name: str, version: int, to: ModelStage, *, reason: str) -> ModelVersion:
        """Record in the version's history that a promotion to `to` was refused (a failed gate), moving nothing."""
        ...

    async def set_metrics(self, name: str, version: int, metrics: Mapping[str, float]) -> ModelVersion:
        """Merge `metrics` into a version's metrics (an evaluation after registration); returns the version."""
        ...

    async def compare(self, a: VersionRef, b: VersionRef) -> VersionComparison:
        """Two versions (of the same or different models) side by side: metrics, config and weights."""
        ...

    async def lineage(self, name: str, version: int) -> Lineage:
        """The version's ancestors (nearest first) and all its descendants."""
        ...

    async def add_artifacts(self, name: str, version: int, artifacts: Sequence[ArtifactSource]) -> ModelVersion:
        """Store more artifacts with an existing version (exports made from its weights).

        Names must be new to the version; giving an artifact it already has with the same
        checksum is a no-op (so a rerun is idempotent), with a different one a
        `ConfigError`. The version's identity (`config_hash`, `weights_sha256`) is unchanged.
        """
        ...

    async def fetch_artifact(self, name: str, version: int, artifact: str, dest: Path) -> Path:
        """Copy a stored artifact out of the blob store under the folder `dest`, checking its SHA-256.

        A folder artifact's files land under `dest` (which is returned); a single-file
        artifact lands at `dest / <its original file name>` (which is returned). An
        external artifact cannot be fetched: `ConfigError` naming its uri.
        """
        ...

    async def record_deployment(self, draft: DeploymentDraft) -> Deployment:
        """Record a deployment of versions of `draft.name`; the versions must exist.

        When a deployment becomes `active` (here or in `update_deployment`), every other
        active deployment on the same target becomes `terminated` in the same write: a
        target serves one deployment at a time.
        """
        ...

    async def get_deployment(self, deployment_id: str) -> Deployment:
        """One deployment by id."""
        ...

    async def list_deployments(
        self, name: str | None = None, *, target: str | None = None, status: DeploymentStatus | None = None
    ) -> builtins.list[Deployment]:
        """Deployments, optionally of one model, target or status, oldest first."""
        ...

    async def update_deployment(
        self,
        deployment_id: str,
        *,
        status: DeploymentStatus | None = None,
        health: HealthCheck | None = None,
        traffic: Sequence[TrafficSplit] | None = None,
        endpoint: str | None = None,
        detail: str | None = None,
    ) -> Deployment:
        """Change the given fields of a deployment (None leaves a field as it is)."""
        ...

    async def close(self) -> None:
        """Release connections; closing twice is a no-op."""


@runtime_checkable
class FeedbackStore(Protocol):
    """Inference events of served models, users' signals on them, and trigger records.

    The deploy endpoint logs an event per completion and accepts signals on them;
    `check_triggers` and `export_feedback` read them back. Writing a record whose id is
    already stored is a no-op when the record is the same and a `StorageError` when it
    differs. Reads return records in time order (oldest first, or newest first with
    `newest_first=True`, where `limit` then keeps the newest); `since` is strict.
    """

    async def log_event(self, event: InferenceEvent) -> None:
        """Store one inference event."""
        ...

    async def get_event(self, event_id: str) -> InferenceEvent | None:
        """The event with this id, or None."""
        ...

    async def add_signal(self, signal: FeedbackSignal) -> None:
        """Store one signal; `FeedbackEventNotFound` if its event is not in the store."""
        ...

    async def events(
        self,
        *,
        since: datetime | None = None,
        model: str | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[InferenceEvent]:
        """Events after `since`, of `model` if given, at most `limit`."""
        ...

    async def signals(
        self,
        *,
        since: datetime | None = None,
        event_id: str | None = None,
        kinds: Sequence[SignalKind] | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[FeedbackSignal]:
        """Signals after `since`, on `event_id` and of `kinds` if given, at most `limit`."""
        ...

    async def count(self, what: Literal["events", "signals"] = "events", *, since: datetime | None = None) -> int:
        """How many events (or signals) were stored after `since` (all when None)."""
        ...

    async def add_trigger(self, record: TriggerRecord) -> None:
        """Store one trigger evaluation."""
        ...

    async def triggers(
        self,
        *,
        name: str | None = None,
        fired: bool | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[TriggerRecord]:
        """Trigger records, of trigger `name` and with `fired` if given, at most `limit`."""
        ...

    async def close(self) -> None:
        """Release the store's resources. Closing twice is a no-op."""
        ...


@runtime_checkable
class WeightsExporter(Protocol):
    """Turns a trained checkpoint into files other tools load (peft, transformers, vLLM)."""

    async def export(
        self,
        checkpoint: str,
        dest: Path,
        *,
        formats: Sequence[ExportFormat] = ("peft_adapter", "merged"),
        base_model: str | None = None,
        dtype: str | None = None,
    ) -> ExportedWeights:
        """Write `checkpoint` as each of `formats` under `dest` (`dest/peft_adapter`, `dest/merged`).

        `checkpoint` is a path a training backend saved (sampler weights or a training
        state) or a PEFT adapter directory; `base_model` names the base when the
        checkpoint does not; `dtype` is the merged weights' dtype (default: the
        base's). Each directory is written whole or not at all, replacing an earlier
        export there. A checkpoint with no LoRA (rank 0) has no `peft_adapter`:
        asking for one is a `ConfigError`.
        """
        ...
