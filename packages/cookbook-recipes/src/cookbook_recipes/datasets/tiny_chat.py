"""`tiny-chat`: a small chat dataset of arithmetic and string tasks, made by code.

Offline runs need data no hub has to provide. Every conversation is one user task
and its exact answer (sums, differences, products, reversing, upper-casing, counting
letters), so a tiny model can visibly learn it in a minute of CPU time. The rows are
generated from a seed and shipped as JSONL in this package; `python -m
cookbook_recipes.datasets.tiny_chat` regenerates them, and a test checks the shipped
files are exactly what the generator makes.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cookbook_runtime.atomic import atomic_write

__all__ = ["DATA_DIR", "NAME", "SPLITS", "generate", "render_jsonl", "write"]

DATA_DIR = Path(__file__).parent / "tiny_chat"
"""Where the shipped splits live: `train.jsonl` and `test.jsonl`."""

NAME = "cookbook:tiny_chat"
"""The stable name specs use (entry point `cookbook.datasets:tiny_chat` -> `DATA_DIR`)."""

SPLITS = {"train": 1280, "test": 96}
"""Rows per split."""

SEED = 1234

_WORDS = (
    "apple", "river", "stone", "cloud", "tiger", "green", "music", "paper", "light", "sugar",
    "bread", "chair", "plant", "water", "house", "smile", "grape", "lemon", "ocean", "piano",
    "robot", "table", "zebra", "candle", "forest", "garden", "honey", "island", "jacket", "kitten",
    "mango", "night", "orange", "pencil", "queen", "rabbit", "silver", "tomato", "violet", "window",
    "cat", "dog", "sun", "moon", "star", "tree", "fish", "bird", "book", "door",
)

Task = Callable[[random.Random], tuple[str, str]]


def _add(rng: random.Random) -> tuple[str, str]:
    a, b = rng.randint(0, 99), rng.randint(0, 99)
    return f"What is {a} + {b}?", f"{a} + {b} = {a + b}"


def _subtract(rng: random.Random) -> tuple[str, str]:
    a, b = sorted((rng.randint(0, 99), rng.randint(0, 99)), reverse=True)
    return f"What is {a} - {b}?", f"{a} - {b} = {a - b}"


def _multiply(rng: random.Random) -> tuple[str, str]:
    a, b = rng.randint(1, 12), rng.randint(1, 12)
    return f"What is {a} times {b}?", f"{a} times {b} is {a * b}"


def _reverse(rng: random.Random) -> tuple[str, str]:
    word = rng.choice(_WORDS)
    return f"Reverse the word {word}.", " ".join(reversed(word))


def _upper(rng: random.Random) -> tuple[str, str]:
    words = " ".join(rng.sample(_WORDS, 2))
    return f"Write {words} in upper case.", words.upper()


def _count(rng: random.Random) -> tuple[str, str]:
    word = rng.choice(_WORDS)
    return f"How many letters are in {word}?", f"{word} has {len(word)} letters"


def _spell(rng: random.Random) -> tuple[str, str]:
    word = rng.choice(_WORDS)
    return f"Spell {word}.", " ".join(word)


TASKS: tuple[Task, ...] = (_add, _subtract, _multiply, _reverse, _upper, _count, _spell)


def _conversations(rng: random.Random) -> Iterator[dict[str, Any]]:
    while True:
        task = rng.choice(TASKS)
        question, answer = task(rng)
        yield {
            "messages": [
                {"role": "user", "content": question},
                {"role": "assistant", "content": answer},
            ]
        }


def generate(seed: int = SEED, sizes: dict[str, int] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Rows per split; no question appears in two splits (or twice in one)."""
    sizes = sizes or SPLITS
    rng = random.Random(seed)
    seen: set[str] = set()
    out: dict[str, list[dict[str, Any]]] = {}
    stream = _conversations(rng)
    for split in sorted(sizes, key=lambda s: s != "test"):  # test first: held-out rows are fixed
        rows: list[dict[str, Any]] = []
        while len(rows) < sizes[split]:
            row = next(stream)
            question = row["messages"][0]["content"]
            if question not in seen:
                seen.add(question)
                rows.append(row)
        out[split] = rows
    return out


def render_jsonl(rows: list[dict[str, Any]]) -> str:
    """The exact bytes of a split file: one compact, key-sorted object per line."""
    return "".join(json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n" for row in rows)


def write(directory: Path = DATA_DIR, seed: int = SEED) -> list[Path]:
    """Write `<split>.jsonl` for every split into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for split, rows in generate(seed).items():
        path = directory / f"{split}.jsonl"
        atomic_write(path, render_jsonl(rows))
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write(Path(sys.argv[1]) if len(sys.argv) > 1 else DATA_DIR):
        print(written)
