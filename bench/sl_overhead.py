"""How much wall time the supervised loop adds on top of the backend's own work.

A simulated backend (`FakeServiceClient(server_time=...)`) spends a fixed time on
every request and runs requests one at a time in submission order, as Tinker does.
A perfectly pipelined loop keeps it busy all the time, so `loop wall time / server
busy time` is 1.0; each step the loop lets the server idle shows up above that.
Target: <= 1.02 over 100 steps. (Busy time is measured by the fake around each
request, so it includes the fake's own timer overshoot; a loop that hogs the event
loop inflates both sides, which the comparison shares.)

For comparison, tinker-cookbook's own supervised loop (`supervised.train.main`) is
driven against the same simulated backend through a thin shim that gives the fake
the tinker SDK's async method names. Both loops get the same conversations,
rendered by the same renderer inside the loop's data path.

    uv run python bench/sl_overhead.py [--steps 100] [--server-time 0.02] [--batch-size 8]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from cookbook_runtime.ir import DatasetRef, ModelRef, TrainingConfig
from cookbook_runtime.testing import (
    ByteTokenizer,
    FakeDatasetStore,
    FakeServiceClient,
    FakeTrainingClient,
)
from cookbook_runtime.train.data import SupervisedDataset
from cookbook_runtime.train.datum import conversation_to_datum
from cookbook_runtime.train.loops.supervised import train_supervised
from cookbook_runtime.train.metrics import JsonlMetricLogger
from cookbook_runtime.train.renderers import get_renderer
from cookbook_runtime.train.types import AdamParams, Datum, ModelInput, TensorData

TOKENIZER = ByteTokenizer()
RENDERER = get_renderer("qwen3_instruct", TOKENIZER)


def rows(n: int) -> list[dict[str, Any]]:
    return [
        {
            "messages": [
                {"role": "user", "content": f"Question {i}: what is {i} + {i % 7}?"},
                {"role": "assistant", "content": f"{i} + {i % 7} = {i + i % 7}"},
            ]
        }
        for i in range(n)
    ]


def to_datum(messages: list[dict[str, Any]]) -> Datum:
    return conversation_to_datum(messages, RENDERER, 512)  # type: ignore[arg-type]


def busy(service: FakeServiceClient) -> float:
    return sum(c.busy_seconds for c in service.training_clients)


async def ours(
    steps: int, server_time: float, batch_size: int, lookahead: int
) -> tuple[float, float]:
    service = FakeServiceClient(server_time=server_time)
    store = FakeDatasetStore({"bench": {"train": rows(steps * batch_size)}})
    ref = DatasetRef(name="bench")
    dataset = SupervisedDataset(store.open(ref), to_datum, batch_size=batch_size, name="bench")
    training = TrainingConfig(
        model=ModelRef(name="fake/model"),
        dataset=ref,
        batch_size=batch_size,
        save_every=0,
        eval_every=0,
    )
    with tempfile.TemporaryDirectory() as run_dir:
        start = time.perf_counter()
        await train_supervised(
            service,
            training,
            dataset,
            Path(run_dir),
            metric_logger=JsonlMetricLogger(Path(run_dir)),
            lookahead=lookahead,
        )
        wall = time.perf_counter() - start
    return wall, busy(service)


# --- tinker-cookbook's loop on the same fake ------------------------------------------


class _Future:
    """tinker's `APIFuture` surface over a fake pending request."""

    def __init__(self, pending: Any, convert: Any) -> None:
        self._pending = pending
        self._convert = convert

    async def result_async(self) -> Any:
        return self._convert(await self._pending.result())


def _to_ours(datum: Any) -> Datum:
    return Datum(
        ModelInput.from_ints(datum.model_input.to_ints()),
        {k: TensorData.from_list(list(v.data), v.dtype) for k, v in datum.loss_fn_inputs.items()},
    )


