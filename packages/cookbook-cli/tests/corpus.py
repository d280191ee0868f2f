"""The bad-input corpus: what a careless or hostile user types, and what must happen.

Each `Case` is one command line plus the files it finds on disk. Every case must
end with exit code 2 and one line on stderr (`cookbook: error: ...` matching
`match`), no traceback, no secret anywhere in the output, and the working folder
byte-for-byte as it was. `test_bad_input_corpus.py` runs the table; a case that
starts training is marked slow there.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SECRET = "sk-corpus-SECRET-do-not-print-4242"
"""Planted in configs, specs and manifests; must never reach the output or a written file."""

Files = dict[str, "str | bytes | None"]
"""Relative path -> text, bytes, or None for an empty directory."""


@dataclass(frozen=True)
class Case:
    """One bad input."""

    id: str
    args: tuple[str, ...]
    match: str
    """Regex the one error line must match."""
    files: Files = field(default_factory=dict)
    setup: Callable[[Path], Any] | None = None
    """Prepares the folder beyond `files` (e.g. a real run to damage); may return an object kept alive."""
    env: dict[str, str] = field(default_factory=dict)
    slow: bool = False
    cls: str = ""
    """The issue's class of bad input this case belongs to."""


# -- shared inputs ---------------------------------------------------------------------------------
TOY = ("run", "toy", "--manifest", "test")
SL = ("run", "sl_basic", "--manifest", "local", "log_path=out")
GOOD_ROW = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}


def jsonl(*rows: Any) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)


def good_rows(n: int = 8) -> list[Any]:
    return [GOOD_ROW] * n


def data_case(cid: str, rows: list[Any] | str | bytes, match: str, *extra: str, name: str = "d.jsonl") -> Case:
    """`sl_basic` on the local engine over the dataset file `name` holding `rows`."""
    content = rows if isinstance(rows, str | bytes) else jsonl(*rows)
    return Case(
        cid,
        (*SL, f'dataset={{"name": "{name}"}}', "batch_size=2", *extra),
        match,
        files={name: content},
        cls="data checked too late",
    )


def toy_run(tmp: Path, log_path: str = "r", *overrides: str) -> None:
    """A real finished toy run in `tmp/log_path`, made through the runtime."""
    from cookbook_runtime.runtime import Runtime

    values: dict[str, Any] = {"log_path": log_path}
    for item in overrides:
        key, _, raw = item.partition("=")
        values[key] = json.loads(raw)
    import os

    cwd = Path.cwd()
    os.chdir(tmp)
    try:
        Runtime("test").run("toy", values)
    finally:
        os.chdir(cwd)


def damaged(name: str, content: str | bytes | None) -> Callable[[Path], None]:
    """A finished toy run in `r` whose `name` is replaced by `content` (None: a directory)."""

    def setup(tmp: Path) -> None:
        toy_run(tmp)
        target = tmp / "r" / name
        if target.is_dir():
            import shutil

            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        if content is None:
            target.mkdir()
        elif isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")

    return setup


def busy_port(tmp: Path) -> Any:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    (tmp / ".port").write_text(str(sock.getsockname()[1]))
    return sock


def spec_text(**changes: Any) -> str:
    """A valid toy spec (as `cookbook spec toy --manifest test` prints) with top-level `changes`."""
    spec: dict[str, Any] = {
        "id": "toy",
        "recipe": "toy",
        "backend": {"manifest": "test"},
        "training": {"model": {"name": "fake/toy-model", "renderer": "role_colon"}},
        "pipeline": [{"name": "toy_train", "options": {"steps": 2}}, {"name": "toy_sample"}],
        "outputs": {"log_path": "spec-run"},
    }
    spec.update(changes)
    return json.dumps(spec)


USER_DIR: Files = {"mine/thesis.tex": "years of work", "mine/data/notes.txt": "do not lose"}
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
    for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)


