"""The base model every spec shares: frozen, no unknown keys, JSON-friendly."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Spec(BaseModel):
    """Frozen, `extra="forbid"` pydantic model: specs are data, never behaviour."""

    # defer_build: schemas are built on first use, not at import, keeping imports fast.
    # allow_inf_nan=False: no float setting means infinity or NaN (see `cookbook_runtime.numbers`).
    model_config = ConfigDict(
        frozen=True, extra="forbid", validate_default=True, defer_build=True, allow_inf_nan=False
    )
