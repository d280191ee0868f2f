"""Named, deterministic fakes of every port, for tests, dry runs and benchmarks.

`FakeTrainingClient` models a backend honestly enough to test loops: requests are
queued and executed in submission order on a background task, each takes a
configurable simulated `server_time`, the loss falls as steps are taken, and state
can be saved and loaded (so resume is testable). Nothing here ships in a
production path: manifests reach these only through the `fake` adapter.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import math
import random
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from cookbook_runtime.atomic import atomic_write
from cookbook_runtime.errors import BackendError, ConfigError, StorageError
from cookbook_runtime.ir import DatasetRef
from cookbook_runtime.ports._protocols import CustomLossFn, Rows
from cookbook_runtime.ports._row_order import shuffled_order
from cookbook_runtime.storage_keys import validate_key
from cookbook_runtime.testing._registry import FakeModelRegistry
from cookbook_runtime.testing._states import FakeStates
from cookbook_runtime.testing._tokenizer import ByteTokenizer
from cookbook_runtime.types import (
    AdamParams,
    Datum,
    ForwardBackwardOutput,
    LossName,
    ModelInput,
    OptimStepOutput,
    PromptAltTokens,
    SampledSequence,
    SampleResult,
    SamplingParams,
    TensorData,
    TrainingInfo,
)

__all__ = [
    "FakeBlobStore",
    "FakeDatasetStore",
    "FakeEmbeddingClient",
    "FakeHubClient",
    "FakeMetricsSink",
    "FakeModelRegistry",
    "FakePending",
    "FakeRows",
    "FakeSamplingClient",
    "FakeServiceClient",
    "FakeStates",
    "FakeTrainingClient",
]

T = TypeVar("T")



class FakePending(Awaitable[T]):
    """A queued request's handle; `await h.result()` (or `await h`) gives its output."""

    def __init__(self, future: asyncio.Future[T]) -> None:
        self._future = future

    async def result(self) -> T:
        return await asyncio.shield(self._future)

    def __await__(self) -> Any:
        return self.result().__await__()

    def done(self) -> bool:
        return self._future.done()


class _Worker:
    """Runs queued callables one at a time, in submission order."""

    def __init__(self, server_time: float) -> None:
        self.server_time = server_time
        self.busy_seconds = 0.0
        self._queue: asyncio.Queue[tuple[Callable[[], Any], asyncio.Future[Any]]] | None = None
        self._task: asyncio.Task[None] | None = None

    def submit(self, fn: Callable[[], T]) -> FakePending[T]:
        loop = asyncio.get_running_loop()
        if self._queue is None or self._task is None or self._task.done():
            self._queue = asyncio.Queue()
            self._task = loop.create_task(self._loop())
        fut: asyncio.Future[T] = loop.create_future()
        self._queue.put_nowait((fn, fut))
        return FakePending(fut)

    async def _loop(self) -> None:
        assert self._queue is not None
        while True:
            fn, fut = await self._queue.get()
            start = time.perf_counter()
            if self.server_time:
                await asyncio.sleep(self.server_time)
            try:
                value = fn()
            except Exception as exc:
                if not fut.done():
                    fut.set_exception(exc)
            else:
                if not fut.done():
                    fut.set_result(value)
            self.busy_seconds += time.perf_counter() - start

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()


def _token_difficulty(token: int) -> float:
    return 1.0 + (token % 7) / 7.0


