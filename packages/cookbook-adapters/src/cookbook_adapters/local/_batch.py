"""Turn a list of `Datum`s into padded tensors, and per-token logprobs back into outputs.

Two phases: `prepare` checks the data and pulls out plain lists on the caller's
thread (so a malformed `Datum` fails at the call), and `to_batch` builds tensors
and copies them to the device on the client's worker thread, never on the event
loop. Tensors are built with whole-sequence constructors (no per-token Python
loops): this runs once per `forward_backward` and sits on the hot path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from cookbook_runtime.errors import DataError
from cookbook_runtime.train.types import Datum, ModelInput, TensorData
from torch.nn.utils.rnn import pad_sequence

__all__ = ["Batch", "Prepared", "make_batch", "prepare", "target_logprobs", "to_batch", "to_outputs"]


@dataclass(frozen=True)
class Batch:
    """Right-padded inputs, targets and loss inputs, `[batch, time]`."""

    input_ids: torch.Tensor
    targets: torch.Tensor
    mask: torch.Tensor
    lengths: list[int]
    loss_inputs: dict[str, torch.Tensor]

    @property
    def attention_mask(self) -> torch.Tensor | None:
        """None when no row is padded, so attention can take its causal fast path."""
        return None if min(self.lengths) == self.input_ids.shape[1] else self.mask.long()


def _ids(model_input: ModelInput, index: int) -> list[int]:
    try:
        return model_input.to_ints()
    except ValueError:
        raise DataError(
            f"datum {index} holds an image chunk; the local engine is text-only"
        ) from None


@dataclass(frozen=True)
class Prepared:
    """A checked batch as plain lists: input ids, targets and float loss inputs per datum."""

    inputs: list[list[int]]
    targets: list[list[int]]
    extras: dict[str, list[list[float]]]


def prepare(data: Sequence[Datum]) -> Prepared:
    """Check `data` and extract its lists; raises `DataError` naming a bad datum."""
    if not data:
        raise DataError("forward/backward got an empty batch; pass at least one Datum")
    inputs: list[list[int]] = []
    targets: list[list[int]] = []
    extras: dict[str, list[list[float]]] = {}
    for i, datum in enumerate(data):
        ids = _ids(datum.model_input, i)
        if not ids:
            raise DataError(f"datum {i} has an empty model_input")
        found = datum.loss_fn_inputs.get("target_tokens")
        if found is None:
            raise DataError(
                f"datum {i} has no loss_fn_inputs['target_tokens']; add the next-token targets"
            )
        tgt = [int(t) for t in found.data]
        if len(tgt) != len(ids):
            raise DataError(
                f"datum {i}: target_tokens has {len(tgt)} entries for {len(ids)} input tokens"
            )
        inputs.append(ids)
        targets.append(tgt)
        for key, value in datum.loss_fn_inputs.items():
            if key == "target_tokens":
                continue
            if len(value.data) != len(ids):
                raise DataError(
                    f"datum {i}: loss_fn_inputs[{key!r}] has {len(value.data)} entries for {len(ids)} tokens"
                )
            extras.setdefault(key, []).append([float(v) for v in value.data])
    for key, values in extras.items():
        if len(values) != len(data):
            raise DataError(f"loss_fn_inputs[{key!r}] is present in some datums but not all")
    return Prepared(inputs, targets, extras)


def to_batch(prepared: Prepared, device: torch.device) -> Batch:
    """Padded tensors on `device` (run on the worker thread)."""
    inputs = [torch.tensor(ids, dtype=torch.long) for ids in prepared.inputs]
    targets = [torch.tensor(t, dtype=torch.long) for t in prepared.targets]
    lengths = [len(ids) for ids in prepared.inputs]
    input_ids = pad_sequence(inputs, batch_first=True).to(device, non_blocking=True)
    target_ids = pad_sequence(targets, batch_first=True).to(device, non_blocking=True)
    lens = torch.tensor(lengths)
    mask = (torch.arange(input_ids.shape[1]).unsqueeze(0) < lens.unsqueeze(1)).to(device)
    loss_inputs = {
        k: pad_sequence([torch.tensor(r, dtype=torch.float32) for r in v], batch_first=True).to(
            device, non_blocking=True
        )
        for k, v in prepared.extras.items()
    }
    loss_inputs["mask"] = mask.float()
    return Batch(input_ids, target_ids, mask, lengths, loss_inputs)


def make_batch(data: Sequence[Datum], device: torch.device) -> Batch:
    """`to_batch(prepare(data))` in one call."""
    return to_batch(prepare(data), device)


def target_logprobs(model: torch.nn.Module, batch: Batch) -> torch.Tensor:
    """`[batch, time]` logprob of each target token (float32), differentiable."""
    logits = model(
        input_ids=batch.input_ids, attention_mask=batch.attention_mask, use_cache=False
    ).logits
    flat = logits.float().reshape(-1, logits.shape[-1])
    nll = F.cross_entropy(flat, batch.targets.reshape(-1), reduction="none")
    return -nll.view(batch.targets.shape) * batch.loss_inputs["mask"]


def to_outputs(lp: torch.Tensor, lengths: Sequence[int]) -> list[dict[str, TensorData]]:
    """Per-datum `{"logprobs": TensorData}`, unpadded."""
    rows = lp.detach().float().cpu().tolist()
    return [
        {"logprobs": TensorData(tuple(row[:n]), "float32", (n,))}
        for row, n in zip(rows, lengths, strict=True)
    ]
