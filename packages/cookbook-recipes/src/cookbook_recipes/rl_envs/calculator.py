"""`calculator`: tool use. The model calls a shipped calculator tool, then answers.

The system prompt describes one tool, `calculator(expression)`, in the renderer's
tool-call format (Qwen-style `<tool_call>{"name": ..., "arguments": ...}</tool_call>`
for the Qwen renderers). When a reply carries a tool call the env evaluates the
expression with `evaluate` (a small AST interpreter: numbers, + - * / // % ** and
parentheses, nothing else, so a model cannot run code) and returns the result as a
tool message; a reply without a tool call is the final answer. Reward: 1 for the
right final answer, plus `tool_bonus` if the calculator was used, minus
`format_coef` for a malformed tool call.
"""

from __future__ import annotations

import ast
import json
import operator
import random
from collections.abc import Callable
from typing import Any, ClassVar

from cookbook_runtime.train.renderers import Message, ToolCall
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

__all__ = ["CalculatorEnv", "CalculatorOptions", "CalculatorRL", "ToolError", "evaluate"]

TOOL_NAME = "calculator"
SYSTEM_PROMPT = (
    "You can use one tool. To call it, reply with only\n"
    '<tool_call>\n{"name": "calculator", "arguments": {"expression": "<arithmetic>"}}\n</tool_call>\n'
    "and you will get the result. When you know the answer, reply with just the number."
)

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
}


class ToolError(ValueError):
    """The tool could not evaluate its input; the message goes back to the model."""


def evaluate(expression: str) -> float | int:
    """The value of an arithmetic expression; `ToolError` for anything else."""
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        raise ToolError(f"cannot parse {expression!r}") from None

    def walk(node: ast.AST) -> float | int:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            value = walk(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = walk(node.left), walk(node.right)
            if isinstance(node.op, ast.Pow) and abs(right) > 64:
                raise ToolError("exponent too large")
            try:
                return _BINARY[type(node.op)](left, right)  # type: ignore[no-any-return]
            except ZeroDivisionError:
                raise ToolError("division by zero") from None
        raise ToolError(f"unsupported expression {ast.unparse(node)!r}")

    return walk(tree)


def _format(value: float | int) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


class CalculatorEnv(MessageEnv):
    """One question that a calculator call makes easy."""

    def __init__(self, question: str, answer: int, *, max_calls: int = 2, tool_bonus: float = 0.1,
                 format_coef: float = 0.1) -> None:
        self.question = question
        self.answer = answer
        self.max_calls = max_calls
        self.tool_bonus = tool_bonus
        self.format_coef = format_coef
        self.calls = 0

    def initial_messages(self) -> list[Message]:
        return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": self.question}]

    def _run(self, call: ToolCall) -> str:
        if call.name != TOOL_NAME:
            raise ToolError(f"unknown tool {call.name!r}; the tool is {TOOL_NAME!r}")
        try:
            args = json.loads(call.arguments)
        except json.JSONDecodeError:
            raise ToolError("arguments are not JSON") from None
        if not isinstance(args, dict) or not isinstance(args.get("expression"), str):
            raise ToolError('arguments need {"expression": "..."}')
        return _format(evaluate(args["expression"]))

    async def step(self, message: Message) -> MessageStepResult:
        calls: list[ToolCall] = list(message.get("tool_calls") or [])
        if message.get("unparsed_tool_calls"):
            return MessageStepResult(-self.format_coef, True, [], {"tool_error": 1.0, "correct": 0.0})
        if calls and self.calls < self.max_calls:
            self.calls += 1
            results: list[Message] = []
            errors = 0.0
            for call in calls:
                try:
                    content = self._run(call)
                except ToolError as exc:
                    content, errors = f"error: {exc}", 1.0
                results.append({"role": "tool", "content": content})
            return MessageStepResult(0.0, False, results, {"tool_error": errors})
        correct = float(last_number(message_text(message)) == str(self.answer))
        reward = correct + (self.tool_bonus * correct if self.calls else 0.0)
        return MessageStepResult(reward, True, [], {"correct": correct, "used_tool": float(self.calls > 0)})


class CalculatorOptions(BaseModel):
    """The questions `calculator` asks."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_number: int = Field(default=999, ge=1, description="Largest operand.")
    num_batches: int = Field(default=100, ge=1, description="Training batches.")
    test_problems: int = Field(default=32, ge=0, description="Held-out questions; 0: no eval.")
    max_calls: int = Field(default=2, ge=1, description="Tool calls allowed before the answer.")
    tool_bonus: float = Field(default=0.1, ge=0, description="Extra reward for a right answer that used the tool.")


class CalculatorRL:
    """Env factory `calculator`."""

    name: ClassVar[str] = "calculator"
    Options: ClassVar[type[BaseModel]] = CalculatorOptions

    def build(self, options: CalculatorOptions, ctx: EnvContext) -> tuple[RLDataset, RLDataset | None]:
        def draw(rng: random.Random) -> tuple[int, int]:
            return rng.randint(2, options.max_number), rng.randint(2, options.max_number)

        def make(operands: tuple[int, int]) -> EnvFromMessageEnv:
            a, b = operands
            env = CalculatorEnv(f"What is {a} * {b}?", a * b, max_calls=options.max_calls, tool_bonus=options.tool_bonus)
            return EnvFromMessageEnv(env, ctx.renderer, max_turns=options.max_calls + 1, parse_error_reward=0.0)

        def batches(groups_per_batch: int, group_size: int, num_batches: int, salt: int) -> SeededBatches[tuple[int, int]]:
            return SeededBatches(draw, make, name="calculator", groups_per_batch=groups_per_batch,
                                 group_size=group_size, num_batches=num_batches, seed=ctx.seed, salt=salt)

        train = batches(ctx.groups_per_batch, ctx.group_size, options.num_batches, salt=0)
        test = batches(options.test_problems, 1, 1, salt=1) if options.test_problems else None
        return train, test