def _cases() -> list[Case]:
    c: list[Case] = []
    add = c.append

    # -- data loss: only a marked run directory is resumed or overwritten ------------------------
    cls = "data loss"
    add(Case("run-into-user-dir", (*TOY, "log_path=mine"), "not a cookbook run directory", USER_DIR, cls=cls))
    add(Case("overwrite-user-dir", (*TOY, "log_path=mine", "--if-exists", "overwrite", "--yes"),
             "not a cookbook run directory", USER_DIR, cls=cls))
    add(Case("fail-user-dir", (*TOY, "log_path=mine", "--if-exists", "fail"),
             "not a cookbook run directory", USER_DIR, cls=cls))
    add(Case("resume-user-dir", (*TOY, "log_path=mine", "--if-exists", "resume"),
             "not a cookbook run directory", USER_DIR, cls=cls))
    add(Case("run-spec-into-user-dir", ("run-spec", "exp.json"), "not a cookbook run directory",
             {**USER_DIR, "exp.json": spec_text(outputs={"log_path": "mine"})}, cls=cls))
    add(Case("run-spec-overwrite-user-dir", ("run-spec", "exp.json", "--if-exists", "overwrite", "--yes"),
             "not a cookbook run directory", {**USER_DIR, "exp.json": spec_text(outputs={"log_path": "mine"})},
             cls=cls))
    add(Case("log-path-is-a-file", (*TOY, "log_path=f.txt"), "is a file", {"f.txt": "x"}, cls=cls))
    add(Case("log-path-below-a-file", (*TOY, "log_path=f.txt/run"), "is below", {"f.txt": "x"}, cls=cls))
    add(Case("home-dir-like", (*TOY, "log_path=."), "not a cookbook run directory", {"keep.txt": "x"}, cls=cls))
    add(Case("overwrite-run-without-yes", (*TOY, "log_path=r", "--if-exists", "overwrite"), "pass --yes",
             setup=toy_run, cls=cls))
    add(Case("fail-on-existing-run", (*TOY, "log_path=r", "--if-exists", "fail"), "already exists",
             setup=toy_run, cls=cls))
    add(Case("overwrite-with-bad-option", (*TOY, "log_path=r", "--if-exists", "overwrite", "--yes",
                                           "training.steps=0"), "training.steps", setup=toy_run, cls=cls))

    # -- resume that edits before it checks -------------------------------------------------------
    cls = "resume checks first"
    for cid, name, content, match in [
        ("experiment-garbage", "experiment.json", "{not json", "experiment.json' is not valid JSON"),
        ("experiment-invalid-spec", "experiment.json", '{"id": "toy"}', "experiment.json is not a valid spec"),
        ("experiment-is-list", "experiment.json", "[]", "not a valid spec"),
        ("experiment-binary", "experiment.json", b"\x00\x01\x02\xff", "binary"),
        ("experiment-utf16", "experiment.json", '{"id": "toy"}'.encode("utf-16"), "UTF-16"),
        ("experiment-is-dir", "experiment.json", None, "is a directory"),
        ("experiment-other-config", "experiment.json", spec_text(id="other"), "different experiment"),
        ("run-json-garbage", "run.json", "{{{", "run.json' is not valid JSON"),
        ("run-json-list", "run.json", "[1]", "run.json is not a JSON object"),
        ("run-json-latin1", "run.json", b'{"status": "\xe9"}', "not UTF-8"),
        ("events-corrupt-line", "events.jsonl", '{"event": "run_started"}\n%%%\n{"event": "x"}\n',
         "events.jsonl' line 2 is not valid JSON"),
        ("events-not-object", "events.jsonl", "[1, 2]\n", "line 1 is a JSON list"),
        ("events-bad-finished", "events.jsonl", '{"event": "stage_finished", "stage": 3}\n',
         "stage_finished event without a stage"),
        ("metrics-corrupt", "metrics.jsonl", "garbage\n{}\n", "metrics.jsonl' line 1"),
        ("checkpoints-corrupt", "checkpoints.jsonl", "{]\n{}\n", "checkpoints.jsonl' line 1"),
        ("config-json-corrupt", "config.json", "{", "config.json' is not valid JSON"),
    ]:
        add(Case(f"resume-{cid}", (*TOY, "log_path=r"), match, setup=damaged(name, content), cls=cls))
    add(Case("resume-different-config", (*TOY, "log_path=r", "training.steps=3"), "different experiment",
             setup=toy_run, cls=cls))

    # -- secrets ----------------------------------------------------------------------------------
    cls = "secrets"
    add(Case("secret-json-syntax-error", (*TOY, "-c", "c.json"), r"not valid JSON \(line 2",
             {"c.json": f'{{"api_key": "{SECRET}",\n  "name": }}'}, cls=cls))
    add(Case("secret-yaml-syntax-error", (*TOY, "-c", "c.yaml"), "not valid YAML",
             {"c.yaml": f"api_key: {SECRET}\nname: [unclosed\n"}, cls=cls))
    add(Case("secret-toml-syntax-error", (*TOY, "-c", "c.toml"), "not valid TOML",
             {"c.toml": f'api_key = "{SECRET}"\nname = \n'}, cls=cls))
    add(Case("secret-spec-syntax-error", ("run-spec", "exp.json"), "spec file 'exp.json' is not valid JSON",
             {"exp.json": spec_text(metadata={"api_key": SECRET})[:-1] + ",,"}, cls=cls))
    add(Case("secret-bad-type", (*TOY, f"api_key={SECRET}", "training.steps=many"), "training.steps", cls=cls))
    add(Case("secret-field-wrong-type", (*TOY, "-c", "c.json"), r"api_key.*\*\*\*",
             {"c.json": json.dumps({"api_key": [SECRET]})}, cls=cls))
    add(Case("secret-in-manifest-bad-option", ("run", "toy", "--manifest", "lab.toml"),
             "bad options for adapter 'fake'",
             {"lab.toml": f'[manifests.lab]\nextends = "test"\n[manifests.lab.ports.blobs]\nadapter = "fake"\n'
                          f'options = {{ api_key = "{SECRET}" }}\n'}, cls=cls))
    add(Case("secret-in-manifest-syntax-error", ("run", "toy", "--manifest", "lab.toml"), "not valid TOML",
             {"lab.toml": f'[manifests.lab]\ntoken = "{SECRET}"\nbroken = [\n'}, cls=cls))
    add(Case("secret-spec-override-bad-option", ("run-spec", "exp.json"), "bad options for adapter 'fake'",
             {"exp.json": spec_text(backend={"manifest": "test", "overrides": {
                 "blobs": {"adapter": "fake", "options": {"api_key": SECRET}}}})}, cls=cls))
    add(Case("secret-shaped-token-in-value", (*TOY, "name=x", "training.learning_rate=sk-" + "a" * 30),
             "training.learning_rate", cls=cls))
    add(Case("secret-in-stage-option", ("run-spec", "exp.json"), r"stage 'toy_train'.*api_key",
             {"exp.json": spec_text(pipeline=[{"name": "toy_train", "options": {"api_key": SECRET}}])}, cls=cls))

    # -- non-finite and absurd numbers ------------------------------------------------------------
    cls = "numbers"
    for cid, value in [("inf", "inf"), ("minus-inf", "-inf"), ("Infinity", "Infinity"), ("nan", "nan"),
                       ("NaN", "NaN"), ("1e999", "1e999")]:
        add(Case(f"lr-{cid}", (*TOY, f"training.learning_rate={value}"), "learning_rate", cls=cls))
    add(Case("delay-inf", (*TOY, "step_delay=Infinity"), "step_delay", cls=cls))
    add(Case("steps-huge-int", (*TOY, "training.steps=" + "9" * 40), "training.steps", cls=cls))
    add(Case("steps-float", (*TOY, "training.steps=2.5"), "training.steps", cls=cls))
    add(Case("json-config-infinity", (*TOY, "-c", "c.json"), "not valid JSON",
             {"c.json": '{"step_delay": Infinity}'}, cls=cls))
    add(Case("json-config-nan", (*TOY, "-c", "c.json"), "not valid JSON", {"c.json": '{"step_delay": NaN}'},
             cls=cls))
    add(Case("json-config-1e999", (*TOY, "-c", "c.json"), "out of range|not valid JSON",
             {"c.json": '{"step_delay": 1e999}'}, cls=cls))
    add(Case("toml-config-inf", (*TOY, "-c", "c.toml"), "inf or nan", {"c.toml": "step_delay = inf\n"}, cls=cls))
    add(Case("yaml-config-inf", (*TOY, "-c", "c.yaml"), "step_delay", {"c.yaml": "step_delay: .inf\n"}, cls=cls))
    add(Case("spec-nan", ("run-spec", "exp.json"), "not valid JSON",
             {"exp.json": spec_text(metadata={"x": 1})[:-1] + ', "tags": [NaN]}'}, cls=cls))
    add(Case("spec-huge-int", ("run-spec", "exp.json"), "too large",
             {"exp.json": spec_text(metadata={"x": 10**30})}, cls=cls))
    add(Case("spec-learning-rate-absurd", ("run-spec", "exp.json"), "learning_rate",
             {"exp.json": spec_text(training={"model": {"name": "m"}, "learning_rate": 1e300})}, cls=cls))
    add(Case("sl-batch-size-huge", (*SL, "batch_size=" + "1" * 30), "batch_size", cls=cls))
    add(Case("sl-epochs-inf", (*SL, "num_epochs=inf"), "num_epochs", cls=cls))
    add(Case("sl-lr-nan", (*SL, "learning_rate=nan"), "learning_rate", cls=cls))

    # -- unreadable files of every kind -----------------------------------------------------------
    cls = "unreadable files"
    add(Case("config-missing", (*TOY, "-c", "nope.json"), "config file 'nope.json' does not exist", cls=cls))
    add(Case("config-is-dir", (*TOY, "-c", "d.json"), "is a directory", {"d.json": None}, cls=cls))
    add(Case("config-binary", (*TOY, "-c", "c.json"), "binary", {"c.json": bytes(range(256))}, cls=cls))
    add(Case("config-utf16", (*TOY, "-c", "c.json"), "UTF-16", {"c.json": '{"name": "x"}'.encode("utf-16")},
             cls=cls))
    add(Case("config-utf16-no-bom", (*TOY, "-c", "c.yaml"), "binary",
             {"c.yaml": "name: x\n".encode("utf-16-le")}, cls=cls))
    add(Case("config-latin1", (*TOY, "-c", "c.yaml"), "not UTF-8", {"c.yaml": "name: caf\xe9\n".encode("latin-1")},
             cls=cls))
    add(Case("config-eio", (*TOY, "-c", "c.json"), "cannot be read", setup=lambda t: (t / "c.json").symlink_to(
        "/proc/self/mem"), cls=cls))
    add(Case("config-below-file", (*TOY, "-c", "f.txt/c.json"), "below something|does not exist",
             {"f.txt": "x"}, cls=cls))
    add(Case("config-unknown-ext", (*TOY, "-c", "c.ini"), "unknown format", {"c.ini": "[x]"}, cls=cls))
    add(Case("config-json-list", (*TOY, "-c", "c.json"), "must hold a mapping", {"c.json": "[1, 2]"}, cls=cls))
    add(Case("config-yaml-scalar", (*TOY, "-c", "c.yaml"), "must hold a mapping", {"c.yaml": "just text\n"},
             cls=cls))
    add(Case("config-too-large", (*TOY, "-c", "c.json"), "larger than 16 MiB",
             {"c.json": b" " * (17 << 20)}, cls=cls))
    add(Case("config-deep-nesting", (*TOY, "-c", "c.json"), "not valid JSON|nested too deeply",
             {"c.json": "[" * 100_000 + "]" * 100_000}, cls=cls))
    add(Case("config-unknown-key", (*TOY, "-c", "c.toml"), "unknown config key 'nmae'",
             {"c.toml": 'nmae = "x"\n'}, cls=cls))
    add(Case("spec-missing", ("run-spec", "nope.json"), "spec file 'nope.json' does not exist", cls=cls))
    add(Case("spec-is-dir", ("run-spec", "s"), "is a directory", {"s": None}, cls=cls))
    add(Case("spec-binary", ("run-spec", "s.json"), "binary", {"s.json": b"\x89PNG\r\n\x1a\n\x00\x00"}, cls=cls))
    add(Case("spec-utf16", ("run-spec", "s.json"), "UTF-16", {"s.json": spec_text().encode("utf-16")}, cls=cls))
    add(Case("spec-not-object", ("run-spec", "s.json"), "spec file 's.json'", {"s.json": "[]"}, cls=cls))
    add(Case("spec-missing-pipeline", ("run-spec", "s.json"), "pipeline", {"s.json": '{"id": "x"}'}, cls=cls))
    add(Case("spec-unknown-stage", ("run-spec", "s.json"), "unknown stage 'tyo_train'",
             {"s.json": spec_text(pipeline=[{"name": "tyo_train"}])}, cls=cls))
    add(Case("spec-bad-stage-option", ("run-spec", "s.json"), "stage 'toy_train': option steps",
             {"s.json": spec_text(pipeline=[{"name": "toy_train", "options": {"steps": "many"}}])}, cls=cls))
    add(Case("spec-unknown-manifest", ("run-spec", "s.json"), "unknown manifest 'nope'",
             {"s.json": spec_text(backend={"manifest": "nope"})}, cls=cls))
    add(Case("spec-eio", ("run-spec", "s.json"), "cannot be read",
             setup=lambda t: (t / "s.json").symlink_to("/proc/self/mem"), cls=cls))
    add(Case("manifest-file-missing", ("run", "toy", "--manifest", "lab.toml"), "does not exist", cls=cls))
    add(Case("manifest-file-is-dir", ("run", "toy", "--manifest", "lab.toml"), "is a directory",
             {"lab.toml": None}, cls=cls))
    add(Case("manifest-file-binary", ("run", "toy", "--manifest", "lab.toml"), "binary",
             {"lab.toml": b"\x00" * 64}, cls=cls))
    add(Case("manifest-file-no-tables", ("run", "toy", "--manifest", "lab.toml"), "no \\[manifests.NAME\\]",
             {"lab.toml": "x = 1\n"}, cls=cls))
    add(Case("manifest-unknown-port", ("run", "toy", "--manifest", "lab.toml"), "unknown port",
             {"lab.toml": '[manifests.lab.ports.gpu]\nadapter = "fake"\n'}, cls=cls))
    add(Case("manifest-unknown-adapter", ("run", "toy", "--manifest", "lab.toml"), "unknown adapter 'fak'",
             {"lab.toml": '[manifests.lab]\nextends = "test"\n[manifests.lab.ports.service]\nadapter = "fak"\n'},
             cls=cls))
    add(Case("user-manifests-garbage", (*TOY,), "manifest file .* is not valid TOML",
             {"m.toml": "[[[\n"}, env={"COOKBOOK_MANIFESTS": "m.toml"}, cls=cls))
    add(Case("user-manifests-dir", (*TOY,), "is a directory", {"m.toml": None},
             env={"COOKBOOK_MANIFESTS": "m.toml"}, cls=cls))
    add(Case("user-manifests-utf16", (*TOY,), "UTF-16", {"m.toml": "[manifests.x]\n".encode("utf-16")},
             env={"COOKBOOK_MANIFESTS": "m.toml"}, cls=cls))

    # -- data checked too late: before the run directory exists ------------------------------------
    add(data_case("data-malformed-json", ["{oops", *good_rows()], r"d.jsonl:1: malformed JSON"))
    add(data_case("data-row-is-list", [[1, 2], *good_rows()], "row is a JSON list"))
    add(data_case("data-no-messages", [{"msgs": []}, *good_rows()], "has no 'messages' field"))
    add(data_case("data-empty-messages", [{"messages": []}, *good_rows()], "non-empty list"))
    add(data_case("data-bad-role", [{"messages": [{"role": "robot", "content": "x"}]}, *good_rows()],
                  "role 'robot'"))
    add(data_case("data-content-int", [{"messages": [{"role": "user", "content": 5}]}, *good_rows()],
                  "content must be a string"))
    add(data_case("data-no-assistant", [{"messages": [{"role": "user", "content": "hi"}]}] * 8,
                  "no token that carries loss"))
    add(data_case("data-bad-part-type", [{"messages": [
        {"role": "user", "content": [{"type": "bogus"}]}, {"role": "assistant", "content": "x"}]}, *good_rows()],
        "content part 0 has type 'bogus'"))
    add(data_case("data-part-not-object", [{"messages": [
        {"role": "user", "content": [5]}, {"role": "assistant", "content": "x"}]}, *good_rows()],
        "content part 0 is a int"))
    add(data_case("data-undecodable", b"\xff\xfe\xfa garbage\n" + jsonl(*good_rows()).encode(),
                  "d.jsonl:1: malformed JSON"))
    add(data_case("data-utf16", jsonl(*good_rows()).encode("utf-16"), "malformed JSON"))
    add(data_case("data-empty-file", "", "fewer than one batch"))
    add(data_case("data-fewer-than-batch", good_rows(1), "fewer than one batch"))
    add(Case("data-wrong-messages-field", (*SL, 'dataset={"name": "d.jsonl", "messages_field": "turns"}'),
             "has no 'turns' field", {"d.jsonl": jsonl(*good_rows())}, cls="data checked too late"))
    add(Case("data-missing-path", (*SL, 'dataset={"name": "nope.jsonl"}'), "does not exist",
             cls="data checked too late"))
    add(Case("data-empty-name", (*SL, 'dataset={"name": ""}'), "dataset.name", cls="data checked too late"))
    add(Case("data-folder-without-files", (*SL, 'dataset={"name": "folder"}'), "holds no data files",
             {"folder/readme.md": "hi"}, cls="data checked too late"))
    add(Case("data-unknown-suffix", (*SL, 'dataset={"name": "d.txt"}'), "unknown data format",
             {"d.txt": jsonl(*good_rows())}, cls="data checked too late"))
    add(Case("data-unknown-format", (*SL, 'dataset={"name": "d.jsonl", "format": "xml"}'), "format 'xml'",
             {"d.jsonl": jsonl(*good_rows())}, cls="data checked too late"))
    add(Case("data-missing-test-split", (*SL, 'dataset={"name": "folder", "test_split": "test"}'),
             "no split 'test'", {"folder/train.jsonl": jsonl(*good_rows())}, cls="data checked too late"))
    add(Case("data-bad-test-split-row", (*SL, 'dataset={"name": "folder", "test_split": "test"}', "batch_size=2"),
             "split 'test' row 0", {"folder/train.jsonl": jsonl(*good_rows()),
                                    "folder/test.jsonl": jsonl({"messages": []})}, cls="data checked too late"))
    add(Case("data-two-files-one-split", (*SL, 'dataset={"name": "folder"}'), "two files for split",
             {"folder/train.jsonl": jsonl(*good_rows()), "folder/train.json": "[]"}, cls="data checked too late"))
    add(Case("model-no-such-dir", (*SL, "model_name=/no/such/dir"), "model '/no/such/dir'", cls="validate first"))
    add(Case("model-dir-without-config", (*SL, "model_name=m"), "has no config.json", {"m/x.bin": b"1"},
             cls="validate first"))
    add(Case("renderer-unknown", (*SL, "renderer_name=nope"), "unknown renderer 'nope'", cls="validate first"))
    add(Case("train-on-what-unknown", (*SL, "train_on_what=everything"), "train_on_what", cls="validate first"))

    # -- unbounded output ------------------------------------------------------------------------
    cls = "bounded output"
    add(Case("yaml-bomb", (*TOY, "-c", "c.yaml"), "unknown config key", {"c.yaml": BOMB}, cls=cls))
    add(Case("yaml-bomb-in-value", (*TOY, "-c", "c.yaml"), "tags", {"c.yaml": BOMB.replace("i:", "tags:")},
             cls=cls))
    add(Case("huge-invalid-spec", ("run-spec", "s.json"), "not valid JSON",
             {"s.json": '{"id": "' + "x" * (5 << 20)}, cls=cls))
    add(Case("huge-valid-json-bad-field", ("run-spec", "s.json"), "id",
             {"s.json": spec_text(id=["y" * 1000] * 5000)}, cls=cls))
    add(Case("huge-override-value", (*TOY, "training.steps=" + "z" * 200_000), "training.steps", cls=cls))
    add(Case("huge-unknown-key", (*TOY, "k" * 100_000 + "=1"), "unknown config key", cls=cls))

    # -- commands beyond run ----------------------------------------------------------------------
    cls = "commands beyond run"
    plain_run: Files = {"pr/.cookbook-run": "{}", "pr/run.json": '{"status": "finished"}',
                        "pr/metrics.jsonl": jsonl({"step": 0, "train_mean_nll": 1.0, "note": "x"},
                                                  {"step": 1, "train_mean_nll": 0.5, "note": "y"})}
    add(Case("plot-missing-run", ("plot", "nope"), "is not a run directory", cls=cls))
    add(Case("plot-user-dir", ("plot", "mine"), "is not a run directory", USER_DIR, cls=cls))
    add(Case("plot-into-dir", ("plot", "pr", "-o", "outdir"), "is a directory", {**plain_run, "outdir": None},
             cls=cls))
    add(Case("plot-below-file", ("plot", "pr", "-o", "f.txt/m.png"), "is below", {**plain_run, "f.txt": "x"},
             cls=cls))
    add(Case("plot-not-png", ("plot", "pr", "-o", "m.jpg"), "must be a .png", plain_run, cls=cls))
    add(Case("plot-non-numeric-metric", ("plot", "pr", "--metric", "note"), "no finite numeric values",
             plain_run, cls=cls))
    add(Case("plot-unknown-metric", ("plot", "pr", "--metric", "los"), "unknown metric 'los'", plain_run, cls=cls))
    add(Case("plot-corrupt-metrics", ("plot", "pr"), "metrics.jsonl' line 1",
             {**plain_run, "pr/metrics.jsonl": "xx\n{}\n"}, cls=cls))
    add(Case("plot-no-metrics", ("plot", "pr"), "no metrics.jsonl rows", {**plain_run, "pr/metrics.jsonl": ""},
             cls=cls))
    add(Case("plot-corrupt-run-json", ("plot", "pr"), "run.json' is not valid JSON",
             {**plain_run, "pr/run.json": "{"}, cls=cls))
    add(Case("serve-port-zero", ("serve", "--port", "0"), "--port", cls=cls))
    add(Case("serve-port-too-big", ("serve", "--port", "70000"), "--port", cls=cls))
    add(Case("serve-port-text", ("serve", "--port", "http"), "--port", cls=cls))
    add(Case("serve-port-busy", ("serve", "--port", "{port}"), "cannot listen on 127.0.0.1", setup=busy_port,
             cls=cls))
    add(Case("runs-missing", ("runs", "nope"), "does not exist", cls=cls))
    add(Case("runs-a-file", ("runs", "f.txt"), "does not exist", {"f.txt": "x"}, cls=cls))
    add(Case("runs-damaged-run", ("runs", "pr"), "run.json' is not valid JSON", {**plain_run, "pr/run.json": "{"},
             cls=cls))
    add(Case("runs-damaged-metrics", ("runs", "pr"), "metrics.jsonl' line 1",
             {**plain_run, "pr/metrics.jsonl": "\x01\n{}\n"}, cls=cls))
    add(Case("sample-not-a-run", ("sample", "mine", "hi"), "is not a run directory", USER_DIR, cls=cls))
    add(Case("sample-missing", ("sample", "nope", "hi"), "is not a run directory", cls=cls))
    add(Case("sample-corrupt-experiment", ("sample", "r", "hi"), "experiment.json' is not valid JSON",
             setup=damaged("experiment.json", "{"), cls=cls))
    add(Case("sample-invalid-experiment", ("sample", "r", "hi"), "experiment.json' is not a valid spec",
             setup=damaged("experiment.json", '{"id": 1}'), cls=cls))
    add(Case("sample-corrupt-checkpoints", ("sample", "r", "hi"), "checkpoints.jsonl' line 1",
             setup=damaged("checkpoints.jsonl", "nope\n{}\n"), cls=cls))
    add(Case("sample-no-checkpoint", ("sample", "r", "hi"), "no checkpoint with a sampler_path",
             setup=damaged("checkpoints.jsonl", ""), cls=cls))
    add(Case("sample-bad-sampler-path", ("sample", "r", "hi"), "sampler_path is not a string",
             setup=damaged("checkpoints.jsonl", jsonl({"name": "x", "step": 1, "sampler_path": 5})), cls=cls))
    add(Case("sample-corrupt-sampler-meta", ("sample", "lr", "hi"), "saved sampler weights metadata",
             {"lr/.cookbook-run": "{}", "lr/run.json": "{}",
              "lr/experiment.json": spec_text(backend={"manifest": "local"}),
              "lr/checkpoints.jsonl": jsonl({"name": "1", "step": 1, "state_path": "s", "sampler_path": "smp"}),
              "lr/smp/cookbook_sampler.json": "{broken"}, cls=cls))
    add(Case("sample-max-tokens-zero", ("sample", "r", "hi", "--max-tokens", "0"), "--max-tokens", cls=cls))
    add(Case("sample-negative-temperature", ("sample", "r", "hi", "--temperature", "-1"), "--temperature",
             cls=cls))
    add(Case("describe-unknown-recipe", ("describe", "sl_basci"), "did you mean 'sl_basic'", cls=cls))
    add(Case("spec-unknown-recipe", ("spec", "nope"), "unknown recipe 'nope'", cls=cls))
    add(Case("run-unknown-recipe", ("run", "tyo"), "did you mean 'toy'", cls=cls))
    add(Case("run-unknown-manifest", ("run", "toy", "--manifest", "lcoal"), "did you mean 'local'", cls=cls))
    add(Case("port-unknown", (*TOY, "--port", "gpu=fake"), "unknown port 'gpu'", cls=cls))
    add(Case("port-not-pair", (*TOY, "--port", "service"), "is not PORT=ADAPTER", cls=cls))
    add(Case("port-unknown-adapter", (*TOY, "--port", "service=nosuch"), "unknown adapter 'nosuch'", cls=cls))
    add(Case("override-not-pair", (*TOY, "noequals"), "is not key=value", cls=cls))
    add(Case("override-empty-key", (*TOY, "=3"), "is not key=value", cls=cls))
    add(Case("override-literal", (*TOY, "mode=warp"), "mode", cls=cls))
    add(Case("override-subfield-of-leaf", (*TOY, "name.first=x"), "has no sub-fields", cls=cls))
    add(Case("if-exists-unknown", (*TOY, "--if-exists", "merge"), "--if-exists", cls=cls))
    registry = {"COOKBOOK_DATA_DIR": "data"}  # inside the folder, which must stay as it was
    add(Case("models-show-unknown", ("models", "show", "nope"), "unknown model 'nope'", env=registry, cls=cls))
    add(Case("models-bad-version", ("models", "show", "m:v2"), "bad model version 'm:v2'", env=registry, cls=cls))
    add(Case("models-bad-name", ("models", "lineage", "../m"), "bad model name", env=registry, cls=cls))
    add(Case("models-promote-no-version", ("models", "promote", "m", "--to", "staging"), "needs a version",
             env=registry, cls=cls))
    add(Case("models-promote-bad-stage", ("models", "promote", "m:1", "--to", "live"), "unknown stage 'live'",
             env=registry, cls=cls))
    add(Case("models-promote-unknown", ("models", "promote", "m:1", "--to", "staging"), "unknown model 'm'",
             env=registry, cls=cls))
    add(Case("models-list-bad-stage", ("models", "list", "--stage", "prod"), "unknown stage 'prod'",
             env=registry, cls=cls))
    add(Case("models-not-a-database", ("models", "list"), "not a usable SQLite database",
             {"data/registry.db": b"not sqlite" * 50}, env=registry, cls=cls))
    return c


CASES: list[Case] = _cases()
