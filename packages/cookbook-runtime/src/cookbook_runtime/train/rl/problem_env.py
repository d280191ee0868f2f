"""`ProblemEnv`: a single-turn question with a checkable answer, and its group builder.

Most reasoning RL is this shape: show a question, sample one answer, reward
correctness, with a small penalty when the answer is not in the expected format
(tinker-cookbook's `format_coef * (format - 1) + correct`, `format_coef=0.1`).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Sequence

from cookbook_runtime.train.renderers import Message, Renderer
from cookbook_runtime.train.rl.types import (
    Action,
    Env,
    EnvGroupBuilder,
    Observation,
    StepResult,
    StopCondition,
)
from cookbook_runtime.train.types import ModelInput

__all__ = ["ProblemEnv", "ProblemGroupBuilder", "message_text"]


def message_text(message: Message) -> str:
    """The text of a parsed message (text parts joined; thinking and images dropped)."""
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(str(p.get("text", "")) for p in content if p.get("type") == "text")


class ProblemEnv(Env):
    """One question, one sampled answer, reward `format_coef * (format - 1) + correct`."""

    def __init__(
        self,
        renderer: Renderer,
        *,
        convo_prefix: Sequence[Message] = (),
        format_coef: float = 0.1,
    ) -> None:
        self.renderer = renderer
        self.convo_prefix = list(convo_prefix)
        self.format_coef = format_coef

    @abstractmethod
    def get_question(self) -> str:
        """The user message."""

    @abstractmethod
    def check_answer(self, response: str) -> bool:
        """Whether the response's answer is right."""

    @abstractmethod
    def check_format(self, response: str) -> bool:
        """Whether the response states an answer in the expected form."""

    def get_reference_answer(self) -> str:
        """The right answer, for rollout logs."""
        return ""

    def messages(self) -> list[Message]:
        return [*self.convo_prefix, {"role": "user", "content": self.get_question()}]

    async def initial_observation(self) -> tuple[Observation, StopCondition]:
        return self.renderer.build_generation_prompt(self.messages()), self.renderer.get_stop_sequences()

    async def step(self, action: Action) -> StepResult:
        message, termination = self.renderer.parse_response(action)
        text = message_text(message)
        correct = float(self.check_answer(text))
        well_formed = float(termination != "malformed" and self.check_format(text))
        return StepResult(
            reward=self.format_coef * (well_formed - 1.0) + correct,
            episode_done=True,
            next_observation=ModelInput.empty(),
            next_stop_condition=self.renderer.get_stop_sequences(),
            metrics={"format": well_formed, "correct": correct},
        )


class ProblemGroupBuilder(EnvGroupBuilder):
    """`num_envs` copies of one problem (made by `env_thunk`), tagged with the dataset name."""

    def __init__(self, env_thunk: Callable[[], Env], num_envs: int, dataset_name: str = "") -> None:
        self.env_thunk = env_thunk
        self.num_envs = num_envs
        self.dataset_name = dataset_name

    async def make_envs(self) -> Sequence[Env]:
        return [self.env_thunk() for _ in range(self.num_envs)]

    def logging_tags(self) -> list[str]:
        return [self.dataset_name] if self.dataset_name else []
