"""The `inspect` adapter (extra `inspect`): inspect-ai evals over any cookbook sampling client.

- `CookbookModelAPI`, inspect's `cookbook` model provider: a `SamplingClient` and
  a renderer answer inspect's chat requests (stop sequences, seeds, num_choices,
  tool calls where the renderer parses them, token usage); `cookbook_model`
  builds the inspect `Model`.
- `InspectEvaluator`: an inspect task as a sampling-client evaluator, for the
  training loops' schedules and for standalone use; its metrics are
  `eval/<task>/<metric>`.
- `FACTORY`: the `inspect` evaluator kind (entry point `cookbook.evaluators`), so
  `inspect:MODULE:TASK` or `inspect:FILE.py[@TASK]` works wherever a task name
  does: `eval_tasks` of a training stage, the `evaluate` stage, `cookbook eval`.
"""

from cookbook_adapters.inspect._evaluator import (
    FACTORY,
    INSPECT_LOG_SUBDIR,
    InspectEvaluator,
    InspectTaskFactory,
)
from cookbook_adapters.inspect._provider import (
    DEFAULT_MAX_TOKENS,
    PROVIDER,
    CookbookModelAPI,
    cookbook_model,
)
from cookbook_adapters.inspect._tasks import load_inspect_task

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "FACTORY",
    "INSPECT_LOG_SUBDIR",
    "PROVIDER",
    "CookbookModelAPI",
    "InspectEvaluator",
    "InspectTaskFactory",
    "cookbook_model",
    "load_inspect_task",
]
