from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from cookbook_runtime.errors import BackendError
from cookbook_runtime.framework import Context, register_stage
from cookbook_runtime.framework import _stage as stage_module
from pydantic import BaseModel, Field


class RecordOptions(BaseModel):
    model_config = {"extra": "forbid"}
    label: str = Field(description="What to record.")
    fail: bool = Field(default=False, description="Raise a CookbookError (bad input) instead.")
    crash: bool = Field(default=False, description="Raise a RuntimeError (a bug) instead.")


CALLS: list[str] = []


class RecordStage:
    """Appends its label to CALLS; fails when asked."""

    name: ClassVar[str] = "record"
    Options: ClassVar[type[BaseModel]] = RecordOptions

    async def run(self, ctx: Context, options: RecordOptions) -> dict[str, Any]:
        if options.fail:
            raise BackendError(f"boom in {options.label}")
        if options.crash:
            raise RuntimeError(f"bug in {options.label}")
        CALLS.append(options.label)
        return {"label": options.label, "seen": sorted(ctx.outputs)}


@pytest.fixture
def calls() -> Iterator[list[str]]:
    saved = dict(stage_module._registered)
    register_stage(RecordStage)
    CALLS.clear()
    yield CALLS
    stage_module._registered.clear()
    stage_module._registered.update(saved)
