"""The two `RLDataset`s the built-in envs share: a fixed list of problems, or problems drawn per batch."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from cookbook_runtime.train.rl import (
    Env,
    EnvGroupBuilder,
    ProblemGroupBuilder,
    RLDataset,
    sample_seed,
)

__all__ = ["ProblemListDataset", "SeededBatches"]

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


class SeededBatches(RLDataset, Generic[P]):
    """Batch `i` holds `groups_per_batch` problems drawn from a generator seeded by `(seed, salt, i)`.

    Any batch is rebuilt from its index alone, which is what exact resume needs; a
    different `salt` keeps a held-out set apart from the training draws of one seed.
    """

    def __init__(
        self,
        draw: Callable[[random.Random], P],
        make_env: Callable[[P], Env],
        *,
        name: str,
        groups_per_batch: int,
        group_size: int,
        num_batches: int,
        seed: int,
        salt: int = 0,
    ) -> None:
        self.draw = draw
        self.make_env = make_env
        self.name = name
        self.groups_per_batch = groups_per_batch
        self.group_size = group_size
        self.num_batches = num_batches
        self.seed = seed
        self.salt = salt

    def problems(self, index: int) -> list[P]:
        """The problems of batch `index`."""
        rng = random.Random(sample_seed(self.seed, self.salt, index))
        return [self.draw(rng) for _ in range(self.groups_per_batch)]

    def get_batch(self, index: int) -> Sequence[EnvGroupBuilder]:
        return [
            ProblemGroupBuilder(lambda p=p: self.make_env(p), self.group_size, self.name)  # type: ignore[misc]
            for p in self.problems(index)
        ]

    def __len__(self) -> int:
        return self.num_batches
