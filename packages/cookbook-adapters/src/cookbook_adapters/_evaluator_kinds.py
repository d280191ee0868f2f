"""The evaluator kinds this package serves and the extra each needs; imports nothing heavy.

The `cookbook.evaluators` entry points name these objects, so a task reference
`inspect:...` finds its factory (and, without the extra, the `pip install` to
run) without importing inspect-ai. Kept apart from `_registry`, so listing port
adapters does not import the runtime's evaluation package.
"""

from __future__ import annotations

from cookbook_runtime.train.eval import EvaluatorKind

__all__ = ["INSPECT"]

INSPECT = EvaluatorKind(
    name="inspect",
    description="inspect-ai tasks (inspect:MODULE:TASK or inspect:FILE.py[@TASK]) over any sampling client.",
    factory="cookbook_adapters.inspect:FACTORY",
    extra="inspect",
)
