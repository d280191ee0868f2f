"""`InspectEvaluator` and the `inspect:` evaluator kind on the fakes: metrics, epochs and seeds, logs, stages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cookbook_adapters.inspect import INSPECT_LOG_SUBDIR, InspectEvaluator
from cookbook_adapters.inspect.tasks.tiny_chat import SAMPLES
from cookbook_runtime.errors import BackendError, ConfigError
from cookbook_runtime.framework import read_jsonl, run
from cookbook_runtime.ir import DatasetRef, Experiment, ModelRef, StageSpec, TrainingConfig
from cookbook_runtime.ports import Ports
from cookbook_runtime.testing import (
    ByteTokenizer,
    FakeDatasetStore,
    FakeSamplingClient,
    FakeServiceClient,
    ScriptedSamplingClient,
)
from cookbook_runtime.train.eval import check_task, evaluator_kind_names
from cookbook_runtime.train.renderers import get_renderer
from cookbook_runtime.train.stages import TaskEvalSettings
from inspect_fakes import TASK, Recording

TOK = ByteTokenizer()
QWEN = get_renderer("qwen3_instruct", TOK)
ROWS = [json.loads(line) for line in SAMPLES.read_text().splitlines()]
TASK_FILE = Path(SAMPLES).with_suffix(".py")


def _half_right() -> ScriptedSamplingClient:
    """Right on the even items (with extra spaces the exact grader forgives), wrong on the odd."""
    replies = {r["prompt"]: (f"  {r['answer']} " if i % 2 == 0 else "no idea") for i, r in enumerate(ROWS)}
    return ScriptedSamplingClient(QWEN, replies, TOK)


async def test_metrics_are_the_tasks_own_under_eval_task(tmp_path: Path, user_dirs: Path) -> None:
    evaluator = InspectEvaluator(TASK, QWEN, log_dir=tmp_path / "logs")
    metrics = await evaluator(_half_right())
    assert evaluator.name == "tiny_chat_exact"
    assert metrics["eval/tiny_chat_exact/accuracy"] == pytest.approx(0.5)
    assert metrics["eval/tiny_chat_exact/pass@1"] == pytest.approx(0.5)
    assert "eval/tiny_chat_exact/stderr" in metrics
    logs = list((tmp_path / "logs").glob("*.json"))
    assert len(logs) == 1, "one inspect log per evaluation, in the given log dir"
    assert json.loads(logs[0].read_text())["eval"]["model"] == "cookbook/tiny_chat_exact"
    assert not any(user_dirs.rglob("*")), f"inspect wrote outside its log dir: {list(user_dirs.rglob('*'))}"


async def test_result_records_one_completion_per_epoch_and_limit_applies(tmp_path: Path) -> None:
    evaluator = InspectEvaluator(TASK, QWEN, limit=3, log_dir=tmp_path)
    result = await evaluator.evaluate(_half_right())
    assert [r["id"] for r in result.records] == [r["id"] for r in ROWS[:3]]
    assert [r["correct"] for r in result.records] == [[True], [False], [True]]
    assert result.records[0]["references"] == [ROWS[0]["answer"]]
    assert result.summary()["scores"]["accuracy"] == pytest.approx(2 / 3)


async def test_epochs_are_seeded_samples_and_give_pass_at_k(tmp_path: Path) -> None:
    client = Recording(FakeSamplingClient(TOK))
    evaluator = InspectEvaluator(TASK, QWEN, limit=2, epochs=3, ks=[1, 3], temperature=1.0, seed=40, log_dir=tmp_path)
    result = await evaluator.evaluate(client)
    assert sorted(p.seed for _, _, p in client.calls) == [40, 40, 41, 41, 42, 42]
    assert all(p.temperature == 1.0 and p.max_tokens == 64 for _, _, p in client.calls)
    assert all(len(r["completions"]) == 3 for r in result.records)
    assert set(result.metrics()) >= {"eval/tiny_chat_exact/pass@1", "eval/tiny_chat_exact/pass@3"}
    again = await evaluator.evaluate(FakeSamplingClient(TOK))
    assert [r["completions"] for r in again.records] == [r["completions"] for r in result.records]


async def test_a_failing_task_is_a_backend_error_naming_its_log(tmp_path: Path) -> None:
    task_file = tmp_path / "broken.py"
    task_file.write_text(
        "from inspect_ai import Task, task\n"
        "from inspect_ai.dataset import Sample\n"
        "from inspect_ai.scorer import match\n"
        "from inspect_ai.solver import solver\n\n"
        "@solver\n"
        "def explode():\n"
        "    async def solve(state, generate):\n"
        "        raise RuntimeError('boom')\n"
        "    return solve\n\n"
        "@task\n"
        "def broken():\n"
        "    return Task(dataset=[Sample(input='hi', target='x')], solver=explode(), scorer=match())\n"
    )
    evaluator = InspectEvaluator(str(task_file), QWEN, log_dir=tmp_path / "logs")
    with pytest.raises(BackendError, match=r"inspect task .*broken.py.* did not finish .*boom"):
        await evaluator(FakeSamplingClient(TOK))


def test_the_inspect_kind_is_registered_and_checks_references() -> None:
    assert "inspect" in evaluator_kind_names()
    assert check_task(f"inspect:{TASK}") == "tiny_chat_exact"
    assert check_task(f"inspect:{TASK_FILE}") == "tiny_chat_exact"
    assert check_task(f"inspect:{TASK_FILE}@tiny_chat_exact") == "tiny_chat_exact"


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("inspect:", "names the 'inspect' evaluator but no task"),
        ("inspect:no_such_module:task", "cannot import module 'no_such_module'"),
        ("inspect:cookbook_adapters.inspect.tasks.tiny_chat:nope", "has no 'nope'; tasks there: tiny_chat_exact"),
        ("inspect:cookbook_adapters.inspect.tasks.tiny_chat:SAMPLES", "not a @task function"),
        ("inspect:missing/file.py", "does not exist"),
        (f"inspect:{TASK_FILE}@other", "has no task 'other'"),
        ("inspect:just_a_name", "neither MODULE:TASK nor a .py file"),
    ],
)
def test_bad_references_are_config_errors(ref: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_task(ref)


def test_task_settings_build_an_inspect_evaluator_logging_into_the_run(tmp_path: Path) -> None:
    settings = TaskEvalSettings(task=f"inspect:{TASK}", num_samples=2, k=[1, 2], limit=4, temperature=0.7, seed=3)
    evaluator = settings.evaluator(QWEN, work_dir=tmp_path)
    assert isinstance(evaluator, InspectEvaluator)
    assert (evaluator.epochs, evaluator.ks, evaluator.limit, evaluator.temperature, evaluator.seed) == (2, (1, 2), 4, 0.7, 3)
    assert evaluator.log_dir == tmp_path / INSPECT_LOG_SUBDIR


async def test_the_evaluate_stage_runs_an_inspect_task_and_writes_its_results(tmp_path: Path) -> None:
    options = {"task": f"inspect:{TASK}", "base_model": "fake/model", "renderer": "qwen3_instruct", "limit": 4}
    spec = Experiment(id="ev", pipeline=[StageSpec(name="evaluate", options=options)])
    ctx = await run(spec, Ports(service=FakeServiceClient()), tmp_path / "run")
    out = ctx.outputs["evaluate"]
    assert (out["task"], out["num_items"], out["weights"]) == ("tiny_chat_exact", 4, "base:fake/model")
    assert "accuracy" in out["scores"]
    summary = json.loads((tmp_path / "run" / "eval" / "tiny_chat_exact.json").read_text())
    assert summary["scores"]["accuracy"] == out["scores"]["accuracy"]
    assert len(list(read_jsonl(tmp_path / "run" / "eval" / "tiny_chat_exact.jsonl"))) == 4
    assert list((tmp_path / "run" / INSPECT_LOG_SUBDIR).glob("*.json")), "inspect's log stays in the run directory"


async def test_a_missing_inspect_task_fails_before_the_run_dir_is_written(tmp_path: Path) -> None:
    options = {"task": "inspect:no_such_module:t", "base_model": "fake/model", "renderer": "qwen3_instruct"}
    spec = Experiment(id="ev", pipeline=[StageSpec(name="evaluate", options=options)])
    with pytest.raises(ConfigError, match="cannot import module 'no_such_module'"):
        await run(spec, Ports(service=FakeServiceClient()), tmp_path / "run")
    assert not (tmp_path / "run").exists()


async def test_the_supervised_loop_runs_an_inspect_task_on_its_schedule(tmp_path: Path) -> None:
    chats = [
        {"messages": [{"role": "user", "content": f"copy {a}"}, {"role": "assistant", "content": a}]}
        for a in "abcdefghijklmnop"
    ]
    training = TrainingConfig(
        model=ModelRef(name="fake/model", renderer="qwen3_instruct"),
        dataset=DatasetRef(name="chat"),
        batch_size=4, learning_rate=1e-3, max_steps=4, eval_every=2, save_every=0,
    )
    options = {"eval_tasks": [{"task": f"inspect:{TASK}", "limit": 2}]}
    spec = Experiment(
        id="sl", training=training, dataset=training.dataset,
        pipeline=[StageSpec(name="supervised_train", options=options)],
    )
    store = FakeDatasetStore({"chat": {"train": chats}})
    await run(spec, Ports(service=FakeServiceClient(), datasets=store), tmp_path / "run")
    rows = list(read_jsonl(tmp_path / "run" / "metrics.jsonl"))
    assert [r["step"] for r in rows if "eval/tiny_chat_exact/accuracy" in r] == [0, 2, 4]
    assert len(list((tmp_path / "run" / INSPECT_LOG_SUBDIR).glob("*.json"))) == 3
