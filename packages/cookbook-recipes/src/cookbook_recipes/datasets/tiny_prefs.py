"""`tiny-prefs`: preference pairs on tiny-chat's letter tasks, for offline DPO.

Each row asks one tiny-chat task (copy, reverse or sort a letter string) and pairs
the exact answer (chosen) with a plausible wrong one (rejected): the answer of
another task on the same letters (the confusion a partly trained model makes), or,
where every task gives the same answer, the right answer with one letter changed
(`CONFUSION_SHARE` sets how often the first kind is used; with the shipped 1.0 the
second appears only for such strings). Chosen and rejected have the same length,
so a model cannot win by preferring shorter replies. After one epoch of tiny-chat
SFT the model prefers the right answer on half the held-out pairs: it writes the
format but cannot yet tell the tasks apart, which is what DPO then teaches.

The held-out split's prompts appear neither in this dataset's training split nor in
tiny-chat's training split, so held-out pair accuracy measures a preference that
generalises even after a tiny-chat SFT warm start. The rows are generated from a
seed and shipped as JSONL; `python -m cookbook_recipes.datasets.tiny_prefs`
regenerates them, and a test checks the shipped files match.
"""

from __future__ import annotations

import random
import string
import sys
from pathlib import Path
from typing import Any

from cookbook_runtime.atomic import atomic_write

from cookbook_recipes.datasets import tiny_chat

__all__ = ["DATA_DIR", "NAME", "SPLITS", "generate", "pair_row", "write", "wrong_answer"]

DATA_DIR = Path(__file__).parent / "tiny_prefs"
"""Where the shipped splits live: `train.jsonl` and `test.jsonl`."""

NAME = "cookbook:tiny_prefs"
"""The stable name specs use (entry point `cookbook.datasets:tiny_prefs` -> `DATA_DIR`)."""

SPLITS = {"train": 3000, "test": 128}
"""Rows per split."""

SEED = 4321

CONFUSION_SHARE = 1.0
"""Share of rejected answers that are another task's answer (the rest change one letter)."""


def wrong_answer(task: str, letters: list[str], rng: random.Random) -> str:
    """A plausible wrong answer to `task` on `letters`, never equal to the right one."""
    right = tiny_chat.TASKS[task](letters)
    if rng.random() < CONFUSION_SHARE:
        others = [t for t in sorted(tiny_chat.TASKS) if t != task and tiny_chat.TASKS[t](letters) != right]
        if others:
            return tiny_chat.TASKS[rng.choice(others)](letters)
    words = right.split(" ")
    position = rng.randrange(len(words))
    words[position] = rng.choice([c for c in string.ascii_lowercase if c != words[position]])
    return " ".join(words)


def pair_row(task: str, letters: list[str], rng: random.Random) -> dict[str, Any]:
    """One `{prompt, chosen, rejected}` row, in the `pairs` comparison format."""
    return {
        "prompt": [{"role": "user", "content": tiny_chat.question(task, letters)}],
        "chosen": [{"role": "assistant", "content": tiny_chat.TASKS[task](letters)}],
        "rejected": [{"role": "assistant", "content": wrong_answer(task, letters, rng)}],
    }


def generate(seed: int = SEED, sizes: dict[str, int] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Rows per split; held-out prompts avoid both training splits (this one's and tiny-chat's)."""
    sizes = sizes or SPLITS
    sft_train = {row["messages"][0]["content"] for row in tiny_chat.generate()["train"]}
    rng = random.Random(seed)
    tasks = sorted(tiny_chat.TASKS)
    used: set[str] = set()
    out: dict[str, list[dict[str, Any]]] = {}
    for split in sorted(sizes, key=lambda s: s != "test"):  # test first: held-out rows are fixed
        rows: list[dict[str, Any]] = []
        while len(rows) < sizes[split]:
            task = rng.choice(tasks)
            letters = tiny_chat.random_letters(rng)
            prompt = tiny_chat.question(task, letters)
            if prompt in used or (split == "test" and prompt in sft_train):
                continue
            used.add(prompt)
            rows.append(pair_row(task, letters, rng))
        out[split] = rows
    return out


def write(directory: Path = DATA_DIR, seed: int = SEED) -> list[Path]:
    """Write `<split>.jsonl` for every split into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for split, rows in generate(seed).items():
        path = directory / f"{split}.jsonl"
        atomic_write(path, tiny_chat.render_jsonl(rows))
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write(Path(sys.argv[1]) if len(sys.argv) > 1 else DATA_DIR):
        print(written)
