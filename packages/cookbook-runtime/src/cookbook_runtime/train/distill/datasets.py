"""Several prompt sources in one run, each remembered by index so its own teacher scores it.

`MixedDataset` gives each step the batches of every source at the same index
(cycled), wrapping each group builder so its groups carry the tag `dataset_<i>`;
the tag is how a step's datums find their teacher and how `teacher_kl/dataset_<i>`
is split. Env rewards are ignored by distillation, so any registered env serves as
a prompt source (and `prompts` is a prompt-only env over a chat dataset).
"""

from __future__ import annotations

from collections.abc import Sequence

from cookbook_runtime.train.rl.types import (
    Env,
    EnvGroupBuilder,
    Metrics,
    RLDataset,
    Trajectory,
    TrajectoryGroup,
)

__all__ = ["MixedDataset", "SourceTagged", "source_of"]

_TAG = "dataset_"


class SourceTagged(EnvGroupBuilder):
    """A group builder whose groups are tagged with their source index."""

    def __init__(self, inner: EnvGroupBuilder, source: int) -> None:
        self.inner = inner
        self.source = source

    async def make_envs(self) -> Sequence[Env]:
        return await self.inner.make_envs()

    async def compute_group_rewards(self, trajectories: Sequence[Trajectory], envs: Sequence[Env]) -> list[tuple[float, Metrics]]:
        return list(await self.inner.compute_group_rewards(trajectories, envs))

    def logging_tags(self) -> list[str]:
        return [f"{_TAG}{self.source}", *self.inner.logging_tags()]


def source_of(group: TrajectoryGroup) -> int:
    """The source index a `SourceTagged` builder gave the group (0 if untagged)."""
    for tag in group.tags:
        if tag.startswith(_TAG) and tag[len(_TAG):].isdigit():
            return int(tag[len(_TAG):])
    return 0


class MixedDataset(RLDataset):
    """Batch `i` = batch `i mod len(source)` of every source, tagged; as long as the longest source."""

    def __init__(self, sources: Sequence[RLDataset | None]) -> None:
        self.sources = [(i, s) for i, s in enumerate(sources) if s is not None and len(s) > 0]

    def get_batch(self, index: int) -> Sequence[EnvGroupBuilder]:
        out: list[EnvGroupBuilder] = []
        for i, source in self.sources:
            out.extend(SourceTagged(b, i) for b in source.get_batch(index % len(source)))
        return out

    def __len__(self) -> int:
        return max((len(s) for _, s in self.sources), default=0)
