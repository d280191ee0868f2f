"""Which version answers a request: `replace` always the primary, `canary` split by weight.

A canary draws one uniform number per request. With a request key (the OpenAI
`user` field) the number is a hash of the seed and the key, so one user always
lands on the same version; without one it comes from a `random.Random(seed)`, so
the sequence of choices, and the counts over N requests, are the same on every
run of a deployment.
"""

from __future__ import annotations

import hashlib
import random
import threading

from cookbook_adapters.deploy._plan import DeploymentPlan

__all__ = ["Router"]


class Router:
    """Picks the version label for each request of a plan."""

    def __init__(self, plan: DeploymentPlan) -> None:
        self._plan = plan
        self._rng = random.Random(plan.seed)
        self._lock = threading.Lock()

    def _uniform(self, key: str | None) -> float:
        if key:
            digest = hashlib.sha256(f"{self._plan.seed}:{key}".encode()).digest()
            return int.from_bytes(digest[:8], "big") / 2**64
        with self._lock:
            return self._rng.random()

    def pick(self, key: str | None = None) -> str:
        """The version label serving a request (keyed by `key` when given)."""
        plan = self._plan
        if plan.candidate is None:
            return plan.primary.version
        return plan.candidate.version if self._uniform(key) < plan.weight else plan.primary.version
