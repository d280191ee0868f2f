"""Without torch, asking for the local adapter names the extra to install."""

from __future__ import annotations

import sys

import pytest
from cookbook_runtime.errors import AdapterUnavailable
from cookbook_runtime.ports import create_adapter


def test_missing_torch_raises_adapter_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m.startswith("cookbook_adapters.local")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    with pytest.raises(AdapterUnavailable, match=r"pip install 'cookbook-adapters\[local\]'"):
        create_adapter("local", "service")