class FakeTrainingClient:
    """A deterministic stand-in for a training backend.

    Per-token NLL is `w * difficulty(token)`; `optim_step` shrinks `w` by an amount
    proportional to the learning rate and accumulated gradient, so the loss falls.
    `log` records every call (`("forward_backward", n_data)`, ...) in submission order;
    `completed` records execution order.
    """

    def __init__(
        self,
        base_model: str = "fake/model",
        rank: int = 32,
        *,
        server_time: float = 0.0,
        tokenizer: ByteTokenizer | None = None,
        state: Mapping[str, Any] | None = None,
        states: FakeStates | None = None,
    ) -> None:
        self.base_model = base_model
        self._states = FakeStates() if states is None else states
        self.rank = rank
        self._tokenizer = tokenizer or ByteTokenizer()
        self._worker = _Worker(server_time)
        self.w = 1.0
        self.step = 0
        self._grad = 0.0
        self._adam_m = 0.0
        if state is not None:
            self._apply_state(state, with_optimizer=True)
        self.log: list[tuple[str, Any]] = []
        self.completed: list[tuple[str, Any]] = []
        self.optim_params: list[AdamParams] = []
        self.closed = False

    @property
    def busy_seconds(self) -> float:
        return self._worker.busy_seconds

    def _submit(self, name: str, arg: Any, fn: Callable[[], T]) -> FakePending[T]:
        if self.closed:
            raise BackendError("training client is closed")
        self.log.append((name, arg))

        def run() -> T:
            value = fn()
            self.completed.append((name, arg))
            return value

        return self._worker.submit(run)

    def _logprobs(self, datum: Datum) -> list[float]:
        targets = datum.loss_fn_inputs.get("target_tokens")
        tokens = [int(t) for t in targets.data] if targets else datum.model_input.to_ints()
        return [-self.w * _token_difficulty(t) for t in tokens]

    def _forward(self, data: Sequence[Datum], accumulate: bool) -> ForwardBackwardOutput:
        outputs: list[dict[str, TensorData]] = []
        total_nll = 0.0
        total_w = 0.0
        grad = 0.0
        for datum in data:
            lps = self._logprobs(datum)
            weights = datum.weights()
            outputs.append({"logprobs": TensorData.from_list(lps, "float32")})
            for lp, wt in zip(lps, weights, strict=False):
                total_nll += -lp * wt
                total_w += wt
                grad += wt * (-lp / self.w if self.w else 0.0)
        if accumulate:
            self._grad += grad
        metrics = {"loss:sum": total_nll, "num_tokens:sum": float(sum(d.num_tokens for d in data))}
        return ForwardBackwardOutput(outputs, metrics)

    async def forward(self, data: Sequence[Datum], loss_fn: LossName = "cross_entropy") -> FakePending[ForwardBackwardOutput]:
        batch = list(data)
        return self._submit("forward", len(batch), lambda: self._forward(batch, accumulate=False))

    async def forward_backward(
        self, data: Sequence[Datum], loss_fn: LossName, loss_fn_config: Mapping[str, float] | None = None
    ) -> FakePending[ForwardBackwardOutput]:
        batch = list(data)
        return self._submit("forward_backward", len(batch), lambda: self._forward(batch, accumulate=True))

    async def forward_backward_custom(self, data: Sequence[Datum], loss_fn: CustomLossFn) -> FakePending[ForwardBackwardOutput]:
        batch = list(data)

        def run() -> ForwardBackwardOutput:
            out = self._forward(batch, accumulate=True)
            lps = [list(o["logprobs"].data) for o in out.loss_fn_outputs]
            loss, metrics = loss_fn(batch, lps)
            return ForwardBackwardOutput(out.loss_fn_outputs, {**metrics, "loss:sum": float(loss)})

        return self._submit("forward_backward_custom", len(batch), run)

    async def optim_step(self, params: AdamParams) -> FakePending[OptimStepOutput]:
        self.optim_params.append(params)

        def run() -> OptimStepOutput:
            grad = self._grad
            if params.grad_clip_norm and abs(grad) > params.grad_clip_norm:
                grad = math.copysign(params.grad_clip_norm, grad)
            self._adam_m = params.beta1 * self._adam_m + (1 - params.beta1) * grad
            self.w = max(0.05, self.w - params.learning_rate * 50.0 * math.tanh(self._adam_m))
            self.step += 1
            self._grad = 0.0
            return OptimStepOutput({"grad_norm:mean": abs(grad)})

        return self._submit("optim_step", params.learning_rate, run)

    def _state(self) -> dict[str, Any]:
        return {"w": self.w, "step": self.step, "adam_m": self._adam_m, "base_model": self.base_model, "rank": self.rank}

    def _apply_state(self, state: Mapping[str, Any], *, with_optimizer: bool) -> None:
        self.w = float(state["w"])
        self.step = int(state["step"])
        self._adam_m = float(state["adam_m"]) if with_optimizer else 0.0

    async def save_state(self, name: str) -> FakePending[str]:
        def run() -> str:
            path = f"fake://{self.base_model}/state/{name}"
            self._states.put(path, self._state())
            return path

        return self._submit("save_state", name, run)

    async def load_state(self, path: str, *, with_optimizer: bool = True) -> FakePending[None]:
        def run() -> None:
            if path not in self._states:
                raise BackendError(f"no saved state at {path!r}")
            self._apply_state(self._states[path], with_optimizer=with_optimizer)

        return self._submit("load_state", path, run)

    async def save_weights_for_sampler(self, name: str) -> FakePending[str]:
        def run() -> str:
            path = f"fake://{self.base_model}/sampler/{name}"
            self._states.put(path, self._state())
            return path

        return self._submit("save_weights_for_sampler", name, run)

    async def sampling_client(self, name: str | None = None) -> FakeSamplingClient:
        handle = await self.save_weights_for_sampler(name or f"step-{self.step}")
        path = await handle.result()
        return FakeSamplingClient(self._tokenizer, w=self._states[path]["w"])

    def tokenizer(self) -> ByteTokenizer:
        return self._tokenizer

    async def info(self) -> TrainingInfo:
        return TrainingInfo(base_model=self.base_model, lora_rank=self.rank, model_id=f"fake-{id(self)}")

    async def close(self) -> None:
        self.closed = True
        self._worker.close()


