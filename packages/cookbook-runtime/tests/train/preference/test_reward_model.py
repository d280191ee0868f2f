"""The Bradley-Terry reward model: the loss by hand, the stage on fakes, and the env that scores with it."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from cookbook_runtime.errors import ConfigError, DataError, StageFailed
from cookbook_runtime.framework import CheckpointRef, RewardModelRef, read_jsonl, run, validate
from cookbook_runtime.ir import DatasetRef, Experiment, ModelRef, StageSpec, TrainingConfig
from cookbook_runtime.ports import Ports
from cookbook_runtime.testing import FakeDatasetStore, FakeServiceClient
from cookbook_runtime.train.datum import datum_from_model_input_weights
from cookbook_runtime.train.preference import (
    RewardScorer,
    bradley_terry_loss,
    bradley_terry_loss_fn,
    reply_score,
)
from cookbook_runtime.train.renderers import get_renderer
from cookbook_runtime.train.stages import (
    DPOTrainOptions,
    RewardModelTrainOptions,
    RewardModelTrainStage,
)
from cookbook_runtime.train.stages._comparisons import ComparisonTrainOptions
from cookbook_runtime.train.types import ModelInput


def test_reward_model_and_dpo_options_share_one_base_and_keep_their_keys() -> None:
    shared = {"dataset", "comparison_format", "eval_batch_size", "max_eval_batches", "training", "init_from_stage"}
    assert set(ComparisonTrainOptions.model_fields) == shared
    assert set(RewardModelTrainOptions.model_fields) == shared | {"score", "beta", "reference", "log_subdir"}
    assert set(DPOTrainOptions.model_fields) == shared | {"dpo_beta", "dataset_from_stage"}
    for options in (RewardModelTrainOptions, DPOTrainOptions):
        with pytest.raises(ValueError, match="unknown comparison_format 'hh'"):
            options.model_validate({"comparison_format": "hh"})
        with pytest.raises(ValueError, match="extra"):
            options.model_validate({"dpo_bta": 1})


def test_loss_and_metrics_by_hand() -> None:
    loss, metrics = bradley_terry_loss([(-1.0, -3.0), (-2.0, -1.5)])
    expected = (math.log1p(math.exp(-2.0)) + math.log1p(math.exp(0.5))) / 2
    assert loss == pytest.approx(expected)
    assert metrics == pytest.approx(
        {"loss": expected, "pair_accuracy": 0.5, "margin": 0.75, "chosen_score": -1.5, "rejected_score": -2.25}
    )


def test_large_margins_do_not_overflow() -> None:
    loss, _ = bradley_terry_loss([(0.0, -5000.0), (-5000.0, 0.0)])
    assert loss == pytest.approx(5000.0 / 2)


def _datum(tokens: list[int], weights: list[float]):  # type: ignore[no-untyped-def]
    return datum_from_model_input_weights(ModelInput.from_ints(tokens), weights)


def test_mean_score_divides_by_the_reply_tokens_and_sum_does_not() -> None:
    assert reply_score([-9.0, -1.0, -3.0], [0.0, 1.0, 1.0], "mean", 2.0) == pytest.approx(-4.0)
    assert reply_score([-9.0, -1.0, -3.0], [0.0, 1.0, 1.0], "sum", 2.0) == pytest.approx(-8.0)
    assert reply_score([-9.0, -1.0, -3.0], [0.0, 1.0, 1.0], "mean", 2.0, reference=-6.0) == pytest.approx(2.0)


def test_custom_loss_pairs_interleaved_datums() -> None:
    chosen = _datum([1, 2, 3, 4], [0, 0, 1, 1])
    rejected = _datum([1, 2, 5, 6, 7], [0, 0, 1, 1, 1])
    logprobs = [[-9.0, -1.0, -1.0], [-9.0, -2.0, -2.0, -2.0]]  # the prompt token's -9 carries no weight
    loss, metrics = bradley_terry_loss_fn("mean", 1.5)([chosen, rejected], logprobs)
    assert loss == pytest.approx(math.log1p(math.exp(-1.5 * (-1.0 + 2.0))))
    assert metrics["num_pairs"] == 1.0 and metrics["pair_accuracy"] == 1.0
    # with reference sums -4 (chosen) and -3 (rejected): scores 1.5 * (-2 + 4) / 2 and 1.5 * (-6 + 3) / 3
    loss, _ = bradley_terry_loss_fn("mean", 1.5, [-4.0, -3.0])([chosen, rejected], logprobs)
    assert loss == pytest.approx(math.log1p(math.exp(-(1.5 - -1.5))))
    with pytest.raises(DataError, match="interleaves"):
        bradley_terry_loss_fn("mean", 1.0)([chosen], [[-1.0, -1.0, -1.0]])


def test_gradient_matches_torch_autograd_of_the_formula() -> None:
    torch = pytest.importorskip("torch")
    gen = torch.Generator().manual_seed(0)
    weights = [[0, 1, 1, 1], [0, 0, 1, 1], [0, 1, 1, 0], [0, 1, 1, 1]]
    data = [_datum(list(range(1, 6)), [0.0, *w]) for w in weights]
    ours = [torch.randn(4, generator=gen, dtype=torch.float64).requires_grad_() for _ in data]
    theirs = [lp.detach().clone().requires_grad_() for lp in ours]
    loss, _ = bradley_terry_loss_fn("mean", 0.7)(data, ours)
    loss.backward()
    means = [(lp * torch.tensor(w, dtype=torch.float64)).sum() / sum(w) for lp, w in zip(theirs, weights, strict=True)]
    ref = -torch.nn.functional.logsigmoid(0.7 * (torch.stack(means[0::2]) - torch.stack(means[1::2]))).mean()
    ref.backward()
    assert float(loss.detach()) == pytest.approx(float(ref.detach()))
    for a, b in zip(ours, theirs, strict=True):
        assert torch.allclose(a.grad, b.grad)


async def test_scores_are_relative_to_the_reference_when_one_is_given() -> None:
    service = FakeServiceClient()
    sampler = await service.create_sampling_client(base_model="fake/model")
    renderer = get_renderer("qwen3_instruct", service.get_tokenizer("fake/model"))
    prompt, reply = [{"role": "user", "content": "q?"}], [{"role": "assistant", "content": "yes"}]
    raw = await RewardScorer(sampler, renderer, "mean", 2.0)(prompt, reply)  # type: ignore[arg-type]
    relative = await RewardScorer(sampler, renderer, "mean", 2.0, reference=sampler)(prompt, reply)  # type: ignore[arg-type]
    assert raw < 0 and relative == pytest.approx(0.0, abs=1e-9)


def _rows(n: int, prefix: str) -> list[dict[str, Any]]:
    return [{"prompt": f"{prefix}{i}?", "chosen": f"yes {i}", "rejected": f"no {i}!"} for i in range(n)]


def _store() -> FakeDatasetStore:
    return FakeDatasetStore({
        "prefs": {"train": _rows(24, "q"), "test": _rows(6, "t")},
        "chat": {"train": [{"messages": [{"role": "user", "content": f"q{i}"},
                                          {"role": "assistant", "content": f"a{i}"}]} for i in range(16)]},
    })


PREFS = DatasetRef(name="prefs", test_split="test")


def _training(**overrides: Any) -> TrainingConfig:
    return TrainingConfig(
        model=ModelRef(name="fake/model", renderer="qwen3_instruct"), dataset=PREFS,
        **{"batch_size": 4, "learning_rate": 1e-2, "save_every": 2, "eval_every": 3, **overrides},
    )


def _spec(*stages: StageSpec, **training: Any) -> Experiment:
    return Experiment(id="rm", training=_training(**training), pipeline=list(stages))


def test_options_are_strict_and_documented() -> None:
    options = RewardModelTrainStage.Options
    assert options.model_config.get("extra") == "forbid" and options.model_config.get("frozen") is True
    assert all(f.description for f in options.model_fields.values())
    for bad, match in (({"comparison_format": "hh"}, "comparison_format 'hh'"), ({"beta": 0}, "beta"),
                       ({"score": "max"}, "score")):
        with pytest.raises(ConfigError, match=match):
            validate(_spec(StageSpec(name="reward_model_train", options=bad)))


async def test_trains_logs_metrics_and_publishes_a_reward_model_ref(tmp_path: Path) -> None:
    spec = _spec(StageSpec(name="reward_model_train", options={"log_subdir": "rm"}))
    ctx = await run(spec, Ports(service=FakeServiceClient(), datasets=_store()), tmp_path)
    out = ctx.outputs["reward_model_train"]
    assert out["steps"] == 6 and {"first_test_pair_accuracy", "final_test_pair_accuracy"} <= set(out)
    rows = list(read_jsonl(tmp_path / "rm" / "metrics.jsonl"))
    train_rows = [r for r in rows if "loss" in r]
    assert [r["step"] for r in train_rows] == list(range(6))
    assert all("pair_accuracy" in r for r in train_rows)
    assert [r["step"] for r in rows if "test/pair_accuracy" in r] == [0, 3, 6]
    ref = ctx.artifact(RewardModelRef, stage="reward_model_train")
    assert (ref.sampler_path, ref.score, ref.beta) == (out["final_sampler_path"], "mean", 1.0)
    assert ref.held_out_pair_accuracy == out["final_test_pair_accuracy"]
    assert ctx.find_artifact(CheckpointRef, stage="reward_model_train") is None
    assert not (tmp_path / "metrics.jsonl").exists()


def _rlhf(**rl: Any) -> Experiment:
    sft = StageSpec(name="supervised_train", options={"log_subdir": "sft", "training": {
        "dataset": {"name": "chat"}, "max_steps": 2}})
    rm = StageSpec(name="reward_model_train", options={
        "log_subdir": "rm", "init_from_stage": "supervised_train", "training": {"max_steps": 2}})
    env = {"dataset": PREFS.model_dump(mode="json"), "reward_model_stage": "reward_model_train", "test_prompts": 4}
    policy = StageSpec(name="rl_train", options={
        "env": "reward_model", "env_options": env, "init_from_stage": "supervised_train", "group_size": 2,
        "max_tokens": 8, **rl})
    return _spec(sft, rm, policy, max_steps=3, eval_every=2)


async def test_rl_on_the_reward_models_score_after_sft(tmp_path: Path) -> None:
    ctx = await run(_rlhf(), Ports(service=FakeServiceClient(), datasets=_store()), tmp_path)
    out = ctx.outputs["rl_train"]
    assert out["steps"] == 3 and {"first_test_reward", "final_test_reward"} <= set(out)
    rows = [r for r in read_jsonl(tmp_path / "metrics.jsonl") if "env/all/rm_score" in r]
    assert len(rows) == 3
    assert all(r["env/all/rm_score"] == pytest.approx(r["env/all/reward/total"]) for r in rows)
    assert ctx.artifact(RewardModelRef).reference_sampler_path is not None  # scores relative to the SFT weights
    assert ctx.artifact(CheckpointRef, stage="rl_train").kind == "rl"
    started = [e for e in ctx.run_dir.events() if e["event"] == "stage_finished"]
    assert [e["stage"] for e in started] == ["supervised_train", "reward_model_train", "rl_train"]


async def test_rl_without_a_reward_model_says_which_stage_to_add(tmp_path: Path) -> None:
    spec = _rlhf()
    spec = spec.model_copy(update={"pipeline": [spec.pipeline[0], spec.pipeline[2]]})
    with pytest.raises(StageFailed, match="needs a RewardModelRef from stage 'reward_model_train', which is not in"):
        await run(spec, Ports(service=FakeServiceClient(), datasets=_store()), tmp_path)


async def test_a_resumed_rl_stage_gets_the_reward_model_back(tmp_path: Path) -> None:
    spec = _rlhf()
    ports = Ports(service=FakeServiceClient(root=str(tmp_path / "states")), datasets=_store())
    await run(spec, ports, tmp_path / "run")
    events = [json.loads(x) for x in (tmp_path / "run" / "events.jsonl").read_text().splitlines()]
    kept = [e for e in events if not (e.get("stage") == "rl_train" and e["event"] == "stage_finished")]
    (tmp_path / "run" / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in kept))
    ports = Ports(service=FakeServiceClient(root=str(tmp_path / "states")), datasets=_store())
    ctx = await run(spec, ports, tmp_path / "run")
    assert ctx.outputs["rl_train"]["steps"] == 3
    assert ctx.artifact(RewardModelRef).sampler_path == ctx.outputs["reward_model_train"]["final_sampler_path"]
