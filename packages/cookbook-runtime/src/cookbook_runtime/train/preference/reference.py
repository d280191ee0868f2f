"""The DPO reference model: the initial weights, pinned by path in the run directory.

At the start of a fresh run the training client's initial weights are saved for
sampling and their path written to `dpo_reference.json`. A resumed run reads that
file and opens the same weights, so the reference never moves to the resumed
weights (tinker-cookbook's DPO re-snapshots the reference at every start). Paths
inside the run directory are stored relative to it, so a moved run still resumes.

Reference logprobs come from `SamplingClient.compute_logprobs`, once per datum;
`ReferenceCache` keeps them for later epochs (the reference never changes).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

from cookbook_runtime.atomic import atomic_write
from cookbook_runtime.errors import ConfigError
from cookbook_runtime.ports import SamplingClient, TrainingClient
from cookbook_runtime.train.checkpoints import resolve_run_path
from cookbook_runtime.train.rl.losses import reference_logprobs
from cookbook_runtime.types import Datum

__all__ = ["REFERENCE_FILE", "ReferenceCache", "pin_reference", "pinned_reference", "reference_sequence_logprobs"]

REFERENCE_FILE = "dpo_reference.json"


def _stored(path: str, run_dir: Path) -> str:
    if "://" in path or not Path(path).is_absolute():
        return path
    try:
        return Path(path).resolve().relative_to(run_dir.resolve()).as_posix()
    except ValueError:
        return path


async def pin_reference(client: TrainingClient, run_dir: Path) -> str:
    """Save `client`'s current weights as the reference and record their path; returns it."""
    path = await (await client.save_weights_for_sampler("dpo-reference")).result()
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(run_dir / REFERENCE_FILE, json.dumps({"sampler_path": _stored(path, run_dir)}) + "\n")
    return path


def pinned_reference(run_dir: Path) -> str:
    """The reference path a resumed run must keep; `ConfigError` if the run never recorded one."""
    file = run_dir / REFERENCE_FILE
    try:
        recorded = json.loads(file.read_text(encoding="utf-8"))["sampler_path"]
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError(
            f"run file {str(file)!r} is missing or damaged, so this DPO run's reference weights are unknown: "
            "restore the file or start a new run directory"
        ) from None
    resolved = resolve_run_path(str(recorded), run_dir)
    return resolved or str(recorded)


async def reference_sequence_logprobs(reference: SamplingClient, data: Sequence[Datum]) -> list[float]:
    """The reference's weighted logprob sum of each datum's targets."""
    per_token = await asyncio.gather(*(reference_logprobs(reference, d) for d in data))
    return [
        sum(lp * w for lp, w in zip(lps, d.weights(), strict=True)) for lps, d in zip(per_token, data, strict=True)
    ]


class ReferenceCache:
    """Reference sequence logprobs by datum tokens, so a later epoch asks the sampler only for new ones.

    Holds at most `max_entries` values (one float and a token tuple each); past that,
    new datums are computed every time.
    """

    def __init__(self, reference: SamplingClient, *, max_entries: int = 200_000) -> None:
        self.reference = reference
        self.max_entries = max_entries
        self._values: dict[tuple[tuple[int, ...], tuple[float, ...]], float] = {}

    @staticmethod
    def _key(datum: Datum) -> tuple[tuple[int, ...], tuple[float, ...]]:
        targets = tuple(int(t) for t in datum.loss_fn_inputs["target_tokens"].data)
        return (*datum.model_input.to_ints(), *targets[-1:]), tuple(datum.weights())  # type: ignore[return-value]

    async def __call__(self, data: Sequence[Datum]) -> list[float]:
        """The reference's weighted logprob sum of each datum's targets."""
        keys = [self._key(d) for d in data]
        missing = [i for i, k in enumerate(keys) if k not in self._values]
        computed = await reference_sequence_logprobs(self.reference, [data[i] for i in missing])
        fresh = dict(zip(missing, computed, strict=True))
        for i, value in fresh.items():
            if len(self._values) < self.max_entries:
                self._values[keys[i]] = value
        return [fresh[i] if i in fresh else self._values[k] for i, k in enumerate(keys)]
