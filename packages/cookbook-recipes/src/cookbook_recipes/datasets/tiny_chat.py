"""`tiny-chat`: a small chat dataset of letter-string tasks, made by code.

Offline runs need data no hub has to provide, and a model trained from scratch in a
minute of CPU time must be able to learn it well enough to answer prompts it never
saw. Every conversation is one user task on a short string of single letters
(copy it, reverse it, sort it) and its exact answer. The letters are written one
per word, so the built-in tokenizer gives one token per letter and the tasks are
learnable rules, not memorised words; the held-out split shares no prompt with the
training split, so exact match on it measures a skill that generalises. The rows
are generated from a seed and shipped as JSONL in this package; `python -m
cookbook_recipes.datasets.tiny_chat` regenerates them, and a test checks the shipped
files are exactly what the generator makes.
"""

from __future__ import annotations

import json
import random
import string
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cookbook_runtime.atomic import atomic_write

__all__ = ["DATA_DIR", "NAME", "SPLITS", "TASKS", "generate", "question", "random_letters", "render_jsonl", "write"]

DATA_DIR = Path(__file__).parent / "tiny_chat"
"""Where the shipped splits live: `train.jsonl` and `test.jsonl`."""

NAME = "cookbook:tiny_chat"
"""The stable name specs use (entry point `cookbook.datasets:tiny_chat` -> `DATA_DIR`)."""

SPLITS = {"train": 6000, "test": 64}
"""Rows per split."""

SEED = 1234

MIN_LETTERS = 3
MAX_LETTERS = 6

Task = Callable[[list[str]], str]


def random_letters(rng: random.Random) -> list[str]:
    """A string of 3-6 random lowercase letters, as the generator draws them."""
    return [rng.choice(string.ascii_lowercase) for _ in range(rng.randint(MIN_LETTERS, MAX_LETTERS))]


TASKS: dict[str, Task] = {
    "copy": lambda letters: " ".join(letters),
    "reverse": lambda letters: " ".join(reversed(letters)),
    "sort": lambda letters: " ".join(sorted(letters)),
}
"""Task word -> its answer for a list of letters; the prompt is `"<word> a b c"`."""


def question(task: str, letters: list[str]) -> str:
    """The user prompt of `task` on `letters`: `"<task> a b c"`."""
    return f"{task} {' '.join(letters)}"


def _conversations(rng: random.Random) -> Iterator[dict[str, Any]]:
    names = sorted(TASKS)
    while True:
        name = rng.choice(names)
        letters = random_letters(rng)
        yield {
            "messages": [
                {"role": "user", "content": question(name, letters)},
                {"role": "assistant", "content": TASKS[name](letters)},
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
