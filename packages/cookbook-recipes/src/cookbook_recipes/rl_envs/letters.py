"""`letters`: the tiny-chat letter tasks (copy, reverse, sort) as an RL env.

Offline RL needs a task the built-in tiny model can partly do after a short warm
start, so the env asks exactly what the tiny-chat SFT data teaches, in the same
prompt format (`"reverse a c z"` -> `"z c a"`). Training problems are drawn by
batch index from a generator seeded by `(seed, i)` with tiny-chat's own letter and
task functions; the held-out set is the shipped tiny-chat test split, and a
training draw that equals a held-out prompt is drawn again, so RL never trains on
what it is evaluated on. Reward: 1 for the exact answer, minus `format_coef` for a
reply that is not a space-separated string of single letters.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import ClassVar, Literal

from cookbook_runtime.errors import DataError
from cookbook_runtime.train.renderers import Renderer
from cookbook_runtime.train.rl import (
    ProblemEnv,
    RLDataset,
)
from cookbook_runtime.train.rl.envs import EnvContext
from pydantic import BaseModel, ConfigDict, Field

from cookbook_recipes.datasets import tiny_chat
from cookbook_recipes.rl_envs._problems import ProblemListDataset, SeededBatches

__all__ = ["LettersEnv", "LettersOptions", "LettersProblem", "LettersRL", "held_out_problems"]

Task = Literal["copy", "reverse", "sort"]
_LETTER_STRING = re.compile(r"[a-z](?: [a-z])*")


@dataclass(frozen=True)
class LettersProblem:
    task: str
    letters: tuple[str, ...]

    @property
    def question(self) -> str:
        return tiny_chat.question(self.task, list(self.letters))

    @property
    def answer(self) -> str:
        return tiny_chat.TASKS[self.task](list(self.letters))


class LettersEnv(ProblemEnv):
    """One letter task; right when the reply is exactly the answer."""

    def __init__(self, renderer: Renderer, problem: LettersProblem, *, format_coef: float = 0.1) -> None:
        super().__init__(renderer, format_coef=format_coef)
        self.problem = problem

    def get_question(self) -> str:
        return self.problem.question

    def check_answer(self, response: str) -> bool:
        return response.strip() == self.problem.answer

    def check_format(self, response: str) -> bool:
        return _LETTER_STRING.fullmatch(response.strip()) is not None

    def get_reference_answer(self) -> str:
        return self.problem.answer


@cache
def held_out_problems() -> tuple[LettersProblem, ...]:
    """The shipped tiny-chat test split as problems, in file order."""
    path = tiny_chat.DATA_DIR / "test.jsonl"
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        task, *letters = json.loads(line)["messages"][0]["content"].split()
        if task not in tiny_chat.TASKS or not letters:
            raise DataError(f"{path}:{n}: not a tiny-chat letter task; regenerate the data with "
                            "`python -m cookbook_recipes.datasets.tiny_chat`")
        out.append(LettersProblem(task, tuple(letters)))
    return tuple(out)


class LettersOptions(BaseModel):
    """The problems `letters` asks."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tasks: list[Task] = Field(
        default_factory=lambda: list[Task](["copy", "reverse", "sort"]), min_length=1, description="Tasks to ask."
    )
    num_batches: int = Field(default=100, ge=1, description="Training batches (each newly generated).")
    test_problems: int = Field(
        default=64, ge=0, le=tiny_chat.SPLITS["test"],
        description="Held-out problems from tiny-chat's test split, one sample each; 0: no eval.",
    )
    format_coef: float = Field(default=0.1, ge=0, description="Penalty for a reply that is not letters.")


def _draw(rng: random.Random, tasks: Sequence[str], held_out: frozenset[str]) -> LettersProblem:
    while True:
        problem = LettersProblem(rng.choice(sorted(tasks)), tuple(tiny_chat.random_letters(rng)))
        if problem.question not in held_out:
            return problem


class LettersRL:
    """Env factory `letters`."""

    name: ClassVar[str] = "letters"
    Options: ClassVar[type[BaseModel]] = LettersOptions

    def build(self, options: LettersOptions, ctx: EnvContext) -> tuple[RLDataset, RLDataset | None]:
        held_out = frozenset(p.question for p in held_out_problems())
        train = SeededBatches(
            lambda rng: _draw(rng, options.tasks, held_out),
            lambda p: LettersEnv(ctx.renderer, p, format_coef=options.format_coef),
            name="letters", groups_per_batch=ctx.groups_per_batch, group_size=ctx.group_size,
            num_batches=options.num_batches, seed=ctx.seed,
        )
        test = None
        if options.test_problems:
            problems = [p for p in held_out_problems() if p.task in options.tasks][: options.test_problems]
            test = ProblemListDataset(
                problems, lambda p: LettersEnv(ctx.renderer, p, format_coef=options.format_coef),
                groups_per_batch=max(1, len(problems)), group_size=1, name="letters", seed=None,
            )
        return train, test
