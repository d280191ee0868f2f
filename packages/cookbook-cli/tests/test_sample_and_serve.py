"""`cookbook sample` (chat with a run's checkpoint) and `cookbook serve` (wiring only)."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from cookbook_runtime.testing import ByteTokenizer
from cookbook_runtime.train.renderers import get_renderer


def test_sample_answers_from_the_last_checkpoint_through_the_run_renderer(cli: Any) -> None:
    # The fake backend keeps sampler weights in memory, so train and sample in one process.
    assert cli("run", "toy", "--manifest", "test", "log_path=r").exit_code == 0
    result = cli("sample", "r", "Say hi", "--max-tokens", "12")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "user: Say hi"
    answer = lines[1].removeprefix("assistant: ")
    assert lines[1].startswith("assistant: ") and 0 < len(answer) <= 12
    # The same prompt through the same renderer, sampled greedily again, gives the same answer.
    assert cli("sample", "r", "Say hi", "--max-tokens", "12").stdout == result.stdout


def test_sample_prompt_goes_through_the_renderer(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from cookbook_runtime.testing import fakes

    seen: list[list[int]] = []
    original = fakes.FakeSamplingClient.sample

    async def spy(self: Any, prompt: Any, num_samples: int, params: Any) -> Any:
        seen.append(prompt.to_ints())
        return await original(self, prompt, num_samples, params)

    monkeypatch.setattr(fakes.FakeSamplingClient, "sample", spy)
    assert cli("run", "toy", "--manifest", "test", "log_path=r").exit_code == 0
    assert cli("sample", "r", "Say hi", "--system", "Be brief").exit_code == 0
    renderer = get_renderer("role_colon", ByteTokenizer())
    expected = renderer.build_generation_prompt(
        [{"role": "system", "content": "Be brief"}, {"role": "user", "content": "Say hi"}]
    )
    assert seen == [expected.to_ints()]


def test_sample_without_checkpoint_is_one_line(cli: Any, tmp_path: Path) -> None:
    run = tmp_path / "r"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"status": "running"}))
    (run / "experiment.json").write_text(json.dumps({"id": "x", "pipeline": []}))
    result = cli("sample", "r", "hi")
    assert result.exit_code == 2
    assert "has no checkpoint with a sampler_path" in result.stderr and result.stderr.count("\n") == 1


def test_sample_not_a_run(cli: Any) -> None:
    result = cli("sample", "missing", "hi")
    assert result.exit_code == 2 and "is not a run directory" in result.stderr


def test_serve_calls_the_server_with_the_options(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, int, str | None, Path | None]] = []
    fake = types.ModuleType("cookbook_adapters.server")
    fake.serve = lambda host, port, model, state_dir: calls.append((host, port, model, state_dir))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "cookbook_adapters.server", fake)
    result = cli("serve", "--port", "8123", "--model", "cookbook/tiny-chat", "--state-dir", "srv")
    assert result.exit_code == 0, result.output
    assert calls == [("127.0.0.1", 8123, "cookbook/tiny-chat", Path("srv"))]


def test_serve_passes_the_model_name(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    fake = types.ModuleType("cookbook_adapters.server")
    fake.serve = lambda **kwargs: calls.append(kwargs)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "cookbook_adapters.server", fake)
    result = cli("serve", "--port", "8125", "--model", "/models/q", "--model-name", "Qwen/Qwen3-8B")
    assert result.exit_code == 0, result.output
    assert calls[0]["model"] == "/models/q" and calls[0]["model_name"] == "Qwen/Qwen3-8B"
    result = cli("serve", "--port", "8125", "--model-name", "Qwen/Qwen3-8B")
    assert result.exit_code == 2 and "pass --model too" in result.stderr


def test_serve_with_a_file_as_state_dir_exits_2(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("cookbook_adapters.server")
    fake.serve = lambda **_: pytest.fail("serve must not start")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "cookbook_adapters.server", fake)
    Path("state-file").write_text("x")
    result = cli("serve", "--port", "8124", "--state-dir", "state-file")
    assert result.exit_code == 2
    assert "is a file; pass a directory" in result.stderr and result.stderr.count("\n") == 1


def test_serve_without_the_server_extra_exits_2(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cookbook_adapters.server", None)  # import fails
    result = cli("serve")
    assert result.exit_code == 2
    assert "pip install 'cookbook-adapters[server]'" in result.stderr and result.stderr.count("\n") == 1
