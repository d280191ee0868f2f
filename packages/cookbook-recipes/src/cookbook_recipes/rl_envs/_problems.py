"""An `RLDataset` over a list of problems: shuffled once by seed, cut into batches by index."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import TypeVar

from cookbook_runtime.train.rl import Env, EnvGroupBuilder, ProblemGroupBuilder, RLDataset

__all__ = ["ProblemListDataset"]

P = TypeVar("P")


class ProblemListDataset(RLDataset):
    """Batches of `groups_per_batch` problems, `group_size` envs each; deterministic by index."""

    def __init__(
        self,
        problems: Sequence[P],
        make_env: Callable[[P], Env],
        *,
        groups_per_batch: int,
        group_size: int,
        name: str,
        seed: int | None = 0,
    ) -> None:
        order = list(problems)
        if seed is not None:
            random.Random(seed).shuffle(order)
        self.problems = order
        self.make_env = make_env
        self.groups_per_batch = groups_per_batch
        self.group_size = group_size
        self.name = name

    def get_batch(self, index: int) -> Sequence[EnvGroupBuilder]:
        chunk = self.problems[index * self.groups_per_batch : (index + 1) * self.groups_per_batch]
        return [
            ProblemGroupBuilder(lambda p=p: self.make_env(p), self.group_size, self.name)  # type: ignore[misc]
            for p in chunk
        ]

    def __len__(self) -> int:
        return len(self.problems) // self.groups_per_batch
