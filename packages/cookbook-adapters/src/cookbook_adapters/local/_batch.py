"""Turn a list of `Datum`s into padded tensors, and per-token logprobs back into outputs.

Everything is built with whole-sequence tensor constructors (no per-token Python
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

__all__ = ["Batch", "make_batch", "target_logprobs", "to_outputs"]


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


def make_batch(data: Sequence[Datum], device: torch.device) -> Batch:
    """Pad `data` into tensors on `device`; raises `DataError` naming a bad datum."""
    if not data:
        raise DataError("forward/backward got an empty batch; pass at least one Datum")
    inputs: list[torch.Tensor] = []
    targets: list[torch.Tensor] = []
    extras: dict[str, list[torch.Tensor]] = {}
    for i, datum in enumerate(data):
        ids = torch.tensor(_ids(datum.model_input, i), dtype=torch.long)
        if ids.numel() == 0:
            raise DataError(f"datum {i} has an empty model_input")
        found = datum.loss_fn_inputs.get("target_tokens")
        if found is None:
            raise DataError(
                f"datum {i} has no loss_fn_inputs['target_tokens']; add the next-token targets"
            )
        tgt = torch.tensor(found.data, dtype=torch.long)
        if tgt.shape != ids.shape:
            raise DataError(
                f"datum {i}: target_tokens has {tgt.numel()} entries for {ids.numel()} input tokens"
            )
        inputs.append(ids)
        targets.append(tgt)
        for key, value in datum.loss_fn_inputs.items():
            if key == "target_tokens":
                continue
            arr = torch.tensor(value.data, dtype=torch.float32)
            if arr.shape != ids.shape:
                raise DataError(
                    f"datum {i}: loss_fn_inputs[{key!r}] has {arr.numel()} entries for {ids.numel()} tokens"
                )
            extras.setdefault(key, []).append(arr)
    lengths = [t.numel() for t in inputs]
    for key, values in extras.items():
        if len(values) != len(data):
            raise DataError(f"loss_fn_inputs[{key!r}] is present in some datums but not all")
    input_ids = pad_sequence(inputs, batch_first=True).to(device, non_blocking=True)
    target_ids = pad_sequence(targets, batch_first=True).to(device, non_blocking=True)
    lens = torch.tensor(lengths)
    mask = (torch.arange(input_ids.shape[1]).unsqueeze(0) < lens.unsqueeze(1)).to(device)
    loss_inputs = {
        k: pad_sequence(v, batch_first=True).to(device, non_blocking=True)
        for k, v in extras.items()
    }
    loss_inputs["mask"] = mask.float()
    return Batch(input_ids, target_ids, mask, lengths, loss_inputs)


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
