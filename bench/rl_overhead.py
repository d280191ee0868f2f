"""How much wall time the sync RL loop adds on top of the backend's own work, beside tinker-cookbook's.

The backend is the runtime's fake (`FakeServiceClient(server_time=...)`) running on
its own thread with its own event loop, the way a remote service works apart from
the client: every training request takes a nominal `server_time` on the server,
requests run one at a time in submission order, and sampling calls take
`sample_time`. Both loops train the same token-level task (reward: the share of
sampled letters in the first half of the alphabet) for the same steps, groups and
group size, and are timed end to end. `wall / server busy` is the loop's overhead
factor: 1.0 would mean the backend never waited on the loop.

The two do different amounts of backend work for the same rollouts: our rollouts
sample a group's G answers to one prompt in one `sample(num_samples=G)` call,
tinker-cookbook's sample each env alone (G calls), so its server busy time is
larger. The ratio is each loop's wall time over its own backend work; the last
line compares wall times.

tinker-cookbook's `rl.train.main` runs unmodified; only its SDK entry points
(`tinker.ServiceClient`, `get_tokenizer`) are pointed at a thin shim that gives the
fake the SDK's async method names and types, as `sl_overhead.py` does.

    uv run python bench/rl_overhead.py [--steps 20] [--groups 8] [--group-size 4] [--server-time 0.02]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import threading
import time
from collections.abc import Awaitable, Sequence
from concurrent.futures import Future
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

from cookbook_runtime.ir import ModelRef, TrainingConfig
from cookbook_runtime.testing import ByteTokenizer, FakeServiceClient, FakeTrainingClient
from cookbook_runtime.train.metrics import JsonlMetricLogger
from cookbook_runtime.train.rl import (
    Env,
    EnvGroupBuilder,
    RLConfig,
    RLDataset,
    RLRun,
    StepResult,
    train_sync,
)
from cookbook_runtime.train.types import AdamParams, Datum, ModelInput, SamplingParams, TensorData

T = TypeVar("T")
TOKENIZER = ByteTokenizer()
EOS = TOKENIZER.eos_token_id
PROMPT = TOKENIZER.encode("Say some letters: ")
MAX_TOKENS = 12


def reward_of(tokens: Sequence[int]) -> float:
    letters = [t for t in tokens if 97 <= t <= 122]
    return sum(t <= 109 for t in letters) / len(letters) if letters else 0.0


class Backend:
    """A fake service on its own thread and event loop; calls return to the caller's loop."""

    def __init__(self, server_time: float, sample_time: float) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="fake-backend")
        self.thread.start()
        self.service = FakeServiceClient(server_time=server_time)
        self.sample_time = sample_time
        self.sample_calls = 0
        self._sampler_lock: asyncio.Lock | None = None

    async def call(self, coro: Awaitable[T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[arg-type]
        return await asyncio.wrap_future(future)

    async def sample(self, sampler: Any, prompt: ModelInput, n: int, params: SamplingParams) -> Any:
        async def run() -> Any:
            if self._sampler_lock is None:
                self._sampler_lock = asyncio.Lock()
            async with self._sampler_lock:  # one sampler: calls take turns, so busy time adds up
                await asyncio.sleep(self.sample_time)
                self.sample_calls += 1
                return await sampler.sample(prompt, n, params)

        return await self.call(run())

    def busy(self) -> float:
        training = sum(c.busy_seconds for c in self.service.training_clients)
        return training + self.sample_calls * self.sample_time

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.service.close(), self.loop).result(timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


# --- our side: the ports, forwarded to the backend thread -----------------------------


class _Pending:
    def __init__(self, backend: Backend, inner: Any) -> None:
        self.backend, self.inner = backend, inner

    async def result(self) -> Any:
        return await self.backend.call(self.inner.result())


class _Sampler:
    def __init__(self, backend: Backend, inner: Any) -> None:
        self.backend, self.inner = backend, inner

    async def sample(self, prompt: ModelInput, num_samples: int, params: SamplingParams) -> Any:
        return await self.backend.sample(self.inner, prompt, num_samples, params)

    async def compute_logprobs(self, prompt: ModelInput) -> list[float | None]:
        return await self.backend.call(self.inner.compute_logprobs(prompt))

    def tokenizer(self) -> ByteTokenizer:
        return TOKENIZER


class _Training:
    def __init__(self, backend: Backend, inner: FakeTrainingClient) -> None:
        self.backend, self.inner = backend, inner

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        async def forward(*args: Any, **kwargs: Any) -> Any:
            return _Pending(self.backend, await self.backend.call(method(*args, **kwargs)))

        return forward

    async def sampling_client(self, name: str | None = None) -> _Sampler:
        return _Sampler(self.backend, await self.backend.call(self.inner.sampling_client(name)))

    def tokenizer(self) -> ByteTokenizer:
        return TOKENIZER

    async def info(self) -> Any:
        return await self.inner.info()

    async def close(self) -> None:
        self.inner.closed = True


class _Service:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    async def create_lora_training_client(self, base_model: str, **kwargs: Any) -> _Training:
        inner = await self.backend.call(self.backend.service.create_lora_training_client(base_model))
        return _Training(self.backend, inner)

    async def create_sampling_client(self, **kwargs: Any) -> _Sampler:
        return _Sampler(self.backend, await self.backend.call(self.backend.service.create_sampling_client(**kwargs)))

    def get_tokenizer(self, base_model: str) -> ByteTokenizer:
        return TOKENIZER


class LettersEnv(Env):
    async def initial_observation(self) -> tuple[ModelInput, list[int]]:
        return ModelInput.from_ints(PROMPT), [EOS]  # type: ignore[list-item]

    async def step(self, action: list[int]) -> StepResult:
        return StepResult(reward_of(action), True, ModelInput.empty(), [EOS], {})  # type: ignore[list-item]


class LettersGroup(EnvGroupBuilder):
    def __init__(self, size: int) -> None:
        self.size = size

    async def make_envs(self) -> list[Env]:
        return [LettersEnv() for _ in range(self.size)]


class LettersDataset(RLDataset):
    def __init__(self, steps: int, groups: int, size: int) -> None:
        self.steps, self.groups, self.size = steps, groups, size

    def get_batch(self, index: int) -> list[EnvGroupBuilder]:
        return [LettersGroup(self.size) for _ in range(self.groups)]

    def __len__(self) -> int:
        return self.steps


async def ours(args: argparse.Namespace) -> tuple[float, float]:
    backend = Backend(args.server_time, args.sample_time)
    training = TrainingConfig(
        model=ModelRef(name="fake/model"), batch_size=args.groups, learning_rate=1e-3,
        lr_schedule="constant", save_every=0, eval_every=0,
    )
    with tempfile.TemporaryDirectory() as run_dir:
        run = RLRun(
            _Service(backend),  # type: ignore[arg-type]
            training,
            RLConfig(max_tokens=MAX_TOKENS, num_groups_to_log=0),
            LettersDataset(args.steps, args.groups, args.group_size),
            Path(run_dir),
            test_dataset=None,
            metric_logger=JsonlMetricLogger(Path(run_dir)),
            stage="bench",
        )
        start = time.perf_counter()
        await train_sync(run)
        wall = time.perf_counter() - start
    busy = backend.busy()
    backend.close()
    return wall, busy


# --- tinker-cookbook's side: the SDK's names over the same backend ---------------------------


class _TcFuture:
    def __init__(self, backend: Backend, pending: Any, convert: Any) -> None:
        self.backend, self.pending, self.convert = backend, pending, convert

    async def result_async(self) -> Any:
        return self.convert(await self.backend.call(self.pending.result()))


def _from_tinker(datum: Any) -> Datum:
    return Datum(
        ModelInput.from_ints(datum.model_input.to_ints()),
        {k: TensorData.from_list(list(v.data), v.dtype) for k, v in datum.loss_fn_inputs.items()},
    )


class _TcSampler:
    def __init__(self, backend: Backend, inner: Any) -> None:
        self.backend, self.inner = backend, inner

    async def sample_async(self, prompt: Any, num_samples: int, sampling_params: Any, **kwargs: Any) -> Any:
        import tinker

        params = SamplingParams(
            max_tokens=sampling_params.max_tokens, temperature=sampling_params.temperature,
            stop=list(sampling_params.stop or []) or None, seed=sampling_params.seed,
        )
        result = await self.backend.sample(self.inner, ModelInput.from_ints(prompt.to_ints()), num_samples, params)
        return tinker.SampleResponse(
            sequences=[
                tinker.SampledSequence(
                    stop_reason=s.stop_reason, sequence_id=str(i), _tokens_list=s.tokens, _logprobs_list=s.logprobs
                )
                for i, s in enumerate(result.sequences)
            ]
        )


class _TcTraining:
    def __init__(self, backend: Backend, inner: FakeTrainingClient) -> None:
        self.backend, self.inner = backend, inner

    async def forward_backward_async(self, data: list[Any], loss_fn: str, loss_fn_config: Any = None) -> _TcFuture:
        import tinker

        pending = await self.backend.call(self.inner.forward_backward([_from_tinker(d) for d in data], loss_fn))  # type: ignore[arg-type]

        def convert(out: Any) -> Any:
            outputs = [
                {"logprobs": tinker.TensorData(data=list(o["logprobs"].data), dtype="float32",
                                                shape=[len(o["logprobs"].data)])}
                for o in out.loss_fn_outputs
            ]
            return tinker.ForwardBackwardOutput(loss_fn_output_type=loss_fn, loss_fn_outputs=outputs, metrics=out.metrics)

        return _TcFuture(self.backend, pending, convert)

    async def optim_step_async(self, params: Any) -> _TcFuture:
        import tinker

        ours_params = AdamParams(learning_rate=params.learning_rate, beta1=params.beta1, beta2=params.beta2, eps=params.eps)
        pending = await self.backend.call(self.inner.optim_step(ours_params))
        return _TcFuture(self.backend, pending, lambda out: tinker.OptimStepResponse(metrics=out.metrics))

    async def save_weights_and_get_sampling_client_async(self, name: str | None = None, **kwargs: Any) -> _TcSampler:
        return _TcSampler(self.backend, await self.backend.call(self.inner.sampling_client(name)))

    async def save_state_async(self, name: str, ttl_seconds: Any = None) -> _TcFuture:
        pending = await self.backend.call(self.inner.save_state(name))
        return _TcFuture(self.backend, pending, lambda path: SimpleNamespace(path=path))

    async def save_weights_for_sampler_async(self, name: str, ttl_seconds: Any = None) -> _TcFuture:
        pending = await self.backend.call(self.inner.save_weights_for_sampler(name))
        return _TcFuture(self.backend, pending, lambda path: SimpleNamespace(path=path))

    def get_tokenizer(self) -> ByteTokenizer:
        return TOKENIZER


class _TcService:
    backend: Backend

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.backend = _TcService.backend

    async def create_lora_training_client_async(self, base_model: str, rank: int = 32, **kwargs: Any) -> _TcTraining:
        inner = await self.backend.call(self.backend.service.create_lora_training_client(base_model, rank=rank))
        return _TcTraining(self.backend, inner)


async def tinker_cookbook_loop(args: argparse.Namespace) -> tuple[float, float]:
    import tinker
    from tinker_cookbook.rl import train
    from tinker_cookbook.rl import types as tc

    class TcEnv(tc.Env):
        async def initial_observation(self) -> Any:
            return tinker.ModelInput.from_ints(PROMPT), [EOS]

        async def step(self, action: Any, *, extra: Any = None) -> Any:
            return tc.StepResult(reward_of(action), True, tinker.ModelInput.empty(), [EOS])

    class TcGroup(tc.EnvGroupBuilder):
        async def make_envs(self) -> Sequence[Any]:
            return [TcEnv() for _ in range(args.group_size)]

    class TcDataset(tc.RLDataset):
        def get_batch(self, index: int) -> Sequence[Any]:
            return [TcGroup() for _ in range(args.groups)]

        def __len__(self) -> int:
            return args.steps

    async def build() -> Any:
        return TcDataset(), None

    backend = Backend(args.server_time, args.sample_time)
    _TcService.backend = backend
    train.tinker.ServiceClient = _TcService  # type: ignore[attr-defined,misc]
    train.get_tokenizer = lambda name: TOKENIZER  # type: ignore[attr-defined,assignment,return-value]
    with tempfile.TemporaryDirectory() as log_path:
        config = train.Config(
            learning_rate=1e-3, dataset_builder=build, model_name="fake/model", recipe_name="bench",  # type: ignore[arg-type]
            max_tokens=MAX_TOKENS, log_path=log_path, eval_every=0, save_every=0, num_groups_to_log=0,
            rollout_json_export=False,
        )
        start = time.perf_counter()
        await train.main(config)
        wall = time.perf_counter() - start
    busy = backend.busy()
    backend.close()
    return wall, busy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--groups", type=int, default=8)
    parser.add_argument("--group-size", type=int, default=4)
    parser.add_argument("--server-time", type=float, default=0.02, help="Seconds per training request.")
    parser.add_argument("--sample-time", type=float, default=0.01, help="Seconds per sample call.")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    wall, busy = asyncio.run(ours(args))
    lines = [f"cookbook sync RL loop    : {args.steps} steps, wall {wall:.3f}s, server busy {busy:.3f}s, ratio {wall / busy:.3f}"]
    try:
        tc_wall, tc_busy = asyncio.run(tinker_cookbook_loop(args))
    except Exception as exc:  # best effort: say why it could not run
        lines.append(f"tinker-cookbook rl.train : not measured: {type(exc).__name__}: {exc}")
    else:
        lines.append(
            f"tinker-cookbook rl.train : {args.steps} steps, wall {tc_wall:.3f}s, server busy {tc_busy:.3f}s, "
            f"ratio {tc_wall / tc_busy:.3f}"
        )
        lines.append(f"wall time, tinker-cookbook / cookbook: {tc_wall / wall:.2f}x")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
