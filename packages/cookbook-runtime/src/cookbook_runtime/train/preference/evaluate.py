"""Held-out pair accuracy: does the model prefer the chosen completion of unseen pairs?

Two accuracies are reported, because they answer different questions:

- `test/pair_accuracy`: the share of held-out pairs whose chosen completion gets a
  higher summed logprob than the rejected one under the policy alone. It needs no
  reference and is meaningful at step 0, so its before -> after is the headline.
- `test/accuracy`: DPO's own metric, the share whose implicit reward
  `beta * (s - s_ref)` is higher for the chosen side. At step 0 the policy is the
  reference, so it starts near 0 (every margin is about zero) and only measures
  movement since then.

The reference's sequence logprobs of the held-out datums never change, so they are
computed once and kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cookbook_runtime.ports import SamplingClient, TrainingClient
from cookbook_runtime.train.preference.dataset import PreferenceDataset
from cookbook_runtime.train.preference.loss import PairLogprobs, dpo_loss, sequence_logprob
from cookbook_runtime.train.preference.reference import reference_sequence_logprobs
from cookbook_runtime.types import Datum

__all__ = ["PairEvaluator"]


@dataclass
class PairEvaluator:
    """Scores the held-out pairs of `dataset` with a training client's current weights."""

    dataset: PreferenceDataset
    reference: SamplingClient
    beta: float
    max_batches: int | None = None
    _batches: list[list[Datum]] = field(default_factory=list)
    _reference: list[list[float]] = field(default_factory=list)

    async def _prepare(self) -> None:
        if self._batches:
            return
        for batch in self.dataset.batches(0):
            if self.max_batches is not None and len(self._batches) >= self.max_batches:
                break
            if batch.data:
                self._batches.append(batch.data)
                self._reference.append(await reference_sequence_logprobs(self.reference, batch.data))

    async def __call__(self, client: TrainingClient) -> dict[str, float]:
        """`test/pair_accuracy`, `test/accuracy`, `test/dpo_loss`, `test/margin`, `test/num_pairs`."""
        await self._prepare()
        pending = [await client.forward(data) for data in self._batches]
        pairs: list[PairLogprobs] = []
        for data, ref, handle in zip(self._batches, self._reference, pending, strict=True):
            out = await handle.result()
            sums = [
                sequence_logprob(list(o["logprobs"].data), d.weights())
                for o, d in zip(out.loss_fn_outputs, data, strict=True)
            ]
            pairs.extend(PairLogprobs(sums[i], sums[i + 1], ref[i], ref[i + 1]) for i in range(0, len(data), 2))
        if not pairs:
            return {}
        _, metrics = dpo_loss(pairs, self.beta)
        return {
            "test/pair_accuracy": sum(p.chosen > p.rejected for p in pairs) / len(pairs),
            "test/accuracy": metrics["accuracy"],
            "test/dpo_loss": metrics["dpo_loss"],
            "test/margin": metrics["margin"],
            "test/num_pairs": float(len(pairs)),
        }
