"""Offline benchmark tasks shipped with the recipes, for `cookbook eval` and the `evaluate` stage.

- `tiny_chat`: the 64 held-out tiny-chat letter tasks (copy, reverse, sort), as
  prompt/answer items graded by exact match: what `sl_basic` learns locally.
- `arithmetic`: 50 sums and differences of numbers up to 100, phrased as the
  `arithmetic` RL env asks them ("What is 17 + 75?") and graded by the reply's last
  number.

Both are made by code from fixed seeds and shipped as JSONL (entry points
`cookbook.eval_tasks`); `python -m cookbook_recipes.eval_tasks` regenerates them,
and a test checks the shipped files are exactly what the generators make.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from cookbook_runtime.atomic import atomic_write

from cookbook_recipes.datasets import tiny_chat

__all__ = ["ARITHMETIC", "TASK_DIR", "TINY_CHAT", "arithmetic_items", "render", "tiny_chat_items", "write"]

TASK_DIR = Path(__file__).parent
TINY_CHAT = TASK_DIR / "tiny_chat.jsonl"
ARITHMETIC = TASK_DIR / "arithmetic.jsonl"

ARITHMETIC_SEED = 4242
ARITHMETIC_SIZE = 50


def tiny_chat_items() -> list[dict[str, Any]]:
    """The tiny-chat test split as `{id, prompt, answer, grader}` items."""
    rows = tiny_chat.generate()["test"]
    items = []
    for index, row in enumerate(rows):
        user, assistant = row["messages"]
        items.append({"id": f"tiny_chat-{index:03d}", "prompt": user["content"], "answer": assistant["content"], "grader": "exact"})
    return items


def arithmetic_items(seed: int = ARITHMETIC_SEED, size: int = ARITHMETIC_SIZE) -> list[dict[str, Any]]:
    """Distinct `a + b` / `a - b` questions, 0 <= a, b <= 100, graded numerically."""
    rng = random.Random(seed)
    seen: set[str] = set()
    items: list[dict[str, Any]] = []
    while len(items) < size:
        a, b, op = rng.randint(0, 100), rng.randint(0, 100), rng.choice("+-")
        question = f"What is {a} {op} {b}?"
        if question in seen:
            continue
        seen.add(question)
        answer = a + b if op == "+" else a - b
        items.append({"id": f"arithmetic-{len(items):03d}", "prompt": question, "answer": str(answer), "grader": "numeric"})
    return items


def render(items: list[dict[str, Any]]) -> str:
    """The exact bytes of a task file: one compact, key-sorted object per line."""
    return "".join(json.dumps(item, sort_keys=True) + "\n" for item in items)


def write(directory: Path = TASK_DIR) -> list[Path]:
    """Write both task files into `directory`."""
    paths = []
    for name, items in (("tiny_chat", tiny_chat_items()), ("arithmetic", arithmetic_items())):
        path = directory / f"{name}.jsonl"
        atomic_write(path, render(items))
        paths.append(path)
    return paths