class _TinkerTrainingClient:
    def __init__(self, inner: FakeTrainingClient) -> None:
        self.inner = inner

    async def forward_backward_async(
        self, data: list[Any], loss_fn: str, loss_fn_config: Any = None
    ) -> _Future:
        import tinker

        pending = await self.inner.forward_backward([_to_ours(d) for d in data], "cross_entropy")

        def convert(out: Any) -> Any:
            outputs = [
                {
                    "logprobs": tinker.TensorData(
                        data=list(o["logprobs"].data),
                        dtype="float32",
                        shape=[len(o["logprobs"].data)],
                    )
                }
                for o in out.loss_fn_outputs
            ]
            return tinker.ForwardBackwardOutput(
                loss_fn_output_type="cross_entropy", loss_fn_outputs=outputs, metrics=out.metrics
            )

        return _Future(pending, convert)

    async def optim_step_async(self, params: Any) -> _Future:
        import tinker

        ours_params = AdamParams(
            learning_rate=params.learning_rate,
            beta1=params.beta1,
            beta2=params.beta2,
            eps=params.eps,
        )
        pending = await self.inner.optim_step(ours_params)
        return _Future(pending, lambda out: tinker.OptimStepResponse(metrics=out.metrics))

    async def save_state_async(self, name: str, ttl_seconds: Any = None) -> _Future:
        return _Future(await self.inner.save_state(name), lambda path: SimpleNamespace(path=path))

    async def save_weights_for_sampler_async(self, name: str, ttl_seconds: Any = None) -> _Future:
        return _Future(
            await self.inner.save_weights_for_sampler(name), lambda path: SimpleNamespace(path=path)
        )


class _TinkerServiceClient:
    fake: FakeServiceClient

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.fake = _TinkerServiceClient.fake

    async def create_lora_training_client_async(
        self, base_model: str, rank: int = 32, **kwargs: Any
    ) -> Any:
        return _TinkerTrainingClient(
            await self.fake.create_lora_training_client(base_model, rank=rank)
        )


async def tinker_cookbook_loop(
    steps: int, server_time: float, batch_size: int
) -> tuple[float, float]:
    import tinker
    from tinker_cookbook.supervised import train
    from tinker_cookbook.supervised.types import SupervisedDataset as TcDataset

    def to_tinker(messages: list[dict[str, Any]]) -> Any:
        d = to_datum(messages)
        return tinker.Datum(
            model_input=tinker.ModelInput.from_ints(d.model_input.to_ints()),
            loss_fn_inputs={
                k: tinker.TensorData(data=list(v.data), dtype=v.dtype, shape=list(v.shape))
                for k, v in d.loss_fn_inputs.items()
            },
        )

    all_rows = rows(steps * batch_size)

    class Dataset(TcDataset):
        def get_batch(self, index: int) -> list[Any]:
            chunk = all_rows[index * batch_size : (index + 1) * batch_size]
            return [to_tinker(r["messages"]) for r in chunk]

        def __len__(self) -> int:
            return steps

        def set_epoch(self, seed: int = 0) -> None:
            return None

    service = FakeServiceClient(server_time=server_time)
    _TinkerServiceClient.fake = service
    train.tinker.ServiceClient = _TinkerServiceClient  # type: ignore[attr-defined,misc]
    train.get_tokenizer = lambda name: TOKENIZER  # type: ignore[attr-defined,assignment,return-value]
    train.colorize_example = lambda *a, **k: ""  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory() as log_path:
        config = train.Config(
            log_path=log_path,
            model_name="fake/model",
            recipe_name="bench",
            dataset_builder=lambda: (Dataset(), None),  # type: ignore[arg-type]
            save_every=0,
            eval_every=0,
            infrequent_eval_every=0,
        )
        start = time.perf_counter()
        await train.main(config)
        wall = time.perf_counter() - start
    return wall, busy(service)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument(
        "--server-time", type=float, default=0.02, help="Seconds the backend spends per request."
    )
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lookahead", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    wall, server = asyncio.run(ours(args.steps, args.server_time, args.batch_size, args.lookahead))
    lines = [
        f"cookbook supervised loop : {args.steps} steps, wall {wall:.3f}s, server busy {server:.3f}s, "
        f"ratio {wall / server:.4f} (target <= 1.02)"
    ]
    try:
        wall, server = asyncio.run(
            tinker_cookbook_loop(args.steps, args.server_time, args.batch_size)
        )
    except Exception as exc:  # the comparison is best-effort: report why it could not run
        lines.append(f"tinker-cookbook loop     : not measured: {type(exc).__name__}: {exc}")
    else:
        lines.append(
            f"tinker-cookbook loop     : {args.steps} steps, wall {wall:.3f}s, server busy {server:.3f}s, "
            f"ratio {wall / server:.4f}"
        )
    print("\n".join(lines))  # after tinker-cookbook's own console logging


if __name__ == "__main__":
    main()
