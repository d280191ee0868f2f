"""Shared helpers for the training-core tests: chat rows and a byte-level datum builder."""

from __future__ import annotations

from typing import Any

import pytest
from cookbook_runtime.ir import DatasetRef, ModelRef, TrainingConfig
from cookbook_runtime.testing import ByteTokenizer, FakeDatasetStore
from cookbook_runtime.train.datum import datum_from_model_input_weights
from cookbook_runtime.train.types import Datum, ModelInput

TOKENIZER = ByteTokenizer()


def chat_rows(n: int, *, prefix: str = "q") -> list[dict[str, Any]]:
    """`n` distinct two-turn conversations."""
    return [
        {"messages": [{"role": "user", "content": f"{prefix}{i}?"}, {"role": "assistant", "content": f"a{i}."}]}
        for i in range(n)
    ]


def byte_datum(messages: list[dict[str, Any]]) -> Datum:
    """A stand-in renderer: bytes of each message, loss on assistant bytes only."""
    tokens: list[int] = []
    weights: list[float] = []
    for m in messages:
        ids = TOKENIZER.encode(f"{m['role']}:{m['content']}\n")
        tokens.extend(ids)
        weights.extend([1.0 if m["role"] == "assistant" else 0.0] * len(ids))
    return datum_from_model_input_weights(ModelInput.from_ints(tokens), weights)


def training_config(**overrides: Any) -> TrainingConfig:
    values: dict[str, Any] = {
        "model": ModelRef(name="fake/model", renderer="bytes"),
        "dataset": DatasetRef(name="chat", test_split="test"),
        "batch_size": 4,
        "learning_rate": 1e-3,
        "lr_schedule": "linear",
        "num_epochs": 2,
        "save_every": 3,
        "eval_every": 2,
        **overrides,
    }
    return TrainingConfig(**values)


@pytest.fixture
def store() -> FakeDatasetStore:
    return FakeDatasetStore({"chat": {"train": chat_rows(20), "test": chat_rows(6, prefix="t")}})
