"""How much wall time a supervised loop adds on top of the backend's own work, beside tinker-cookbook's.

The backend is a Tinker-like training service on its own thread with its own event
loop, apart from the client's loop as a remote service is: requests run one at a
time in submission order, and each takes a configured nominal time on the server
(`forward_backward` `--fb-ms`, `optim_step` `--optim-ms`, a checkpoint save
`--save-ms`). A request's result is released when its nominal work is done, counted
from when the server is free to start it (the later of its arrival and the previous
request's end), so the server's own timer overshoot never adds up while it has work
queued. Busy time is the sum of the nominal times of the requests served, not a
measurement: `wall / busy` is 1.0 for a loop that never lets the server idle, and
every millisecond the server waits for the client shows up above it.

Both loops run against the same fake in the same run, on the same conversations
rendered by the same renderer inside each loop's data path:

- ours: the cookbook supervised loop (`train_supervised`) through its
  `ServiceClient`/`TrainingClient` ports, forwarded to the server thread;
- tinker-cookbook's `supervised.train.main`, unmodified; only its SDK entry points
  (`tinker.ServiceClient` and the hub tokenizer loader `get_tokenizer`) are pointed at
  a shim that gives the same fake the SDK's async method names and types.

A last line per setting injects 40 ms of client-side blocking per step into our loop
(`time.sleep` in its `on_step` hook, on the client's event loop): the server keeps
running on its own thread, so the ratio rises to about `max(1, (40 ms + the loop's own
time) / busy per step)` when a step's busy time is shorter than that, and stays near
1.0 when the pipeline hides it. That line shows the yardstick sees client overhead.

    uv run python bench/sl_overhead.py [--steps 100] [--fb-ms 200 20] [--optim-ms 2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import logging
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

from cookbook_runtime.ir import DatasetRef, ModelRef, TrainingConfig
from cookbook_runtime.testing import ByteTokenizer, FakeDatasetStore, FakeServiceClient
from cookbook_runtime.train.data import SupervisedDataset
from cookbook_runtime.train.datum import conversation_to_datum
from cookbook_runtime.train.loops.supervised import StepHook, train_supervised
from cookbook_runtime.train.metrics import JsonlMetricLogger
from cookbook_runtime.train.renderers import get_renderer
from cookbook_runtime.types import AdamParams, Datum, ModelInput, TensorData

T = TypeVar("T")
TOKENIZER = ByteTokenizer()
RENDERER = get_renderer("qwen3_instruct", TOKENIZER)
BLOCK_S = 0.040
TARGETS = {200.0: 1.02, 20.0: 2.5}


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


# --- the fake service, on its own thread ----------------------------------------------


class Server:
    """A fake training service on its own thread and event loop, charging nominal time per request.

    The runtime's `FakeTrainingClient` does the bookkeeping (loss, steps, saved
    states) at once and in order; this class holds each result back until the
    request's nominal work is done on a serial timeline, and sums that work.
    """

    def __init__(self, nominal: dict[str, float]) -> None:
        self.nominal = nominal
        self.busy = 0.0
        self.served: dict[str, int] = {}
        self._free_at = 0.0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="fake-server")
        self.thread.start()
        self.service = FakeServiceClient()  # server_time 0: the timing is charged here

    async def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the server's loop; the caller's loop waits without blocking."""
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return await asyncio.wrap_future(future)

    async def request(self, kind: str, queue: Callable[[], Awaitable[Any]]) -> Callable[[], Coroutine[Any, Any, Any]]:
        """Queue one request (on the server's loop); returns how to wait for its result there."""
        pending = await queue()
        cost = self.nominal.get(kind, 0.0)
        start = max(self.loop.time(), self._free_at)
        self._free_at = done_at = start + cost
        self.busy += cost
        self.served[kind] = self.served.get(kind, 0) + 1

        async def result() -> Any:
            value = await pending.result()
            delay = done_at - self.loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            return value

        return result

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.service.close(), self.loop).result(timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


# --- our side: the ports, forwarded to the server thread -------------------------------


class _Pending:
    def __init__(self, server: Server, result: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        self.server, self._result = server, result

    async def result(self) -> Any:
        return await self.server.call(self._result())


class _Training:
    """The `TrainingClient` port over the server's fake client."""

    def __init__(self, server: Server, inner: Any) -> None:
        self.server, self.inner = server, inner

    async def _request(self, kind: str, queue: Callable[[], Awaitable[Any]]) -> _Pending:
        return _Pending(self.server, await self.server.call(self.server.request(kind, queue)))

    async def forward_backward(self, data: list[Datum], loss_fn: str, loss_fn_config: Any = None) -> _Pending:
        return await self._request("forward_backward", lambda: self.inner.forward_backward(data, loss_fn))

    async def optim_step(self, params: AdamParams) -> _Pending:
        return await self._request("optim_step", lambda: self.inner.optim_step(params))

    async def save_state(self, name: str) -> _Pending:
        return await self._request("save", lambda: self.inner.save_state(name))

    async def save_weights_for_sampler(self, name: str) -> _Pending:
        return await self._request("save", lambda: self.inner.save_weights_for_sampler(name))

    def tokenizer(self) -> ByteTokenizer:
        return TOKENIZER

    async def info(self) -> Any:
        return await self.server.call(self.inner.info())

    async def close(self) -> None:
        return None  # the server closes its clients


class _Service:
    def __init__(self, server: Server) -> None:
        self.server = server

    async def create_lora_training_client(self, base_model: str, **kwargs: Any) -> _Training:
        inner = await self.server.call(self.server.service.create_lora_training_client(base_model))
        return _Training(self.server, inner)

    def get_tokenizer(self, base_model: str) -> ByteTokenizer:
        return TOKENIZER


async def ours(server: Server, steps: int, batch_size: int, on_step: StepHook | None = None) -> float:
    store = FakeDatasetStore({"bench": {"train": rows(steps * batch_size)}})
    ref = DatasetRef(name="bench")
    dataset = SupervisedDataset(store.open(ref), to_datum, batch_size=batch_size, name="bench")
    training = TrainingConfig(
        model=ModelRef(name="fake/model"), dataset=ref, batch_size=batch_size, save_every=0, eval_every=0
    )
    with tempfile.TemporaryDirectory() as run_dir:
        start = time.perf_counter()
        await train_supervised(
            _Service(server),  # type: ignore[arg-type]
            training,
            dataset,
            Path(run_dir),
            metric_logger=JsonlMetricLogger(Path(run_dir)),
            on_step=on_step,
        )
        return time.perf_counter() - start


# --- tinker-cookbook's side: the SDK's names over the same server ----------------------


class _TcFuture:
    def __init__(self, server: Server, result: Callable[[], Coroutine[Any, Any, Any]], convert: Callable[[Any], Any]) -> None:
        self.server, self._result, self._convert = server, result, convert

    async def result_async(self) -> Any:
        async def converted() -> Any:  # converted on the server's thread, as a server would
            return self._convert(await self._result())

        return await self.server.call(converted())


def _from_tinker(datum: Any) -> Datum:
    return Datum(
        ModelInput.from_ints(datum.model_input.to_ints()),
        {k: TensorData.from_list(list(v.data), v.dtype) for k, v in datum.loss_fn_inputs.items()},
    )


def _fb_output(out: Any) -> Any:
    import tinker

    outputs = [
        {"logprobs": tinker.TensorData(data=list(o["logprobs"].data), dtype="float32", shape=[len(o["logprobs"].data)])}
        for o in out.loss_fn_outputs
    ]
    return tinker.ForwardBackwardOutput(loss_fn_output_type="cross_entropy", loss_fn_outputs=outputs, metrics=out.metrics)


class _TcTraining:
    def __init__(self, server: Server, inner: Any) -> None:
        self.server, self.inner = server, inner

    async def _request(self, kind: str, queue: Callable[[], Awaitable[Any]], convert: Callable[[Any], Any]) -> _TcFuture:
        return _TcFuture(self.server, await self.server.call(self.server.request(kind, queue)), convert)

    async def forward_backward_async(self, data: list[Any], loss_fn: str, loss_fn_config: Any = None) -> _TcFuture:
        async def queue() -> Any:  # the request body is decoded on the server's thread
            return await self.inner.forward_backward([_from_tinker(d) for d in data], "cross_entropy")

        return await self._request("forward_backward", queue, _fb_output)

    async def optim_step_async(self, params: Any) -> _TcFuture:
        import tinker

        ours_params = AdamParams(learning_rate=params.learning_rate, beta1=params.beta1, beta2=params.beta2, eps=params.eps)
        return await self._request(
            "optim_step", lambda: self.inner.optim_step(ours_params), lambda out: tinker.OptimStepResponse(metrics=out.metrics)
        )

    async def save_state_async(self, name: str, ttl_seconds: Any = None) -> _TcFuture:
        return await self._request("save", lambda: self.inner.save_state(name), lambda path: SimpleNamespace(path=path))

    async def save_weights_for_sampler_async(self, name: str, ttl_seconds: Any = None) -> _TcFuture:
        return await self._request(
            "save", lambda: self.inner.save_weights_for_sampler(name), lambda path: SimpleNamespace(path=path)
        )


class _TcService:
    server: Server

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.server = _TcService.server

    async def create_lora_training_client_async(self, base_model: str, rank: int = 32, **kwargs: Any) -> _TcTraining:
        inner = await self.server.call(self.server.service.create_lora_training_client(base_model, rank=rank))
        return _TcTraining(self.server, inner)


async def tinker_cookbook(server: Server, steps: int, batch_size: int) -> float:
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
            return [to_tinker(r["messages"]) for r in all_rows[index * batch_size : (index + 1) * batch_size]]

        def __len__(self) -> int:
            return steps

        def set_epoch(self, seed: int = 0) -> None:
            return None

    _TcService.server = server
    train.tinker.ServiceClient = _TcService  # type: ignore[attr-defined,misc]
    train.get_tokenizer = lambda name: TOKENIZER  # type: ignore[attr-defined,assignment,return-value]
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
    logging.getLogger().handlers.clear()  # main configured console logging; keep our lines alone
    return wall


# --- the runs --------------------------------------------------------------------------


def ratio(run: Callable[[Server], Coroutine[Any, Any, float]], nominal: dict[str, float]) -> tuple[float, Server]:
    server = Server(nominal)
    try:
        wall = asyncio.run(run(server))
    finally:
        server.close()
    return wall / server.busy, server


def setting(fb_ms: float, args: argparse.Namespace) -> list[str]:
    nominal = {"forward_backward": fb_ms / 1000, "optim_step": args.optim_ms / 1000, "save": args.save_ms / 1000}
    ours_ratio, server = ratio(lambda s: ours(s, args.steps, args.batch_size), nominal)
    step_busy = server.busy / args.steps
    console = io.StringIO()  # tinker-cookbook's console logging and tables
    with contextlib.redirect_stdout(console), contextlib.redirect_stderr(console):
        tc_ratio, _ = ratio(lambda s: tinker_cookbook(s, args.steps, args.batch_size), nominal)
    blocked, _ = ratio(lambda s: ours(s, args.steps, args.batch_size, lambda *_: time.sleep(BLOCK_S)), nominal)
    target = TARGETS.get(fb_ms)
    verdict = "" if target is None else f"   (target ours <= {target}: {'ok' if ours_ratio <= target else 'MISSED'})"
    head = f"fb {fb_ms:g} ms, optim {args.optim_ms:g} ms, {args.steps} steps x {args.batch_size} rows:"
    block_ms, busy_ms = BLOCK_S * 1000, step_busy * 1000
    if step_busy > BLOCK_S:
        expected = f"about 1.00 expected: the next step's {busy_ms:.0f} ms of queued work hides {block_ms:.0f} ms"
    else:
        expected = f"at least {BLOCK_S / step_busy:.2f} expected: {block_ms:.0f} ms of blocking vs {busy_ms:.0f} ms of work per step"
    return [
        f"{head} ours: wall/busy = {ours_ratio:.2f}   tinker-cookbook: wall/busy = {tc_ratio:.2f}{verdict}",
        f"{head} ours + {block_ms:.0f} ms client blocking per step: wall/busy = {blocked:.2f}   ({expected})",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--fb-ms", type=float, nargs="+", default=[200.0, 20.0], help="nominal forward_backward times")
    parser.add_argument("--optim-ms", type=float, default=2.0, help="nominal optim_step time")
    parser.add_argument("--save-ms", type=float, default=2.0, help="nominal time of a checkpoint save")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    lines = [line for fb_ms in args.fb_ms for line in setting(fb_ms, args)]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
