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


def test_secret_names_are_whole_segments() -> None:
    from cookbook_runtime.runtime import is_secret_key

    for secret in ("api_key", "TINKER_API_KEY", "hf_token", "token", "aws_secret_access_key", "password", "private-key"):
        assert is_secret_key(secret), secret
    for plain in ("max_tokens", "num_tokens", "sample_max_tokens", "tokenizer", "renderer_name", "author"):
        assert not is_secret_key(plain), plain