class FakeSamplingClient:
    """Samples deterministic text: a seeded walk over printable bytes, ending in eos."""

    def __init__(self, tokenizer: ByteTokenizer | None = None, *, w: float = 1.0) -> None:
        self._tokenizer = tokenizer or ByteTokenizer()
        self.w = w
        self.closed = False

    def _check_open(self) -> None:
        if self.closed:
            raise BackendError("sampling client is closed; create a new one")

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
        self._check_open()
        length = prompt.length
        if target_prompt_logprobs is not None:
            shape = target_prompt_logprobs.shape
            if target_prompt_logprobs.dtype != "int64" or len(shape) != 2 or shape[0] != length - 1:
                raise ConfigError(
                    f"target_prompt_logprobs is {target_prompt_logprobs.dtype} {list(shape)}; "
                    f"send int64 ids of shape [{length - 1}, K]"
                )
        seed_material = f"{params.seed}:{prompt.to_ints()}".encode()
        rng = random.Random(int.from_bytes(hashlib.sha256(seed_material).digest()[:8], "big"))
        limit = params.max_tokens or 16
        stop_ids = {s for s in (params.stop or []) if isinstance(s, int)}
        eos = self._tokenizer.eos_token_id
        sequences = []
        for _ in range(num_samples):
            tokens: list[int] = []
            reason = "length"
            while len(tokens) < limit:
                tok = eos if (eos is not None and rng.random() < 0.1) else rng.randint(97, 122)
                tokens.append(tok)  # type: ignore[arg-type]
                if tok == eos or tok in stop_ids:
                    reason = "stop"
                    break
            topk_rows = (
                [self._sampled_topk(t, topk_sample_logprobs) for t in tokens]
                if topk_sample_logprobs > 0
                else None
            )
            sequences.append(
                SampledSequence(tokens, [-self.w] * len(tokens), reason, topk_rows)  # type: ignore[arg-type]
            )
        prompt_lps = await self.compute_logprobs(prompt) if include_prompt_logprobs else None
        topk = self._topk(length, topk_prompt_logprobs) if topk_prompt_logprobs > 0 else None
        targets = None
        if target_prompt_logprobs is not None:
            values = tuple(
                0.0 if t < 0 else -self.w * _token_difficulty(int(t)) for t in target_prompt_logprobs.data
            )
            targets = TensorData(values, "float32", target_prompt_logprobs.shape)
        alts = self._alternatives(length, prompt_alt_tokens_k, params.seed) if prompt_alt_tokens_k > 0 else None
        return SampleResult(sequences, prompt_lps, topk, targets, alts)

    def _sampled_topk(self, token: int, k: int) -> list[tuple[int, float]]:
        """The sampled token (at its reported logprob, the fake's highest) then the fake's top others."""
        ranked = sorted(range(self._tokenizer.vocab_size), key=lambda t: (_token_difficulty(t), t))
        others = [(t, -self.w * _token_difficulty(t)) for t in ranked if t != token]
        return [(token, -self.w), *others[: k - 1]]

    def _alternatives(self, length: int, k: int, seed: int | None) -> PromptAltTokens:
        """Printable bytes drawn from a seeded stream, scored as `compute_logprobs` scores them."""
        rng = random.Random(f"alt:{seed}" if seed is not None else None)
        ids = tuple(rng.randint(97, 122) for _ in range((length - 1) * k))
        lps = tuple(-self.w * _token_difficulty(t) for t in ids)
        shape = (length - 1, k)
        return PromptAltTokens(TensorData(ids, "int64", shape), TensorData(lps, "float32", shape))

    def _topk(self, length: int, k: int) -> list[list[tuple[int, float]] | None]:
        """The fake's logprobs do not depend on context: every position has the same top k."""
        ranked = sorted(range(self._tokenizer.vocab_size), key=lambda t: (_token_difficulty(t), t))
        row = [(t, -self.w * _token_difficulty(t)) for t in ranked[:k]]
        return [None] + [list(row) for _ in range(length - 1)] if length else []

    async def compute_logprobs(self, prompt: ModelInput) -> list[float | None]:
        self._check_open()
        tokens = prompt.to_ints()
        return [None] + [-self.w * _token_difficulty(t) for t in tokens[1:]]

    def tokenizer(self) -> ByteTokenizer:
        return self._tokenizer

    async def close(self) -> None:
        self.closed = True


