"""A recipe trains on the same examples whichever dataset store its manifest wires.

`local` reads datasets through `files`, `tinker` through `hf`. `sl_basic` on the test
manifest, with its shipped tiny-chat rows and a held-out split carved off by a seeded
shuffle, is run once with each store: the held-out prompts and every step's batch
(its token counts and its loss on the deterministic fake backend) must be the same.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cookbook_runtime.framework import read_jsonl

DATASET = '{"name": "cookbook:tiny_chat", "split": "train", "test_size": 16, "format": "jsonl"}'


def _run(cli: Any, store: str) -> tuple[list[dict[str, Any]], list[str]]:
    result = cli(
        "run", "sl_basic", "--manifest", "test", "--port", f"datasets={store}", f"log_path={store}",
        "max_steps=3", "batch_size=8", "eval_every=2", "exact_match_examples=16", f"dataset={DATASET}",
    )
    assert result.exit_code == 0, f"--port datasets={store}: {result.output}"
    steps = [
        {k: v for k, v in row.items() if not k.startswith("time/")}
        for row in read_jsonl(Path(store) / "metrics.jsonl")
        if "step" in row
    ]
    prompts = [r["prompt"] for r in json.loads((Path(store) / "exact_match.json").read_text())["records"]]
    return steps, prompts


def test_sl_basic_sees_the_same_batches_on_files_and_hf(cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "hf-datasets-cache"))
    files_steps, files_prompts = _run(cli, "files")
    hf_steps, hf_prompts = _run(cli, "hf")
    assert files_steps and "num_tokens" in files_steps[0], files_steps
    assert hf_steps[0] == files_steps[0], "the first batch differs between --port datasets=files and =hf"
    assert hf_steps == files_steps, "later batches differ between --port datasets=files and =hf"
    assert len(files_prompts) == 16 and hf_prompts == files_prompts, "the held-out rows differ"
