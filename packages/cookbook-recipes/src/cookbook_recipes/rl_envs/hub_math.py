"""`gsm8k` and `math`: word and competition problems from a dataset, graded on a boxed answer.

Rows come through the `datasets` port (the hub on Tinker manifests, or local files
in the hub's schema for offline runs): GSM8K rows hold `question` and an `answer`
ending in `#### <number>`; MATH rows hold `problem` and a `solution` whose last
`\\boxed{}` is the answer (or an `answer` column, as MATH-500 has). The model is
asked for its final answer inside `\\boxed{}`, as tinker-cookbook's math envs ask.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from cookbook_runtime.errors import DataError
from cookbook_runtime.ir import DatasetRef
from cookbook_runtime.ports import DatasetStore
from cookbook_runtime.train.renderers import Renderer
from cookbook_runtime.train.rl import ProblemEnv, RLDataset
from cookbook_runtime.train.rl.envs import EnvContext
from pydantic import BaseModel, ConfigDict, Field

from cookbook_recipes.rl_envs._grading import extract_boxed, extract_gsm8k_answer, grade_answer
from cookbook_recipes.rl_envs._problems import ProblemListDataset

__all__ = ["BoxedAnswerEnv", "Gsm8kOptions", "Gsm8kRL", "MathOptions", "MathProblem", "MathRL", "load_problems"]

BOXED_INSTRUCTION = " Write your final answer inside \\boxed{}."


@dataclass(frozen=True)
class MathProblem:
    question: str
    answer: str


class BoxedAnswerEnv(ProblemEnv):
    """A question whose reply must put its answer in `\\boxed{}`."""

    def __init__(self, renderer: Renderer, problem: MathProblem, *, format_coef: float = 0.1) -> None:
        super().__init__(renderer, format_coef=format_coef)
        self.problem = problem

    def get_question(self) -> str:
        return self.problem.question + BOXED_INSTRUCTION

    def check_format(self, response: str) -> bool:
        return extract_boxed(response) is not None

    def check_answer(self, response: str) -> bool:
        return grade_answer(extract_boxed(response), self.problem.answer)

    def get_reference_answer(self) -> str:
        return self.problem.answer


def _gsm8k_problem(row: Mapping[str, Any], index: int) -> MathProblem:
    try:
        return MathProblem(str(row["question"]), extract_gsm8k_answer(str(row["answer"])))
    except (KeyError, ValueError) as exc:
        raise DataError(f"GSM8K row {index} needs 'question' and an 'answer' ending in '#### N' ({exc})") from None


def _math_problem(row: Mapping[str, Any], index: int) -> MathProblem:
    problem = row.get("problem")
    answer = row.get("answer") or (extract_boxed(str(row.get("solution", ""))) if row.get("solution") else None)
    if not problem or not answer:
        raise DataError(f"MATH row {index} needs 'problem' and an 'answer' or a 'solution' with \\boxed{{}}")
    return MathProblem(str(problem), str(answer))


def load_problems(store: DatasetStore, ref: DatasetRef, split: str, *, kind: str, limit: int | None) -> list[MathProblem]:
    """Problems of one split, at most `limit`."""
    rows = store.open(ref, split)
    if limit is not None:
        rows = rows.take(limit)
    parse = _gsm8k_problem if kind == "gsm8k" else _math_problem
    return [parse(row, i) for i, row in enumerate(rows)]


class _HubMathOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_train_problems: int | None = Field(default=None, ge=1, description="Use at most this many training problems.")
    max_test_problems: int | None = Field(default=200, ge=1, description="Evaluate on at most this many problems.")
    format_coef: float = Field(default=0.1, ge=0, description="Penalty for a reply without \\boxed{}.")


class Gsm8kOptions(_HubMathOptions):
    """Where GSM8K comes from and how much of it to use."""

    dataset: DatasetRef = Field(
        default_factory=lambda: DatasetRef(name="openai/gsm8k", config="main", split="train", test_split="test"),
        description="GSM8K or a local copy in its schema (question, answer with '#### N').",
    )


class MathOptions(_HubMathOptions):
    """Where MATH comes from and how much of it to use."""

    dataset: DatasetRef = Field(
        default_factory=lambda: DatasetRef(
            name="EleutherAI/hendrycks_math", config="algebra", split="train", test_split="test"
        ),
        description="MATH or a local copy in its schema (problem, and solution with \\boxed{} or answer).",
    )


def _build(kind: str, options: Any, ctx: EnvContext) -> tuple[RLDataset, RLDataset | None]:
    ref: DatasetRef = options.dataset

    def make(p: MathProblem) -> BoxedAnswerEnv:
        return BoxedAnswerEnv(ctx.renderer, p, format_coef=options.format_coef)

    train = ProblemListDataset(
        load_problems(ctx.datasets, ref, ref.split, kind=kind, limit=options.max_train_problems),
        make, groups_per_batch=ctx.groups_per_batch, group_size=ctx.group_size, name=kind, seed=ctx.seed,
    )
    test = None
    if ref.test_split is not None:
        problems = load_problems(ctx.datasets, ref, ref.test_split, kind=kind, limit=options.max_test_problems)
        test = ProblemListDataset(problems, make, groups_per_batch=max(1, len(problems)), group_size=1, name=kind, seed=None)
    return train, test


class Gsm8kRL:
    """Env factory `gsm8k`."""

    name: ClassVar[str] = "gsm8k"
    Options: ClassVar[type[BaseModel]] = Gsm8kOptions

    def build(self, options: Gsm8kOptions, ctx: EnvContext) -> tuple[RLDataset, RLDataset | None]:
        return _build("gsm8k", options, ctx)


class MathRL:
    """Env factory `math`."""

    name: ClassVar[str] = "math"
    Options: ClassVar[type[BaseModel]] = MathOptions

    def build(self, options: MathOptions, ctx: EnvContext) -> tuple[RLDataset, RLDataset | None]:
        return _build("math", options, ctx)