class FakeServiceClient:
    """Creates fake training and sampling clients; `server_time` simulates backend latency."""

    def __init__(
        self, *, server_time: float = 0.0, root: str | None = None, states: FakeStates | None = None
    ) -> None:
        self.server_time = server_time
        self.states = states if states is not None else FakeStates(root)
        """What this service's clients saved, by path: its own, kept in `root` when given (a
        later service on the same `root`, or given the same `states`, resumes from them)."""
        self.training_clients: list[FakeTrainingClient] = []
        self._tokenizer = ByteTokenizer()

    async def create_lora_training_client(
        self,
        base_model: str,
        *,
        rank: int = 32,
        seed: int | None = None,
        train_mlp: bool = True,
        train_attn: bool = True,
        train_unembed: bool = True,
    ) -> FakeTrainingClient:
        client = FakeTrainingClient(
            base_model, rank, server_time=self.server_time, tokenizer=self._tokenizer, states=self.states
        )
        self.training_clients.append(client)
        return client

    async def create_training_client_from_state(self, path: str, *, with_optimizer: bool = True) -> FakeTrainingClient:
        if path not in self.states:
            raise BackendError(f"no saved state at {path!r}")
        state = self.states[path]
        client = FakeTrainingClient(
            state["base_model"], state["rank"], server_time=self.server_time, tokenizer=self._tokenizer,
            states=self.states,
        )
        client._apply_state(state, with_optimizer=with_optimizer)
        self.training_clients.append(client)
        return client

    async def create_sampling_client(self, *, base_model: str | None = None, model_path: str | None = None) -> FakeSamplingClient:
        if model_path is not None:
            if model_path not in self.states:
                raise BackendError(f"no sampler weights at {model_path!r}")
            return FakeSamplingClient(self._tokenizer, w=self.states[model_path]["w"])
        return FakeSamplingClient(self._tokenizer)

    def get_tokenizer(self, base_model: str) -> ByteTokenizer:
        return self._tokenizer

    async def close(self) -> None:
        for client in self.training_clients:
            await client.close()


