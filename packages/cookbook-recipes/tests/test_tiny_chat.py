from __future__ import annotations

import json
from pathlib import Path

from cookbook_recipes.datasets import tiny_chat


def test_shipped_files_are_exactly_what_the_generator_makes(tmp_path: Path) -> None:
    tiny_chat.write(tmp_path)
    for split in tiny_chat.SPLITS:
        shipped = (tiny_chat.DATA_DIR / f"{split}.jsonl").read_bytes()
        regenerated = (tmp_path / f"{split}.jsonl").read_bytes()
        assert regenerated == shipped, f"{split}.jsonl differs: run python -m cookbook_recipes.datasets.tiny_chat"


def test_generation_is_deterministic_and_seeded() -> None:
    small = {"train": 50, "test": 10}
    assert tiny_chat.generate(7, small) == tiny_chat.generate(7, small)
    assert tiny_chat.generate(7, small) != tiny_chat.generate(8, small)


def test_held_out_questions_never_appear_in_training() -> None:
    rows = {
        split: [json.loads(line) for line in (tiny_chat.DATA_DIR / f"{split}.jsonl").read_text().splitlines()]
        for split in tiny_chat.SPLITS
    }
    assert {s: len(r) for s, r in rows.items()} == tiny_chat.SPLITS
    questions = {s: {r["messages"][0]["content"] for r in rs} for s, rs in rows.items()}
    assert not questions["train"] & questions["test"]
    for row in rows["train"][:50]:
        assert [m["role"] for m in row["messages"]] == ["user", "assistant"]


def test_answers_are_correct() -> None:
    rows = tiny_chat.generate(3, {"train": 300, "test": 0})["train"]
    seen = set()
    for row in rows:
        question, answer = row["messages"][0]["content"], row["messages"][1]["content"]
        task, *letters = question.split(" ")
        seen.add(task)
        assert all(len(c) == 1 and c.isalpha() for c in letters), question
        assert tiny_chat.MIN_LETTERS <= len(letters) <= tiny_chat.MAX_LETTERS, question
        expected = {"copy": letters, "reverse": letters[::-1], "sort": sorted(letters)}[task]
        assert answer == " ".join(expected), question
    assert seen == set(tiny_chat.TASKS)


def test_recipes_write_files_only_through_the_runtime_helper() -> None:
    import re

    import cookbook_recipes

    root = Path(cookbook_recipes.__file__).parent
    pattern = re.compile(r"tempfile\.mkstemp|os\.replace\(|\.write_text\(|\.write_bytes\(")
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py") if pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == [], f"write through cookbook_runtime.atomic instead: {offenders}"
