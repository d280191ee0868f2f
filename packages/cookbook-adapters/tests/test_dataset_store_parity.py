"""The `files` and `hf` dataset stores order the same rows the same way.

The `local` manifest reads datasets through `files` and `tinker` through `hf`; both
shuffle by the runtime's `shuffled_order(seed, n)`, so a run sees the same held-out
split and the same batches whichever store holds the data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import datasets
import pytest
from cookbook_adapters.files import FileDatasetStore
from cookbook_adapters.hf import HFDatasetStore, HFRows
from cookbook_runtime.ir import DatasetRef
from cookbook_runtime.ports import DatasetStore, Rows, shuffled_order
from cookbook_runtime.train.data import SupervisedDataset, open_supervised_splits
from cookbook_runtime.train.datum import datum_from_model_input_weights
from cookbook_runtime.types import Datum, ModelInput

SEEDS = (0, 1, 42, 2026)
N_ROWS = 103


def _rows(n: int) -> list[dict[str, Any]]:
    return [
        {"id": i, "messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i * 7 % 13}"}]}
        for i in range(n)
    ]


def _to_datum(messages: list[dict[str, Any]]) -> Datum:
    tokens = list("|".join(m["content"] for m in messages).encode())
    return datum_from_model_input_weights(ModelInput.from_ints(tokens), [1.0] * len(tokens))


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in _rows(N_ROWS)), encoding="utf-8")
    return path


def _stores(tmp_path: Path) -> dict[str, DatasetStore]:
    return {
        "files": FileDatasetStore(),
        "hf": HFDatasetStore(cache_dir=str(tmp_path / "hf-cache"), hub_cache=str(tmp_path / "hub"), offline=True),
    }


def _ids(rows: Rows) -> list[int]:
    return [int(r["id"]) for r in rows]


def test_shuffle_is_the_runtime_order_on_both_stores_and_on_an_in_memory_dataset(data_file: Path, tmp_path: Path) -> None:
    ref = DatasetRef(name=str(data_file), format="jsonl")
    views: dict[str, Rows] = {name: store.open(ref) for name, store in _stores(tmp_path).items()}
    views["hf-in-memory"] = HFRows(datasets.Dataset.from_list(_rows(N_ROWS)))
    for seed in SEEDS:
        expected = list(shuffled_order(seed, N_ROWS))
        for name, rows in views.items():
            assert _ids(rows.shuffle(seed)) == expected, f"store {name}, seed {seed}"
            assert _ids(rows.skip(10).shuffle(seed)) == [10 + i for i in shuffled_order(seed, N_ROWS - 10)], (
                f"store {name}, skip(10).shuffle({seed})"
            )


def test_train_test_split_and_epoch_batches_match_across_stores(data_file: Path, tmp_path: Path) -> None:
    ref = DatasetRef(name=str(data_file), format="jsonl", test_size=17)
    for seed in SEEDS:
        seen: dict[str, tuple[list[int], list[int], list[list[list[int]]]]] = {}
        for name, store in _stores(tmp_path).items():
            train, test = open_supervised_splits(store, ref, _to_datum, batch_size=8, seed=seed)
            assert test is not None
            assert isinstance(train, SupervisedDataset)
            epochs = [
                [d.model_input.to_ints() for batch in train.batches(epoch) for d in batch.data] for epoch in (0, 1)
            ]
            test_tokens = [d.model_input.to_ints() for batch in test.batches(0) for d in batch.data]
            seen[name] = (list(train.epoch_order(0)), [len(t) for t in test_tokens], epochs)
            held_out = _ids(store.open(ref).shuffle(seed).take(17))
            assert held_out == list(shuffled_order(seed, N_ROWS)[:17]), f"store {name}, seed {seed}: held-out ids"
            assert test_tokens == [_to_datum(_rows(N_ROWS)[i]["messages"]).model_input.to_ints() for i in held_out]
        assert seen["files"] == seen["hf"], f"seed {seed}: files and hf disagree on the split or the batches"
        assert seen["files"][2][0] != seen["files"][2][1], f"seed {seed}: epochs 0 and 1 in the same order"