class FakeRows:
    """In-memory rows with lazy-looking transforms (the contract `Rows` promises)."""

    def __init__(self, rows: Sequence[dict[str, Any]]) -> None:
        self._rows = list(rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (copy.deepcopy(r) for r in self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def shuffle(self, seed: int) -> FakeRows:
        return FakeRows([self._rows[i] for i in shuffled_order(seed, len(self._rows))])

    def take(self, n: int) -> FakeRows:
        return FakeRows(self._rows[: max(n, 0)])

    def skip(self, n: int) -> FakeRows:
        return FakeRows(self._rows[max(n, 0) :])

    def select(self, indices: Sequence[int]) -> FakeRows:
        return FakeRows([self._rows[i] for i in indices])


class FakeDatasetStore:
    """Datasets held in memory: `{name: {split: rows}}`."""

    def __init__(self, datasets: Mapping[str, Mapping[str, Sequence[dict[str, Any]]]] | None = None) -> None:
        self.datasets: dict[str, dict[str, list[dict[str, Any]]]] = {
            name: {split: list(rows) for split, rows in splits.items()} for name, splits in (datasets or {}).items()
        }

    def add(self, name: str, split: str, rows: Sequence[dict[str, Any]]) -> None:
        self.datasets.setdefault(name, {})[split] = list(rows)

    def open(self, ref: DatasetRef, split: str | None = None) -> Rows:
        split = split or ref.split
        if ref.name not in self.datasets:
            raise StorageError(f"dataset {ref.name!r} not found (fake store holds {sorted(self.datasets)})")
        splits = self.datasets[ref.name]
        if split not in splits:
            raise StorageError(f"dataset {ref.name!r} has no split {split!r}; splits: {sorted(splits)}")
        return FakeRows(splits[split])

    def splits(self, ref: DatasetRef) -> list[str]:
        if ref.name not in self.datasets:
            raise StorageError(f"dataset {ref.name!r} not found")
        return sorted(self.datasets[ref.name])


class FakeBlobStore:
    """Blobs in a dict, with the same key rules as real stores."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    async def read(self, key: str) -> bytes:
        validate_key(key)
        if key not in self.objects:
            raise StorageError(f"no blob at key {key!r}")
        return self.objects[key]

    async def read_stream(self, key: str, *, chunk_size: int = 1 << 20) -> AsyncIterator[bytes]:
        data = await self.read(key)
        for i in range(0, len(data), chunk_size):
            yield data[i : i + chunk_size]

    async def write(self, key: str, data: bytes) -> None:
        validate_key(key)
        self.objects[key] = bytes(data)

    async def write_file(self, key: str, path: Path) -> None:
        await self.write(key, Path(path).read_bytes())

    async def exists(self, key: str) -> bool:
        validate_key(key)
        return key in self.objects

    async def list(self, prefix: str = "") -> list[str]:
        if prefix:
            validate_key(prefix.rstrip("/") or "x")
        return sorted(k for k in self.objects if k.startswith(prefix))

    async def delete(self, key: str) -> None:
        validate_key(key)
        self.objects.pop(key, None)


class FakeHubClient:
    """A hub of in-memory repos, materialised to a temporary directory on download."""

    def __init__(self, repos: Mapping[str, Mapping[str, bytes]] | None = None) -> None:
        self.repos = {name: dict(files) for name, files in (repos or {}).items()}
        self._root = Path(tempfile.mkdtemp(prefix="cookbook-fake-hub-"))

    def _repo(self, repo_id: str) -> dict[str, bytes]:
        if repo_id not in self.repos:
            raise StorageError(f"repo {repo_id!r} not found on the fake hub")
        return self.repos[repo_id]

    async def download(self, repo_id: str, filename: str, *, repo_type: str = "model", revision: str | None = None) -> Path:
        files = self._repo(repo_id)
        if filename not in files:
            raise StorageError(f"repo {repo_id!r} has no file {filename!r}")
        dest = self._root / repo_type / repo_id / filename
        atomic_write(dest, files[filename])
        return dest

    async def snapshot(self, repo_id: str, *, repo_type: str = "model", revision: str | None = None) -> Path:
        for name in self._repo(repo_id):
            await self.download(repo_id, name, repo_type=repo_type, revision=revision)
        return self._root / repo_type / repo_id

    async def list_files(self, repo_id: str, *, repo_type: str = "model", revision: str | None = None) -> list[str]:
        return sorted(self._repo(repo_id))


class FakeMetricsSink:
    """Keeps what a run sent it: `config`, `rows` as `(step, metrics)`, and whether it was closed."""

    def __init__(self) -> None:
        self.config: dict[str, Any] | None = None
        self.rows: list[tuple[int, dict[str, Any]]] = []
        self.closed = False

    def start(self, config: Mapping[str, Any]) -> None:
        self.config = dict(config)

    def log_metrics(self, metrics: Mapping[str, Any], step: int) -> None:
        self.rows.append((step, dict(metrics)))

    def close(self) -> None:
        self.closed = True


class FakeEmbeddingClient:
    """Deterministic unit vectors from a hash of each text."""

    def __init__(self, dim: int = 16) -> None:
        self.dim = dim

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        out = []
        for text in texts:
            digest = hashlib.sha256(text.encode()).digest()
            vec = [(digest[i % len(digest)] / 255.0) - 0.5 for i in range(self.dim)]
            norm = math.sqrt(sum(v * v for v in vec)) or 1.0
            out.append([v / norm for v in vec])
        return out
