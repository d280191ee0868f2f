from __future__ import annotations

from pathlib import Path

import pytest
from cookbook_runtime.errors import (
    AdapterUnavailable,
    ConfigError,
    PortNotConfigured,
    UnknownNameError,
)
from cookbook_runtime.ir import PortBinding
from cookbook_runtime.ports import (
    AdapterInfo,
    Ports,
    _registry,
    available_manifests,
    create_adapter,
    load_manifest,
    manifest_profile,
    resolve_bindings,
)
from cookbook_runtime.testing import FakeBlobStore


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "manifests.toml"
    p.write_text(text)
    return p


def test_three_layer_precedence(tmp_path: Path) -> None:
    user = _write(
        tmp_path,
        """
[manifests.lab]
extends = "test"
[manifests.lab.ports.blobs]
adapter = "unconfigured"
""",
    )
    manifest = load_manifest("lab", user_file=user)
    bindings = resolve_bindings(manifest, {"hub": PortBinding(adapter="unconfigured")})
    assert bindings["service"].adapter == "fake"  # from the parent manifest
    assert bindings["blobs"].adapter == "unconfigured"  # manifest wins over parent
    assert bindings["hub"].adapter == "unconfigured"  # override wins over manifest
    local = resolve_bindings(load_manifest("local"))
    assert local["embeddings"].adapter == "unconfigured"  # defaults fill the rest


def test_builtin_manifests() -> None:
    names = set(available_manifests(Path("/nonexistent.toml")))
    assert {"local", "tinker", "test"} <= names


def test_unknown_manifest_suggests(tmp_path: Path) -> None:
    with pytest.raises(UnknownNameError, match="unknown manifest 'locl' \\(did you mean 'local'\\?\\)"):
        load_manifest("locl", user_file=tmp_path / "none.toml")


def test_unknown_adapter_name() -> None:
    with pytest.raises(UnknownNameError, match="unknown adapter 'fak'.*did you mean 'fake'"):
        Ports({"blobs": PortBinding(adapter="fak")})


def test_unknown_port_in_overrides() -> None:
    with pytest.raises(ConfigError, match="unknown port"):
        resolve_bindings(load_manifest("test"), {"gpu": PortBinding(adapter="fake")})


def test_bad_manifest_file_is_one_line(tmp_path: Path) -> None:
    bad = _write(tmp_path, "[manifests.x]\nports = 3\n")
    with pytest.raises(ConfigError) as info:
        load_manifest("x", user_file=bad)
    assert "\n" not in str(info.value) and "manifest 'x'" in str(info.value)
    broken = _write(tmp_path, "[manifests.x\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_manifest("x", user_file=broken)


def test_unconfigured_port_raises_on_use() -> None:
    manifest = load_manifest("test").model_copy(update={"ports": {"service": PortBinding(adapter="fake")}})
    ports = Ports(resolve_bindings(manifest))
    with pytest.raises(PortNotConfigured, match="port 'embeddings' is not configured"):
        ports.embeddings.embed(["x"])  # type: ignore[unused-coroutine]


def test_missing_extra_names_pip_install(monkeypatch: pytest.MonkeyPatch) -> None:
    info = AdapterInfo(
        name="needs-extra",
        extra="widgets",
        factories={"blobs": "widgetlib_absent_for_test:Store"},
    )
    registry = dict(_registry.adapter_registry())
    registry["needs-extra"] = info
    monkeypatch.setattr(_registry, "adapter_registry", lambda: registry)
    with pytest.raises(AdapterUnavailable) as err:
        create_adapter("needs-extra", "blobs")
    assert str(err.value) == (
        "adapter 'needs-extra' needs widgetlib_absent_for_test: "
        "pip install 'cookbook-adapters[widgets]'"
    )


def test_adapter_for_wrong_port() -> None:
    with pytest.raises(ConfigError, match="does not serve port"):
        create_adapter("unconfigured", "nope")


def test_explicit_objects_win() -> None:
    store = FakeBlobStore()
    ports = Ports(resolve_bindings(load_manifest("test")), blobs=store)
    assert ports.blobs is store


def test_run_dir_placeholder_is_filled_inside_a_run_and_dropped_outside(tmp_path: Path) -> None:
    from cookbook_runtime.ports import bind_run_dir

    bindings = {"service": PortBinding(adapter="local", options={"root": "{run_dir}/checkpoints", "device": "cpu"})}
    inside = bind_run_dir(bindings, tmp_path)
    assert inside["service"].options == {"root": f"{tmp_path.resolve()}/checkpoints", "device": "cpu"}
    outside = bind_run_dir(bindings, None)
    assert outside["service"].options == {"device": "cpu"}


def test_local_manifest_keeps_checkpoints_in_the_run_dir() -> None:
    service = load_manifest("local").ports["service"]
    assert service.options["root"] == "{run_dir}/checkpoints"


def test_profile_is_the_service_adapter_through_extends(tmp_path: Path) -> None:
    user = _write(
        tmp_path,
        """
[manifests.lab]
extends = "local"
[manifests.lab.ports.blobs]
adapter = "fake"
[manifests.remote_lab]
extends = "local"
[manifests.remote_lab.ports.service]
adapter = "tinker"
""",
    )
    assert manifest_profile(load_manifest("lab", user_file=user)) == "local"
    assert manifest_profile(load_manifest("remote_lab", user_file=user)) == "tinker"
    assert manifest_profile(load_manifest("tinker", user_file=user)) == "tinker"
    assert manifest_profile(load_manifest("test", user_file=user)) == "fake"


def test_declared_profile_wins_and_is_inherited(tmp_path: Path) -> None:
    user = _write(
        tmp_path,
        """
[manifests.served]
extends = "tinker"
profile = "local"
[manifests.served_child]
extends = "served"
""",
    )
    assert manifest_profile(load_manifest("served", user_file=user)) == "local"
    assert manifest_profile(load_manifest("served_child", user_file=user)) == "local"
