"""The shipped RL envs: rewards, batches deterministic by index, dataset loaders, multi-turn, tools."""

from __future__ import annotations

import pytest
from cookbook_recipes.rl_envs.arithmetic import ArithmeticOptions, ArithmeticRL
from cookbook_recipes.rl_envs.calculator import CalculatorEnv, ToolError, evaluate
from cookbook_recipes.rl_envs.guess_number import GuessNumberEnv
from cookbook_recipes.rl_envs.hub_math import Gsm8kOptions, Gsm8kRL, MathOptions, MathRL
from cookbook_runtime.errors import DataError
from cookbook_runtime.ir import DatasetRef
from cookbook_runtime.testing import ByteTokenizer, FakeDatasetStore
from cookbook_runtime.train.renderers import ToolCall, get_renderer
from cookbook_runtime.train.rl.envs import EnvContext

TOKENIZER = ByteTokenizer()
RENDERER = get_renderer("qwen3_instruct", TOKENIZER)


def _ctx(store: FakeDatasetStore | None = None) -> EnvContext:
    return EnvContext(RENDERER, store or FakeDatasetStore(), group_size=2, groups_per_batch=3, seed=0)


def _reply(text: str) -> list[int]:
    return [*TOKENIZER.encode(text), TOKENIZER.eos_token_id]  # type: ignore[list-item]


async def _reward(builder: object, text: str) -> tuple[float, dict[str, float]]:
    [env, *_] = await builder.make_envs()  # type: ignore[attr-defined]
    await env.initial_observation()
    result = await env.step(_reply(text))
    return result.reward, result.metrics


async def test_arithmetic_rewards_the_right_sum_and_penalises_format() -> None:
    train, test = ArithmeticRL().build(ArithmeticOptions(max_number=9, test_problems=5), _ctx())
    builder = train.get_batch(0)[0]
    [env, _] = await builder.make_envs()
    problem = env.problem  # type: ignore[attr-defined]
    a, b = problem.a, problem.b
    assert await _reward(builder, f"{a} + {b} = {a + b}") == (1.0, {"format": 1.0, "correct": 1.0})
    assert (await _reward(builder, f"{a} + {b} = {a + b + 1}"))[0] == 0.0
    assert (await _reward(builder, "I do not know"))[0] == pytest.approx(-0.1)
    assert test is not None and len(test) == 1 and len(test.get_batch(0)) == 5


async def test_arithmetic_batches_are_deterministic_by_index() -> None:
    train, _ = ArithmeticRL().build(ArithmeticOptions(), _ctx())

    async def questions(i: int) -> list[str]:
        return [(await b.make_envs())[0].get_question() for b in train.get_batch(i)]  # type: ignore[attr-defined]

    assert await questions(3) == await questions(3)
    assert await questions(3) != await questions(4)


GSM8K_ROWS = [
    {"question": f"Tom has {i} apples and buys 2 more. How many now?", "answer": f"{i} + 2 = {i + 2}\n#### {i + 2}"}
    for i in range(8)
]


async def test_gsm8k_loads_problems_through_the_datasets_port() -> None:
    store = FakeDatasetStore({"gsm": {"train": GSM8K_ROWS, "test": GSM8K_ROWS[:2]}})
    options = Gsm8kOptions(dataset=DatasetRef(name="gsm", test_split="test"))
    train, test = Gsm8kRL().build(options, _ctx(store))
    assert len(train) == 8 // 3 and test is not None and len(test.get_batch(0)) == 2
    builder = test.get_batch(0)[0]
    assert (await _reward(builder, r"So \boxed{2}."))[0] == 1.0
    assert (await _reward(builder, "2"))[0] == pytest.approx(-0.1)


def test_gsm8k_row_without_a_final_answer_is_named() -> None:
    store = FakeDatasetStore({"gsm": {"train": [{"question": "q", "answer": "no hashes"}]}})
    with pytest.raises(DataError, match="GSM8K row 0"):
        Gsm8kRL().build(Gsm8kOptions(dataset=DatasetRef(name="gsm")), _ctx(store))


async def test_math_uses_the_solution_box_or_the_answer_column() -> None:
    rows = [
        {"problem": "Half of 3?", "solution": r"It is \boxed{\frac{3}{2}}."},
        {"problem": "Two plus two?", "answer": "4"},
    ]
    store = FakeDatasetStore({"math": {"train": rows * 3, "test": rows}})
    _, test = MathRL().build(MathOptions(dataset=DatasetRef(name="math", test_split="test")), _ctx(store))
    assert test is not None
    first, second = test.get_batch(0)
    assert (await _reward(first, r"\boxed{1.5}"))[0] == 1.0
    assert (await _reward(second, r"\boxed{4}"))[0] == 1.0


async def test_guess_number_gives_feedback_each_turn() -> None:
    game = GuessNumberEnv(secret=7, high=10, max_turns=3)
    first = await game.step({"role": "assistant", "content": "5"})
    assert (first.reward, first.episode_done) == (0.0, False)
    assert first.next_messages[0]["content"] == "No, it is higher."
    second = await game.step({"role": "assistant", "content": "7"})
    assert second.episode_done and second.reward == pytest.approx(0.9)


def test_calculator_tool_evaluates_arithmetic_only() -> None:
    assert evaluate("12 * (3 + 4)") == 84
    for bad in ("__import__('os')", "2 ** 1000", "1 / 0", "x + 1"):
        with pytest.raises(ToolError):
            evaluate(bad)


async def test_calculator_env_runs_the_tool_then_grades_the_answer() -> None:
    env = CalculatorEnv("What is 12 * 13?", 156)
    call = ToolCall("calculator", '{"expression": "12 * 13"}')
    tool_turn = await env.step({"role": "assistant", "content": "", "tool_calls": [call]})
    assert not tool_turn.episode_done
    assert tool_turn.next_messages == [{"role": "tool", "content": "156"}]
    answer = await env.step({"role": "assistant", "content": "156"})
    assert answer.episode_done and answer.reward == pytest.approx(1.1)
    assert answer.metrics == {"correct": 1.0, "used_tool": 1.0}
