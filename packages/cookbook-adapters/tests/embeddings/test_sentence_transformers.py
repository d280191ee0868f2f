"""The sentence-transformers adapter on the bundled all-MiniLM-L6-v2, fully offline."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from cookbook_adapters.embeddings import SentenceTransformerEmbeddings
from cookbook_runtime.errors import ConfigError
from cookbook_runtime.ports import create_adapter
from cookbook_runtime.testing import EMBEDDING_CHECKS


@pytest.fixture(scope="module")
def client() -> SentenceTransformerEmbeddings:
    return SentenceTransformerEmbeddings(batch_size=2)


@pytest.mark.parametrize("check", EMBEDDING_CHECKS.values(), ids=list(EMBEDDING_CHECKS))
async def test_embedding_contract(check: Any, client: SentenceTransformerEmbeddings) -> None:
    await check(client)


def _cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(
        sum(x * x for x in a) * sum(y * y for y in b)
    )


async def test_vectors_are_384_dim_unit_vectors(client: SentenceTransformerEmbeddings) -> None:
    (vec,) = await client.embed(["hello"])
    assert len(vec) == 384
    assert abs(math.sqrt(sum(x * x for x in vec)) - 1.0) < 1e-4


async def test_similar_texts_are_closer_than_unrelated_ones(client: SentenceTransformerEmbeddings) -> None:
    cat, kitten, stocks = await client.embed(
        ["a cat sat on the mat", "a kitten lay on the rug", "stock markets fell sharply today"]
    )
    assert _cos(cat, kitten) > _cos(cat, stocks) + 0.2


async def test_batching_does_not_change_vectors(client: SentenceTransformerEmbeddings) -> None:
    texts = [f"sentence number {i} about topic {i % 3}" for i in range(5)]
    one_big = await SentenceTransformerEmbeddings(batch_size=64).embed(texts)
    small = await client.embed(texts)  # batch_size=2: three batches
    for a, b in zip(one_big, small, strict=True):
        assert max(abs(x - y) for x, y in zip(a, b, strict=True)) < 1e-4


def test_registry_builds_the_adapter_with_options() -> None:
    made = create_adapter("sentence-transformers", "embeddings", {"batch_size": 8})
    assert isinstance(made, SentenceTransformerEmbeddings) and made.batch_size == 8


def test_missing_model_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no sentence-transformers model"):
        SentenceTransformerEmbeddings(model_path=str(tmp_path / "nope"))


def test_zero_batch_size_is_rejected() -> None:
    with pytest.raises(ConfigError, match="batch_size"):
        SentenceTransformerEmbeddings(batch_size=0)
