"""The registry port's wiring and rules: it shares the run's blob store, and its names parse strictly."""

from __future__ import annotations

import pytest
from cookbook_runtime.errors import ConfigError, PortNotConfigured
from cookbook_runtime.ir import PortBinding
from cookbook_runtime.ports import (
    Ports,
    VersionRef,
    config_hash,
    load_manifest,
    parse_model_spec,
    resolve_bindings,
)
from cookbook_runtime.ports._model_rules import check_stage_move
from cookbook_runtime.testing import FakeBlobStore, FakeModelRegistry


def test_registry_is_given_the_manifests_blob_store() -> None:
    store = FakeBlobStore()
    ports = Ports(resolve_bindings(load_manifest("test")), blobs=store)
    registry = ports.registry
    assert isinstance(registry, FakeModelRegistry)
    assert registry.blobs is store


def test_blob_store_cannot_be_passed_as_a_registry_option() -> None:
    ports = Ports({"registry": PortBinding.model_validate({"adapter": "fake", "options": {"blobs": "x"}})})
    with pytest.raises(ConfigError, match="wire those ports instead"):
        ports.get("registry")


def test_unwired_registry_raises_on_use() -> None:
    with pytest.raises(PortNotConfigured, match="'registry'"):
        Ports().registry.list()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("m", ("m", None)), ("m:3", ("m", 3)), ("my-model.v2:production", ("my-model.v2", "production"))],
)
def test_parse_model_spec(text: str, expected: tuple[str, object]) -> None:
    assert parse_model_spec(text) == expected


@pytest.mark.parametrize("text", ["", "m:", "m:0", "m:latest", "../m", "m:1:2", "-m"])
def test_parse_model_spec_rejects(text: str) -> None:
    with pytest.raises(ConfigError, match="bad model"):
        parse_model_spec(text)


def test_config_hash_ignores_key_order() -> None:
    assert config_hash({"a": 1, "b": {"c": 2, "d": 3}}) == config_hash({"b": {"d": 3, "c": 2}, "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})


@pytest.mark.parametrize(
    ("current", "to", "ok"),
    [
        ("experiment", "staging", True),
        ("experiment", "production", True),
        ("staging", "archived", True),
        ("archived", "production", True),
        ("staging", "experiment", False),
        ("production", "staging", False),
        ("archived", "experiment", False),
        ("staging", "staging", False),
    ],
)
def test_stage_moves(current: str, to: str, ok: bool) -> None:
    ref = str(VersionRef(name="m", version=1))
    if ok:
        check_stage_move(ref, current, to)  # type: ignore[arg-type]
    else:
        with pytest.raises(ConfigError, match="m:1"):
            check_stage_move(ref, current, to)  # type: ignore[arg-type]
