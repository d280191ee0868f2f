"""Inspect tasks by reference: `package.module:task` or `path/to/file.py[@task]`.

A reference names a function decorated with inspect's `@task` (called with no
arguments) or a `Task` object. A file holding a single task needs no `@task`
suffix. Anything else is a `ConfigError` saying what was found and how to write
the reference.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from cookbook_runtime.errors import ConfigError
from inspect_ai import Task
from inspect_ai._util.registry import is_registry_object

__all__ = ["load_inspect_task", "task_functions", "task_name"]

_FORMS = "write MODULE:TASK (e.g. cookbook_adapters.inspect.tasks:tiny_chat_inspect) or FILE.py[@TASK]"


def _module_from_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise ConfigError(f"inspect task file {str(path)!r} does not exist; {_FORMS}")
    resolved = path.resolve()
    name = "cookbook_inspect_task_" + hashlib.sha256(str(resolved).encode()).hexdigest()[:12]
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, resolved)
    if spec is None or spec.loader is None:
        raise ConfigError(f"inspect task file {str(path)!r} is not a Python module; {_FORMS}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception:
        del sys.modules[name]
        raise
    return module


def task_functions(module: ModuleType) -> dict[str, Any]:
    """The module's `@task` functions and `Task` objects, by attribute name."""
    found: dict[str, Any] = {}
    for attr, value in vars(module).items():
        if attr.startswith("_"):
            continue
        if isinstance(value, Task) or is_registry_object(value, type="task"):
            found[attr] = value
    return found


def _as_task(obj: Any, ref: str) -> Task:
    if isinstance(obj, Task):
        return obj
    if is_registry_object(obj, type="task"):
        task = obj()
        if isinstance(task, Task):
            return task
    raise ConfigError(f"inspect task {ref!r} is a {type(obj).__name__}, not a @task function or a Task; {_FORMS}")


def _split_file_ref(ref: str) -> tuple[Path, str | None] | None:
    path, sep, attr = ref.rpartition("@")
    if sep and path.endswith(".py"):
        return Path(path), attr or None
    if ref.endswith(".py"):
        return Path(ref), None
    return None


def task_name(task: Task) -> str:
    """The task's name without the package prefix inspect's registry gives it (`pkg/name` -> `name`)."""
    return task.name.rsplit("/", 1)[-1]


def load_inspect_task(ref: str) -> Task:
    """The inspect `Task` that `ref` names (a fresh one per call for `@task` functions)."""
    file_ref = _split_file_ref(ref)
    if file_ref is not None:
        path, attr = file_ref
        module = _module_from_file(path)
        tasks = task_functions(module)
        if attr is None:
            if len(tasks) != 1:
                listing = ", ".join(sorted(tasks)) or "none"
                raise ConfigError(
                    f"inspect task file {str(path)!r} has {len(tasks)} tasks ({listing}): name one as {path}@TASK"
                )
            attr = next(iter(tasks))
        if attr not in tasks:
            raise ConfigError(f"inspect task file {str(path)!r} has no task {attr!r}; tasks: {', '.join(sorted(tasks))}")
        return _as_task(tasks[attr], ref)
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"inspect task reference {ref!r} is neither MODULE:TASK nor a .py file; {_FORMS}")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ConfigError(f"inspect task {ref!r}: cannot import module {module_name!r} ({exc}); {_FORMS}") from None
    if not hasattr(module, attr):
        listing = ", ".join(sorted(task_functions(module))) or "none"
        raise ConfigError(f"inspect task {ref!r}: module {module_name!r} has no {attr!r}; tasks there: {listing}")
    return _as_task(getattr(module, attr), ref)
