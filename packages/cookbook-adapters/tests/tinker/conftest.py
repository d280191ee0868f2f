"""Every test here talks to the Tinker SDK: skip without it, and give it the shared SDK environment."""

from __future__ import annotations

import pytest

pytest.importorskip("tinker")
pytest.importorskip("fastapi")


@pytest.fixture(autouse=True)
def _sdk(sdk_env: None) -> None:
    """Applies the session-wide SDK environment (see tests/conftest.py) to this folder."""
