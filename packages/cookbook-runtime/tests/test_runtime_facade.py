from __future__ import annotations

from cookbook_runtime.runtime import format_validation_error
from pydantic import BaseModel, ValidationError


class _Cfg(BaseModel):
    api_key: int
    steps: int


def test_validation_error_never_shows_a_secret_value() -> None:
    try:
        _Cfg.model_validate({"api_key": "sk-verysecret", "steps": 1})
    except ValidationError as exc:
        msg = format_validation_error(exc)
    assert "sk-verysecret" not in msg and "api_key" in msg and "***" in msg


def test_validation_error_shows_ordinary_values() -> None:
    try:
        _Cfg.model_validate({"api_key": 1, "steps": "many"})
    except ValidationError as exc:
        msg = format_validation_error(exc)
    assert msg.startswith("steps: ") and "'many'" in msg and "\n" not in msg
