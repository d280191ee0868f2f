"""Without torch, asking for the local adapter names the extra to install."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from cookbook_runtime.errors import AdapterUnavailable
from cookbook_runtime.ports import create_adapter


def test_missing_torch_raises_adapter_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m.startswith("cookbook_adapters.local")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    with pytest.raises(AdapterUnavailable, match=r"pip install 'cookbook-adapters\[local\]'"):
        create_adapter("local", "service")


def test_registry_builds_the_local_service_with_options(tmp_path: Path) -> None:
    from cookbook_adapters.local import LocalServiceClient

    service = create_adapter("local", "service", {"device": "cpu", "dtype": "float32", "root": str(tmp_path)})
    assert isinstance(service, LocalServiceClient)
    assert str(service.device) == "cpu" and service.root == tmp_path
