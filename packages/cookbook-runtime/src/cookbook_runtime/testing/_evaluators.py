"""`RecordingEvaluator`: a sampling evaluator that shows when it ran and what the backend did meanwhile.

Loop tests need to see which steps evaluated and whether training went on during a
slow evaluation; this evaluator samples once per call, takes `work` seconds, and
records the watched fake training client's submitted/completed `forward_backward`
counts at its start and end. Its metric is `eval/<name>/calls`.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from cookbook_runtime.ports import SamplingClient
from cookbook_runtime.testing.fakes import FakeServiceClient
from cookbook_runtime.types import ModelInput, SamplingParams

__all__ = ["RecordingEvaluator"]


class RecordingEvaluator:
    """Counts its calls; `progress` holds (submitted, completed at start, completed at end) per call."""

    kind: ClassVar[str] = "sampling"

    def __init__(self, name: str, service: FakeServiceClient | None = None, *, work: float = 0.0) -> None:
        self.name = name
        self.service = service
        self.work = work
        self.calls = 0
        self.progress: list[tuple[int, int, int]] = []

    def _counts(self) -> tuple[int, int]:
        if self.service is None or not self.service.training_clients:
            return 0, 0
        client = self.service.training_clients[-1]
        submitted = sum(1 for n, _ in client.log if n == "forward_backward")
        return submitted, sum(1 for n, _ in client.completed if n == "forward_backward")

    async def __call__(self, client: SamplingClient) -> dict[str, float]:
        submitted, done_before = self._counts()
        await client.sample(ModelInput.from_ints([1, 2, 3]), 1, SamplingParams(max_tokens=2, seed=self.calls))
        await asyncio.sleep(self.work)
        self.calls += 1
        self.progress.append((submitted, done_before, self._counts()[1]))
        return {f"eval/{self.name}/calls": float(self.calls)}
