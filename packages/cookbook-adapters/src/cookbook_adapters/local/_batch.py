"""Turn a list of `Datum`s into padded tensors, and per-token logprobs back into outputs.

Two phases: `prepare` checks the data and pulls out plain lists on the caller's
thread (so a malformed `Datum` fails at the call), and `to_batch` builds tensors
and copies them to the device on the client's worker thread, never on the event
loop. Tensors are built with whole-sequence constructors (no per-token Python
loops): this runs once per `forward_backward` and sits on the hot path.

`target_tokens` is `(N,)` (one target per position) or `(N, K)` (Tinker's soft
targets: K candidate tokens per position, weighted by an `(N, K)` `weights`); the
logprobs then come back in the targets' shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from cookbook_runtime.errors import DataError
from cookbook_runtime.train.types import Datum, ModelInput, TensorData
from torch.nn.utils.rnn import pad_sequence

__all__ = ["Batch", "Prepared", "make_batch", "prepare", "target_logprobs", "to_batch", "to_outputs"]


@dataclass(frozen=True)
class Batch:
    """Right-padded inputs, targets and loss inputs, `[batch, time]` (`[batch, time, K]` for soft targets)."""

    input_ids: torch.Tensor
    targets: torch.Tensor
    mask: torch.Tensor
    lengths: list[int]
    loss_inputs: dict[str, torch.Tensor]
    target_width: int | None = None

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
    """A checked batch as plain lists: input ids, flat targets and float loss inputs per datum.

    `target_width` is None for `(N,)` targets and K for `(N, K)` ones; each loss input
    is flat and either `(N,)` or the targets' shape (`widths` says which).
    """

    inputs: list[list[int]]
    targets: list[list[int]]
    extras: dict[str, list[list[float]]]
    target_width: int | None = None
    widths: dict[str, int | None] = field(default_factory=dict)


def _width(value: TensorData, n: int, i: int, key: str) -> int | None:
    """None for an `(N,)` tensor, K for `(N, K)`; a `DataError` for anything else."""
    shape = tuple(value.shape)
    if len(shape) == 2 and shape[0] == n and shape[1] >= 1 and len(value.data) == n * shape[1]:
        return int(shape[1])
    if len(shape) <= 1 and len(value.data) == n:
        return None
    raise DataError(
        f"datum {i}: loss_fn_inputs[{key!r}] has shape {list(shape)} for {n} input tokens; "
        f"send ({n},) or ({n}, K)"
    )


def prepare(data: Sequence[Datum]) -> Prepared:
    """Check `data` and extract its lists; raises `DataError` naming a bad datum."""
    if not data:
        raise DataError("forward/backward got an empty batch; pass at least one Datum")
    inputs: list[list[int]] = []
    targets: list[list[int]] = []
    extras: dict[str, list[list[float]]] = {}
    widths: dict[str, int | None] = {}
    target_width: int | None = None
    for i, datum in enumerate(data):
        ids = _ids(datum.model_input, i)
        if not ids:
            raise DataError(f"datum {i} has an empty model_input")
        found = datum.loss_fn_inputs.get("target_tokens")
        if found is None:
            raise DataError(
                f"datum {i} has no loss_fn_inputs['target_tokens']; add the next-token targets"
            )
        if len(tuple(found.shape)) <= 1 and len(found.data) != len(ids):
            raise DataError(
                f"datum {i}: target_tokens has {len(found.data)} entries for {len(ids)} input tokens"
            )
        width = _width(found, len(ids), i, "target_tokens")
        if i > 0 and width != target_width:
            raise DataError(
                f"datum {i}: target_tokens is {'(N,)' if width is None else f'(N, {width})'} but "
                f"datum 0's is {'(N,)' if target_width is None else f'(N, {target_width})'}; "
                "give every datum of a batch the same target shape"
            )
        target_width = width
        inputs.append(ids)
        targets.append([int(t) for t in found.data])
        for key, value in datum.loss_fn_inputs.items():
            if key == "target_tokens":
                continue
            w = _width(value, len(ids), i, key)
            if (w is not None or key == "weights") and w != target_width:
                raise DataError(
                    f"datum {i}: loss_fn_inputs[{key!r}] is {'(N,)' if w is None else f'(N, {w})'} but target_tokens is "
                    f"{'(N,)' if target_width is None else f'(N, {target_width})'}; match their shapes"
                )
            if key in widths and widths[key] != w:
                raise DataError(f"datum {i}: loss_fn_inputs[{key!r}] changes shape between datums")
            widths[key] = w
            extras.setdefault(key, []).append([float(v) for v in value.data])
    for key, values in extras.items():
        if len(values) != len(data):
            raise DataError(f"loss_fn_inputs[{key!r}] is present in some datums but not all")
    return Prepared(inputs, targets, extras, target_width, widths)


def _rows(flat: list[int] | list[float], width: int | None, dtype: torch.dtype) -> torch.Tensor:
    t = torch.tensor(flat, dtype=dtype)
    return t if width is None else t.view(-1, width)


def to_batch(prepared: Prepared, device: torch.device) -> Batch:
    """Padded tensors on `device` (run on the worker thread)."""
    width = prepared.target_width
    inputs = [torch.tensor(ids, dtype=torch.long) for ids in prepared.inputs]
    targets = [_rows(t, width, torch.long) for t in prepared.targets]
    lengths = [len(ids) for ids in prepared.inputs]
    input_ids = pad_sequence(inputs, batch_first=True).to(device, non_blocking=True)
    target_ids = pad_sequence(targets, batch_first=True).to(device, non_blocking=True)
    lens = torch.tensor(lengths)
    mask = (torch.arange(input_ids.shape[1]).unsqueeze(0) < lens.unsqueeze(1)).to(device)
    loss_inputs = {
        k: pad_sequence(
            [_rows(r, prepared.widths.get(k), torch.float32) for r in v], batch_first=True
        ).to(device, non_blocking=True)
        for k, v in prepared.extras.items()
    }
    loss_inputs["mask"] = mask.float()
    return Batch(input_ids, target_ids, mask, lengths, loss_inputs, width)


def make_batch(data: Sequence[Datum], device: torch.device) -> Batch:
    """`to_batch(prepare(data))` in one call."""
    return to_batch(prepare(data), device)


def target_logprobs(model: torch.nn.Module, batch: Batch) -> torch.Tensor:
    """`[batch, time]` (or `[batch, time, K]`) logprob of each target token (float32), differentiable."""
    logits = model(
        input_ids=batch.input_ids, attention_mask=batch.attention_mask, use_cache=False
    ).logits
    mask = batch.loss_inputs["mask"]
    if batch.targets.dim() == 3:  # soft targets: K candidates per position
        logp = torch.log_softmax(logits.float(), dim=-1)
        return logp.gather(-1, batch.targets) * mask.unsqueeze(-1)
    flat = logits.float().reshape(-1, logits.shape[-1])
    nll = F.cross_entropy(flat, batch.targets.reshape(-1), reduction="none")
    return -nll.view(batch.targets.shape) * mask


def to_outputs(lp: torch.Tensor, lengths: Sequence[int]) -> list[dict[str, TensorData]]:
    """Per-datum `{"logprobs": TensorData}`, unpadded, `(n,)` or `(n, K)` like the targets."""
    if lp.dim() == 2:  # one target per position: a single tolist() for the whole batch
        flat_rows = lp.detach().float().cpu().tolist()
        return [
            {"logprobs": TensorData(tuple(row[:n]), "float32", (n,))}
            for row, n in zip(flat_rows, lengths, strict=True)
        ]
    rows = lp.detach().float().cpu()
    out: list[dict[str, TensorData]] = []
    for row, n in zip(rows, lengths, strict=True):
        kept = row[:n]
        out.append(
            {"logprobs": TensorData(tuple(kept.reshape(-1).tolist()), "float32", tuple(kept.shape))}
        )
    return out
