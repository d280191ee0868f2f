"""The runtime imports nothing third-party but pydantic, so downstream libraries can pin it alone."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import cookbook_runtime

ALLOWED = {"pydantic", "pydantic_core", "typing_extensions", "cookbook_runtime"}


def test_runtime_imports_only_stdlib_and_pydantic() -> None:
    root = Path(cookbook_runtime.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ALLOWED:
                    offenders.append(f"{path.relative_to(root)}: {name}")
    assert not offenders, offenders
