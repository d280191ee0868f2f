"""Evaluator kinds: `KIND:REF` task references dispatched to an installed factory, on the fakes."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from cookbook_runtime.errors import AdapterUnavailable, ConfigError
from cookbook_runtime.framework import run
from cookbook_runtime.ir import Experiment, StageSpec
from cookbook_runtime.ports import Ports
from cookbook_runtime.testing import FakeServiceClient
from cookbook_runtime.train.eval import EvaluatorKind, check_task, split_kind
from cookbook_runtime.train.eval import _kinds as kinds_module
from cookbook_runtime.train.renderers import get_renderer
from cookbook_runtime.train.stages import TaskEvalSettings

from .conftest import TOKENIZER

# A factory as a plugin would ship it: `demo:PATH` is the JSONL file at PATH, scored
# by the runtime's own evaluator, with an extra score so the kind's scores show.
DEMO_MODULE = '''
from dataclasses import replace
from pathlib import Path

from cookbook_runtime.train.eval import BenchmarkEvaluator, read_task_file


class Demo(BenchmarkEvaluator):
    async def evaluate(self, client):
        result = await super().evaluate(client)
        return replace(result, scores={"items": float(result.num_items)})


class Factory:
    built = []

    def check(self, ref):
        return read_task_file(Path(ref), limit=1).name

    def build(self, ref, renderer, *, limit, num_samples, ks, temperature, max_tokens, seed, name, work_dir):
        self.built.append((ref, work_dir))
        task = read_task_file(Path(ref))
        return Demo(task, renderer, num_samples=num_samples, ks=ks, temperature=temperature,
                    max_tokens=max_tokens, seed=seed, limit=limit, name=name)


FACTORY = Factory()
'''


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The `demo` kind installed (and `gone`, whose module needs a missing package); a task file for it."""
    (tmp_path / "demo_kind.py").write_text(textwrap.dedent(DEMO_MODULE))
    (tmp_path / "gone_kind.py").write_text("import no_such_package_for_this_test\nFACTORY = None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    installed = {
        "demo": EvaluatorKind(name="demo", factory="demo_kind:FACTORY"),
        "gone": EvaluatorKind(name="gone", factory="gone_kind:FACTORY", extra="gone"),
    }
    monkeypatch.setattr(kinds_module, "_kinds", lambda: installed)
    task = tmp_path / "letters.jsonl"
    task.write_text("".join(json.dumps({"prompt": f"say {c}", "answer": c}) + "\n" for c in "abc"))
    return task


def test_only_installed_kinds_are_split_off(demo: Path) -> None:
    split = split_kind(f"demo:{demo}")
    assert split is not None and (split[0].name, split[1]) == ("demo", str(demo))
    assert split_kind("tiny_chat") is None
    assert split_kind("other:thing") is None, "an unknown prefix is left to the task loader"
    with pytest.raises(ConfigError, match="names the 'demo' evaluator but no task"):
        split_kind("demo:")


def test_check_task_asks_the_kind_and_falls_back_to_jsonl_tasks(demo: Path) -> None:
    assert check_task(f"demo:{demo}") == "letters"
    assert check_task(str(demo)) == "letters"
    with pytest.raises(ConfigError, match="unknown eval task 'other:thing'"):
        check_task("other:thing")


def test_a_kind_whose_extra_is_missing_names_the_install(demo: Path) -> None:
    with pytest.raises(AdapterUnavailable, match=r"pip install 'cookbook-adapters\[gone\]'"):
        check_task("gone:anything")


def test_settings_hand_the_kind_every_option_and_the_work_dir(demo: Path, tmp_path: Path) -> None:
    settings = TaskEvalSettings(task=f"demo:{demo}", num_samples=2, k=[1, 2], limit=2, temperature=0.5)
    evaluator = settings.evaluator(get_renderer("qwen3_instruct", TOKENIZER), work_dir=tmp_path / "run")
    assert (evaluator.num_samples, evaluator.ks, len(evaluator.task.items)) == (2, (1, 2), 2)  # type: ignore[union-attr]
    from demo_kind import FACTORY  # type: ignore[import-not-found]

    assert FACTORY.built[-1] == (str(demo), tmp_path / "run")


async def test_the_evaluate_stage_writes_a_kinds_scores(demo: Path, tmp_path: Path) -> None:
    options = {"task": f"demo:{demo}", "base_model": "fake/model", "renderer": "qwen3_instruct"}
    spec = Experiment(id="ev", pipeline=[StageSpec(name="evaluate", options=options)])
    ctx = await run(spec, Ports(service=FakeServiceClient()), tmp_path / "run")
    out = ctx.outputs["evaluate"]
    assert (out["task"], out["num_items"], out["scores"]) == ("letters", 3, {"items": 3.0})
    summary = json.loads((tmp_path / "run" / "eval" / "letters.json").read_text())
    assert summary["scores"] == {"items": 3.0}
