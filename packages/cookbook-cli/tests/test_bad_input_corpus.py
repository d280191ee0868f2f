"""Runs the bad-input corpus (corpus.py): exit 2, one line, no traceback, no secret, nothing changed.

Fast cases run in-process through the CLI runner; cases that start training are
marked slow. `test_should_succeed` holds the valid edge cases (BOM, CRLF, unicode,
secrets in a spec) that must keep working.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from cookbook_cli.app import app
from corpus import CASES, SECRET, Case, jsonl, spec_text
from typer.testing import CliRunner


def _snapshot(root: Path) -> dict[str, Any]:
    """Every entry under `root`: file bytes, directory marker or symlink target (never followed)."""
    found: dict[str, Any] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            if path.is_symlink():
                found[rel] = ("link", os.readlink(path))
            elif path.is_dir():
                found[rel] = "dir"
            else:
                found[rel] = path.read_bytes()
    return found


def _materialize(case: Case, tmp: Path) -> Any:
    for rel, content in case.files.items():
        path = tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            path.mkdir(exist_ok=True)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return case.setup(tmp) if case.setup is not None else None


def _params() -> list[Any]:
    return [pytest.param(c, id=c.id, marks=[pytest.mark.slow] if c.slow else []) for c in CASES]


def test_the_corpus_is_large_and_covers_every_class() -> None:
    assert len(CASES) >= 100, len(CASES)
    assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"
    classes = Counter(c.cls for c in CASES)
    for cls in ("data loss", "resume checks first", "secrets", "numbers", "unreadable files",
                "data checked too late", "validate first", "bounded output", "commands beyond run"):
        assert classes[cls] >= 2, (cls, classes)
    commands = {c.args[0] for c in CASES}
    assert {"run", "run-spec", "plot", "serve", "runs", "sample", "describe", "spec"} <= commands


@pytest.mark.parametrize("case", _params())
def test_bad_input(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keep = _materialize(case, tmp_path)
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    args = list(case.args)
    if (tmp_path / ".port").exists():
        args = [a.replace("{port}", (tmp_path / ".port").read_text()) for a in args]
    before = _snapshot(tmp_path)
    result = CliRunner().invoke(app, args)
    if hasattr(keep, "close"):  # e.g. the socket that holds a port busy
        keep.close()
    output = result.stdout + result.stderr
    assert result.exit_code == 2, f"{case.id}: exit {result.exit_code}\n{output[-3000:]}\n{result.exception!r}"
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("cookbook: error: "), f"{case.id}: {result.stderr[-3000:]!r}"
    assert re.search(case.match, lines[0]), f"{case.id}: {lines[0]!r} does not match {case.match!r}"
    assert len(result.stderr) <= 700, f"{case.id}: {len(result.stderr)} characters of error"
    assert len(result.stdout) <= 2000, f"{case.id}: {len(result.stdout)} characters on stdout"
    assert "Traceback" not in output
    assert SECRET not in output
    assert _snapshot(tmp_path) == before, f"{case.id}: the folder changed"


# -- valid edge cases that must keep working ---------------------------------------------------------
def _ok(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, f"{args}: {result.stderr[-2000:]} {result.exception!r}"
    return result


def test_a_json_config_with_a_bom_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_bytes(b"\xef\xbb\xbf" + json.dumps({"name": "bom", "log_path": "r"}).encode())
    _ok("run", "toy", "--manifest", "test", "-c", "c.json")
    assert json.loads((tmp_path / "r" / "experiment.json").read_text())["id"] == "bom"


@pytest.mark.parametrize(("name", "text"), [
    ("c.yaml", "name: crlf\r\nlog_path: r\r\ntraining:\r\n  steps: 2\r\n"),
    ("c.toml", 'name = "crlf"\r\nlog_path = "r"\r\n[training]\r\nsteps = 2\r\n'),
    ("c.json", '{\r\n "name": "crlf",\r\n "log_path": "r"\r\n}\r\n'),
])
def test_crlf_configs_are_accepted(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_bytes(text.encode())
    _ok("run", "toy", "--manifest", "test", "-c", name)
    assert json.loads((tmp_path / "r" / "experiment.json").read_text())["id"] == "crlf"


def test_unicode_values_round_trip(tmp_path: Path) -> None:
    _ok("run", "toy", "--manifest", "test", "name=ëxpérïment-日本", "tags=[\"ünï\", \"😀\"]", "log_path=rün")
    spec = json.loads((tmp_path / "rün" / "experiment.json").read_text(encoding="utf-8"))
    assert spec["id"] == "ëxpérïment-日本" and spec["tags"] == ["ünï", "😀"]


def test_a_spec_with_a_bom_and_a_secret_runs_redacted_and_resumes(tmp_path: Path) -> None:
    (tmp_path / "exp.json").write_bytes(b"\xef\xbb\xbf" + spec_text(metadata={"api_key": SECRET}).encode())
    first = _ok("run-spec", "exp.json")
    again = _ok("run-spec", "exp.json")
    assert SECRET not in first.output + again.output
    for path in (tmp_path / "spec-run").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_a_secret_config_value_is_never_written(tmp_path: Path) -> None:
    _ok("run", "toy", "--manifest", "test", f"api_key={SECRET}", "log_path=r")
    for path in (tmp_path / "r").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_an_empty_existing_directory_is_used(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    _ok("run", "toy", "--manifest", "test", "log_path=empty")
    assert (tmp_path / "empty" / ".cookbook-run").is_file()


def test_a_damaged_run_can_be_overwritten(tmp_path: Path) -> None:
    _ok("run", "toy", "--manifest", "test", "log_path=r")
    (tmp_path / "r" / "events.jsonl").write_text("%%%\n{}\n")
    _ok("run", "toy", "--manifest", "test", "log_path=r", "--if-exists", "overwrite", "--yes")
    assert json.loads((tmp_path / "r" / "run.json").read_text())["status"] == "finished"


def test_an_empty_yaml_config_is_no_values(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("")
    _ok("spec", "toy", "--manifest", "test", "-c", "c.yaml")


def test_a_dataset_with_crlf_and_unicode_preflights(tmp_path: Path) -> None:
    rows = [{"messages": [{"role": "user", "content": "¿qué?"}, {"role": "assistant", "content": "sí 日本"}]}] * 4
    (tmp_path / "d.jsonl").write_bytes(jsonl(*rows).replace("\n", "\r\n").encode())
    from cookbook_runtime.framework import preflight, validate
    from cookbook_runtime.runtime import Runtime

    runtime = Runtime("local")
    spec = runtime.build_spec("sl_basic", {"dataset": {"name": "d.jsonl"}, "batch_size": 2})
    import asyncio

    ports = runtime.ports(spec.backend)
    asyncio.run(preflight(validate(spec), spec, ports))  # raises on any problem
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_a_row_that_breaks_later_names_its_line_and_the_run_resumes(tmp_path: Path) -> None:
    """Past the rows checked up front, a bad row fails the stage with file:line; fixed, the run resumes."""
    rows = [{"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]}
            for i in range(40)]
    lines = [json.dumps(r) for r in rows]
    good = lines[30]
    lines[30] = '{"messages": [oops'
    data = tmp_path / "d.jsonl"
    data.write_text("\n".join(lines) + "\n")
    args = ["run", "sl_basic", 'dataset={"name": "d.jsonl"}', "batch_size=4", "save_every=1", "eval_every=0",
            "max_steps=10", "num_epochs=1", "log_path=r"]
    failed = CliRunner().invoke(app, args)
    assert failed.exit_code == 2, failed.output
    assert re.search(r"d\.jsonl:31: malformed JSON", failed.stderr.splitlines()[-1]), failed.stderr
    assert "Traceback" not in failed.output
    assert json.loads((tmp_path / "r" / "run.json").read_text())["status"] == "failed"
    saved = [json.loads(x)["step"] for x in (tmp_path / "r" / "checkpoints.jsonl").read_text().splitlines()]
    assert saved, "no checkpoint before the bad row"

    lines[30] = good
    data.write_text("\n".join(lines) + "\n")
    resumed = CliRunner().invoke(app, args)
    assert resumed.exit_code == 0, resumed.output
    assert "resuming run in r" in resumed.stderr
    assert json.loads((tmp_path / "r" / "run.json").read_text())["status"] == "finished"
