"""`guess_number`: a multi-turn game; the env answers each guess with "higher" or "lower".

The model sees "I am thinking of a number between 1 and N" and guesses; each turn
the env replies with feedback, until the guess is right or the turns run out.
Reward 1 for finding the number (minus 0.1 per extra turn, so fewer guesses score
more), 0 otherwise, and `format_coef` less for a reply with no number. A
`MessageEnv`: the history grows by whole messages, so with an extension-property
renderer the whole game is one datum.
"""

from __future__ import annotations

from typing import ClassVar

from cookbook_runtime.train.renderers import Message
from cookbook_runtime.train.rl import (
    EnvFromMessageEnv,
    MessageEnv,
    MessageStepResult,
    RLDataset,
    message_text,
)
from cookbook_runtime.train.rl.envs import EnvContext
from pydantic import BaseModel, ConfigDict, Field

from cookbook_recipes.rl_envs._grading import last_number
from cookbook_recipes.rl_envs._problems import SeededBatches

__all__ = ["GuessNumberEnv", "GuessNumberOptions", "GuessNumberRL"]


class GuessNumberEnv(MessageEnv):
    """One game with a fixed secret."""

    def __init__(self, secret: int, high: int, *, max_turns: int, format_coef: float = 0.1) -> None:
        self.secret = secret
        self.high = high
        self.max_turns = max_turns
        self.format_coef = format_coef
        self.turn = 0

    def initial_messages(self) -> list[Message]:
        return [
            {
                "role": "user",
                "content": f"I am thinking of a number between 1 and {self.high}. Guess it; reply with one number.",
            }
        ]

    async def step(self, message: Message) -> MessageStepResult:
        self.turn += 1
        guess = last_number(message_text(message))
        if guess is None or "." in guess:
            done = self.turn >= self.max_turns
            return MessageStepResult(
                -self.format_coef, done, [{"role": "user", "content": "Reply with one whole number."}],
                {"format": 0.0, "won": 0.0} if done else {"format": 0.0},
            )
        value = int(guess)
        if value == self.secret:
            reward = max(0.0, 1.0 - 0.1 * (self.turn - 1))
            return MessageStepResult(reward, True, [], {"format": 1.0, "won": 1.0, "turns_to_win": float(self.turn)})
        done = self.turn >= self.max_turns
        hint = "higher" if value < self.secret else "lower"
        return MessageStepResult(
            0.0, done, [{"role": "user", "content": f"No, it is {hint}."}],
            {"format": 1.0, "won": 0.0} if done else {"format": 1.0},
        )


class GuessNumberOptions(BaseModel):
    """The games `guess_number` plays."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    high: int = Field(default=16, ge=2, description="Secrets are drawn from 1..high.")
    max_turns: int = Field(default=5, ge=1, description="Guesses allowed per game.")
    num_batches: int = Field(default=100, ge=1, description="Training batches.")
    test_games: int = Field(default=32, ge=0, description="Held-out games; 0: no eval.")
    format_coef: float = Field(default=0.1, ge=0, description="Penalty for a reply with no number.")


class GuessNumberRL:
    """Env factory `guess_number`."""

    name: ClassVar[str] = "guess_number"
    Options: ClassVar[type[BaseModel]] = GuessNumberOptions

    def build(self, options: GuessNumberOptions, ctx: EnvContext) -> tuple[RLDataset, RLDataset | None]:
        def make(secret: int) -> EnvFromMessageEnv:
            game = GuessNumberEnv(secret, options.high, max_turns=options.max_turns, format_coef=options.format_coef)
            return EnvFromMessageEnv(game, ctx.renderer, max_turns=options.max_turns)

        def batches(groups_per_batch: int, group_size: int, num_batches: int, salt: int) -> SeededBatches[int]:
            return SeededBatches(lambda rng: rng.randint(1, options.high), make, name="guess_number",
                                 groups_per_batch=groups_per_batch, group_size=group_size,
                                 num_batches=num_batches, seed=ctx.seed, salt=salt)

        train = batches(ctx.groups_per_batch, ctx.group_size, options.num_batches, salt=0)
        test = batches(options.test_games, 1, 1, salt=1) if options.test_games else None
        return train, test
