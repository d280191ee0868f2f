"""The `letters` env: tiny-chat's letter tasks as RL problems, held out by tiny-chat's test split."""

from __future__ import annotations

import json
import random

import pytest
from cookbook_recipes.datasets import tiny_chat
from cookbook_recipes.rl_envs.letters import LettersOptions, LettersRL
from cookbook_runtime.testing import ByteTokenizer, FakeDatasetStore
from cookbook_runtime.train.renderers import get_renderer
from cookbook_runtime.train.rl import sample_seed
from cookbook_runtime.train.rl.envs import EnvContext, get_env

TOKENIZER = ByteTokenizer()
RENDERER = get_renderer("qwen3_instruct", TOKENIZER)


def _ctx(groups_per_batch: int = 3) -> EnvContext:
    return EnvContext(RENDERER, FakeDatasetStore(), group_size=2, groups_per_batch=groups_per_batch, seed=0)


def _shipped_test_questions() -> list[str]:
    lines = (tiny_chat.DATA_DIR / "test.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["messages"][0]["content"] for line in lines]


async def _reward(builder: object, text: str) -> tuple[float, dict[str, float]]:
    [env, *_] = await builder.make_envs()  # type: ignore[attr-defined]
    await env.initial_observation()
    result = await env.step([*TOKENIZER.encode(text), TOKENIZER.eos_token_id])
    return result.reward, result.metrics


async def _questions(dataset: object, index: int) -> list[str]:
    return [(await b.make_envs())[0].get_question() for b in dataset.get_batch(index)]  # type: ignore[attr-defined]


def test_letters_is_registered() -> None:
    assert get_env("letters") is LettersRL


async def test_letters_rewards_the_exact_answer_and_penalises_non_letters() -> None:
    train, _ = LettersRL().build(LettersOptions(), _ctx())
    builder = train.get_batch(0)[0]
    [env, _] = await builder.make_envs()
    problem = env.problem  # type: ignore[attr-defined]
    letters = list(problem.letters)
    assert env.get_question() == f"{problem.task} {' '.join(letters)}"  # type: ignore[attr-defined]
    assert await _reward(builder, tiny_chat.TASKS[problem.task](letters)) == (1.0, {"format": 1.0, "correct": 1.0})
    assert await _reward(builder, " ".join(["a"] * 7)) == (0.0, {"format": 1.0, "correct": 0.0})
    assert (await _reward(builder, "I do not know"))[0] == pytest.approx(-0.1)


async def test_letters_batches_are_deterministic_by_index() -> None:
    train, _ = LettersRL().build(LettersOptions(), _ctx())
    assert await _questions(train, 3) == await _questions(train, 3)
    assert await _questions(train, 3) != await _questions(train, 4)
    assert len(train) == LettersOptions().num_batches


async def test_held_out_set_is_the_shipped_tiny_chat_test_split() -> None:
    _, test = LettersRL().build(LettersOptions(), _ctx())
    assert test is not None and len(test) == 1
    assert await _questions(test, 0) == _shipped_test_questions()
    [builder, *_] = test.get_batch(0)
    assert len(await builder.make_envs()) == 1


async def test_training_problems_never_include_a_held_out_prompt() -> None:
    # With seed 0 and 64 problems a batch, tiny-chat's generator draws two held-out prompts in batch 18.
    held_out = set(_shipped_test_questions())
    rng = random.Random(sample_seed(0, 0, 18))
    raw = [tiny_chat.question(rng.choice(sorted(tiny_chat.TASKS)), tiny_chat.random_letters(rng)) for _ in range(64)]
    assert held_out & set(raw), "the unfiltered draw no longer hits the held-out set; pick another batch"
    train, _ = LettersRL().build(LettersOptions(), _ctx(groups_per_batch=64))
    drawn = await _questions(train, 18)
    assert len(drawn) == 64 and not held_out & set(drawn)


async def test_options_pick_tasks_and_the_held_out_size() -> None:
    train, test = LettersRL().build(LettersOptions(tasks=["sort"], test_problems=5), _ctx())
    assert all(q.startswith("sort ") for q in await _questions(train, 0))
    assert test is not None and await _questions(test, 0) == [
        q for q in _shipped_test_questions() if q.startswith("sort ")
    ][:5]
    _, none = LettersRL().build(LettersOptions(test_problems=0), _ctx())
    assert none is None
