from __future__ import annotations

import json

import pytest
from cookbook_runtime.ir import (
    BackendRef,
    DatasetRef,
    Experiment,
    ModelRef,
    PortBinding,
    StageSpec,
    TrainingConfig,
    experiment_json_schema,
)
from pydantic import ValidationError


def _full() -> Experiment:
    return Experiment(
        id="sl",
        description="a run",
        tags=["x", "ünïcode"],
        backend=BackendRef(manifest="local", overrides={"blobs": PortBinding(adapter="s3", options={"bucket": "b"})}),
        dataset=DatasetRef(name="data.jsonl", test_size=8),
        training=TrainingConfig(model=ModelRef(name="m", renderer="qwen3"), learning_rate=3e-4, max_steps=5),
        pipeline=[StageSpec(name="supervised_train", options={"a": [1, 2.5, None, {"b": True}]}), StageSpec(name="x", enabled=False)],
        metadata={"nested": {"k": [1, "two"]}},
    )


def test_json_round_trip_is_lossless() -> None:
    exp = _full()
    again = Experiment.from_json(exp.to_json())
    assert again == exp
    assert again.to_json() == exp.to_json()


def test_frozen_and_forbid_extra() -> None:
    exp = _full()
    with pytest.raises(ValidationError):
        exp.id = "y"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="extra"):
        ModelRef(name="m", colour="red")  # type: ignore[call-arg]


def test_every_field_documented() -> None:
    for model in (Experiment, StageSpec, TrainingConfig, ModelRef, DatasetRef, BackendRef, PortBinding):
        missing = [n for n, f in model.model_fields.items() if not f.description]
        assert not missing, f"{model.__name__} fields without description: {missing}"


def test_json_schema_exported() -> None:
    schema = experiment_json_schema()
    json.dumps(schema)
    assert "pipeline" in schema["properties"]
    assert schema["properties"]["pipeline"]["description"] == "Stages to run, in order."


def test_training_config_derives_from_a_recipe_configs_same_named_fields() -> None:
    from cookbook_runtime.ir import ModelRef, TrainingConfig
    from pydantic import BaseModel

    class RecipeConfig(BaseModel):
        learning_rate: float = 3e-3
        batch_size: int = 7
        unrelated: str = "ignored"

    training = TrainingConfig.derive(RecipeConfig(), model=ModelRef(name="m"), batch_size=9)
    assert (training.learning_rate, training.batch_size, training.model.name) == (3e-3, 9, "m")
    assert training.num_epochs == TrainingConfig.model_fields["num_epochs"].default
