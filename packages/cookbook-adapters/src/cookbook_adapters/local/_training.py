"""`LocalTrainingClient`: one trainable model (LoRA or full) on this machine.

Every request runs on the client's single worker thread in submission order; the
async methods return as soon as the request is queued (see `_worker`). A batch is
checked on the calling thread, so a malformed `Datum` fails at the call, but its
tensors are built and copied to the device on the worker, never on the event loop.
Checkpoint names and directories are fixed when a save is queued, so a queued save
cannot be misnamed by steps that run before it.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from cookbook_runtime.errors import BackendError
from cookbook_runtime.ports import CustomLossFn
from cookbook_runtime.train.tokenizer import Tokenizer
from cookbook_runtime.train.types import (
    AdamParams,
    Datum,
    ForwardBackwardOutput,
    LossName,
    OptimStepOutput,
    TrainingInfo,
)
from safetensors.torch import load_file, save_file

from cookbook_adapters.local._batch import (
    Batch,
    Prepared,
    prepare,
    target_logprobs,
    to_batch,
    to_outputs,
)
from cookbook_adapters.local._checkpoints import SamplerMeta, StateMeta, read_state_meta
from cookbook_adapters.local._losses import REQUIRED_INPUTS, compute_loss
from cookbook_adapters.local._models import LoraSpec
from cookbook_adapters.local._paths import atomic_directory
from cookbook_adapters.local._sampling import LocalSamplingClient, snapshot_model
from cookbook_adapters.local._worker import LocalPending, Worker

__all__ = ["LocalTrainingClient"]

logger = logging.getLogger(__name__)

_TRAINABLE = "trainable.safetensors"
_OPTIMIZER = "optimizer.pt"

SamplerOpener = Callable[[str], Awaitable[LocalSamplingClient]]
SamplerTracker = Callable[[LocalSamplingClient], LocalSamplingClient]


class LocalTrainingClient:
    """Trains `model` (already LoRA-wrapped, or fully trainable when `spec.rank == 0`)."""

    def __init__(
        self,
        *,
        base_model: str,
        model: Any,
        tokenizer: Any,
        spec: LoraSpec,
        root: Path,
        open_sampler: SamplerOpener,
        track_sampler: SamplerTracker | None = None,
    ) -> None:
        self.base_model = base_model
        self.spec = spec
        self.model_id = f"local-{uuid.uuid4().hex[:12]}"
        self.step = 0
        self._model = model.eval()  # no dropout; gradients still flow
        self._tokenizer = tokenizer
        self._root = root
        self._open_sampler = open_sampler
        self._track_sampler = track_sampler or (lambda client: client)
        self.on_close: Callable[[LocalTrainingClient], None] | None = None
        self._params = [p for p in model.parameters() if p.requires_grad]
        self._named = {n: p for n, p in model.named_parameters() if p.requires_grad}
        self._device = next(model.parameters()).device
        self._optimizer: torch.optim.AdamW | None = None
        self._worker = Worker("cookbook-train")

    # -- forward / backward --------------------------------------------------------

    async def forward(
        self, data: Sequence[Datum], loss_fn: LossName = "cross_entropy"
    ) -> LocalPending[ForwardBackwardOutput]:
        prepared = prepare(data)
        return self._worker.submit(lambda: self._run_forward(self._tensors(prepared), loss_fn))

    async def forward_backward(
        self,
        data: Sequence[Datum],
        loss_fn: LossName,
        loss_fn_config: Mapping[str, float] | None = None,
    ) -> LocalPending[ForwardBackwardOutput]:
        prepared = prepare(data)
        config = dict(loss_fn_config or {})
        return self._worker.submit(
            lambda: self._run_forward_backward(self._tensors(prepared), loss_fn, config)
        )

    async def forward_backward_custom(
        self, data: Sequence[Datum], loss_fn: CustomLossFn
    ) -> LocalPending[ForwardBackwardOutput]:
        prepared = prepare(data)
        datums = list(data)
        return self._worker.submit(
            lambda: self._run_custom(datums, self._tensors(prepared), loss_fn)
        )

    def _tensors(self, prepared: Prepared) -> Batch:
        return to_batch(prepared, self._device)

    def _run_forward(self, batch: Batch, loss_fn: str) -> ForwardBackwardOutput:
        with torch.inference_mode():
            lp = target_logprobs(self._model, batch)
            needs = REQUIRED_INPUTS.get(loss_fn, ())
            has_inputs = all(k in batch.loss_inputs for k in needs)
            loss = compute_loss(loss_fn, lp, batch.loss_inputs) if has_inputs else None
        return ForwardBackwardOutput(
            to_outputs(lp, batch.lengths), self._metrics(loss, batch.lengths)
        )

    def _run_forward_backward(
        self, batch: Batch, loss_fn: str, config: dict[str, float]
    ) -> ForwardBackwardOutput:
        lp = target_logprobs(self._model, batch)
        loss = compute_loss(loss_fn, lp, batch.loss_inputs, config)
        torch.autograd.backward(loss)
        return ForwardBackwardOutput(
            to_outputs(lp, batch.lengths), self._metrics(loss, batch.lengths)
        )

    def _run_custom(
        self, data: list[Datum], batch: Batch, loss_fn: CustomLossFn
    ) -> ForwardBackwardOutput:
        lp = target_logprobs(self._model, batch)
        per_datum = [lp[i, :n] for i, n in enumerate(batch.lengths)]
        loss, metrics = loss_fn(data, per_datum)
        if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
            raise BackendError("a custom loss must return a scalar torch tensor as its first value")
        torch.autograd.backward(loss)
        out = self._metrics(loss, batch.lengths)
        out.update({k: float(v) for k, v in metrics.items()})
        return ForwardBackwardOutput(to_outputs(lp, batch.lengths), out)

    @staticmethod
    def _metrics(loss: torch.Tensor | None, lengths: Sequence[int]) -> dict[str, float]:
        metrics = {"num_tokens:sum": float(sum(lengths))}
        if loss is not None:
            metrics["loss:sum"] = float(loss.detach())
        return metrics

    # -- optimizer -------------------------------------------------------------------

    async def optim_step(self, params: AdamParams) -> LocalPending[OptimStepOutput]:
        return self._worker.submit(lambda: self._run_optim_step(params))

    def _make_optimizer(self) -> torch.optim.AdamW:
        return torch.optim.AdamW(self._params, lr=1e-4)

    def _run_optim_step(self, params: AdamParams) -> OptimStepOutput:
        if self._optimizer is None:
            self._optimizer = self._make_optimizer()
        for group in self._optimizer.param_groups:
            group["lr"] = params.learning_rate
            group["betas"] = (params.beta1, params.beta2)
            group["eps"] = params.eps
            group["weight_decay"] = params.weight_decay
        max_norm = params.grad_clip_norm if params.grad_clip_norm > 0 else math.inf
        norm = float(torch.nn.utils.clip_grad_norm_(self._params, max_norm))
        self._optimizer.step()
        self._optimizer.zero_grad(set_to_none=True)
        self.step += 1
        return OptimStepOutput({"grad_norm:mean": norm})

    # -- state -------------------------------------------------------------------------

    async def save_state(self, name: str) -> LocalPending[str]:
        dest = self._root / "states" / self.model_id / _safe_name(name)
        return self._worker.submit(lambda: self._run_save_state(dest))

    def _run_save_state(self, dest: Path) -> str:
        def fill(tmp: Path) -> None:
            tensors = {
                n: p.detach().to("cpu", copy=True).contiguous() for n, p in self._named.items()
            }
            save_file(tensors, str(tmp / _TRAINABLE))
            if self._optimizer is not None:
                torch.save(self._optimizer.state_dict(), tmp / _OPTIMIZER)
            StateMeta(
                base_model=self.base_model,
                rank=self.spec.rank,
                alpha=self.spec.alpha,
                train_attn=self.spec.train_attn,
                train_mlp=self.spec.train_mlp,
                train_unembed=self.spec.train_unembed,
                step=self.step,
                has_optimizer=self._optimizer is not None,
            ).write(tmp)

        return str(atomic_directory(dest, fill, replace=True).resolve())

    async def load_state(self, path: str, *, with_optimizer: bool = True) -> LocalPending[None]:
        return self._worker.submit(lambda: self.load_state_now(path, with_optimizer=with_optimizer))

    def load_state_now(self, path: str, *, with_optimizer: bool = True) -> None:
        """Load a saved state on the calling thread (used before the client is shared)."""
        meta = read_state_meta(path)
        if meta.base_model != self.base_model or meta.rank != self.spec.rank:
            raise BackendError(
                f"state at {path!r} is for {meta.base_model!r} rank {meta.rank}, "
                f"not {self.base_model!r} rank {self.spec.rank}; create the client from the state instead"
            )
        tensors = load_file(str(Path(path) / _TRAINABLE))
        missing = sorted(set(self._named) - set(tensors))
        if missing:
            raise BackendError(
                f"state at {path!r} lacks {len(missing)} trainable tensors (e.g. {missing[0]!r})"
            )
        with torch.no_grad():
            for n, p in self._named.items():
                p.copy_(tensors[n])
        self._optimizer = None
        opt_file = Path(path) / _OPTIMIZER
        if with_optimizer and opt_file.exists():
            self._optimizer = self._make_optimizer()
            self._optimizer.load_state_dict(
                torch.load(opt_file, map_location=self._device, weights_only=True)
            )
        self.step = meta.step

    async def save_weights_for_sampler(self, name: str) -> LocalPending[str]:
        dest = self._root / "samplers" / self.model_id / _safe_name(name)
        return self._worker.submit(lambda: self._run_save_sampler(dest))

    def _run_save_sampler(self, dest: Path) -> str:
        def fill(tmp: Path) -> None:
            if self.spec.rank == 0:
                self._model.save_pretrained(tmp, safe_serialization=True)
                self._tokenizer.save_pretrained(tmp)
            else:  # LoRA factors only; the base weights stay where the base model is
                self._model.save_pretrained(
                    tmp, safe_serialization=True, save_embedding_layers=False
                )
            SamplerMeta(base_model=self.base_model, rank=self.spec.rank).write(tmp)

        return str(atomic_directory(dest, fill, replace=True).resolve())

    async def sampling_client(self, name: str | None = None) -> LocalSamplingClient:
        """A sampler over the weights as of this call's place in the queue, without touching disk.

        The snapshot copies only the trainable tensors (see `snapshot_model`), so an RL
        iteration's refresh costs a LoRA-sized copy; `save_weights_for_sampler` is the
        persistent path for `sample` and export.
        """
        handle = self._worker.submit(lambda: snapshot_model(self._model))
        model = await handle.result()
        return self._track_sampler(LocalSamplingClient(model, self._tokenizer))

    # -- description -----------------------------------------------------------------

    def tokenizer(self) -> Tokenizer:
        tok: Tokenizer = self._tokenizer
        return tok

    async def info(self) -> TrainingInfo:
        return TrainingInfo(
            base_model=self.base_model,
            lora_rank=self.spec.rank,
            model_id=self.model_id,
            tokenizer_id=self.base_model,
        )

    async def close(self) -> None:
        self._worker.close()
        if self.on_close is not None:
            self.on_close(self)
            self.on_close = None


def _safe_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip(".")
    if not cleaned:
        raise BackendError(
            f"checkpoint name {name!r} has no usable characters; use letters, digits, '-', '_'"
        )
    return cleaned
