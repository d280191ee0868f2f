"""The adapter registry: adapter names to lazily imported factories.

Adapters announce themselves under the entry-point group `cookbook.adapters`; each
entry point names an `AdapterInfo` in a module that imports nothing heavy, so the
registry can list every adapter, and name the extra to install, without importing
torch or boto3. Names given by users are looked up here, never imported as paths.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from cookbook_runtime.errors import AdapterUnavailable, ConfigError, UnknownNameError

__all__ = [
    "PORT_NAMES",
    "AdapterInfo",
    "adapter_registry",
    "check_options",
    "create_adapter",
    "get_adapter",
    "load_factory",
]

logger = logging.getLogger(__name__)

PORT_NAMES: tuple[str, ...] = (
    "service", "datasets", "blobs", "hub", "embeddings", "metrics", "registry", "feedback", "exporter"
)
"""Every port a manifest can wire, by the name manifests and `--port` use."""

ENTRY_POINT_GROUP = "cookbook.adapters"


@dataclass(frozen=True)
class AdapterInfo:
    """An adapter: which ports it serves, where each factory lives, which extra it needs.

    `factories` maps a port name to `"module:callable"`; the callable takes the
    binding's options as keyword arguments and returns the port object. `uses` maps
    a port name to the other ports its factory is also given, as keyword arguments
    named after them (a registry that keeps artifacts in `blobs` takes `blobs=`).
    """

    name: str
    factories: Mapping[str, str]
    description: str = ""
    extra: str | None = None
    distribution: str = "cookbook-adapters"
    requires: tuple[str, ...] = field(default_factory=tuple)
    uses: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def serves(self, port: str) -> bool:
        return port in self.factories


_BUILTINS: tuple[AdapterInfo, ...] = (
    AdapterInfo(
        name="fake",
        description="In-memory fakes of every port, for tests and dry runs.",
        distribution="cookbook-runtime",
        factories={
            "service": "cookbook_runtime.testing.fakes:FakeServiceClient",
            "datasets": "cookbook_runtime.testing.fakes:FakeDatasetStore",
            "blobs": "cookbook_runtime.testing.fakes:FakeBlobStore",
            "hub": "cookbook_runtime.testing.fakes:FakeHubClient",
            "embeddings": "cookbook_runtime.testing.fakes:FakeEmbeddingClient",
            "metrics": "cookbook_runtime.testing.fakes:FakeMetricsSink",
            "registry": "cookbook_runtime.testing.fakes:FakeModelRegistry",
            "feedback": "cookbook_runtime.testing._feedback:FakeFeedbackStore",
            "exporter": "cookbook_runtime.testing._exporter:FakeWeightsExporter",
        },
        uses={"registry": ("blobs",)},
    ),
    AdapterInfo(
        name="unconfigured",
        description="Raises PortNotConfigured on first use.",
        distribution="cookbook-runtime",
        factories={port: "cookbook_runtime.ports._unconfigured:Unconfigured" for port in PORT_NAMES},
    ),
)


@cache
def adapter_registry() -> dict[str, AdapterInfo]:
    """Every known adapter: the runtime's built-ins plus installed entry points."""
    found: dict[str, AdapterInfo] = {info.name: info for info in _BUILTINS}
    from importlib.metadata import entry_points  # deferred: costs ~15 ms at import
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            info = ep.load()
        except Exception:  # a broken plugin must not hide the others
            logger.warning("could not load adapter entry point %r", ep.name, exc_info=True)
            continue
        if not isinstance(info, AdapterInfo):
            logger.warning("entry point %r is not an AdapterInfo; ignored", ep.name)
            continue
        found[info.name] = info
    return found


def get_adapter(name: str) -> AdapterInfo:
    """The adapter called `name`, or an `UnknownNameError` suggesting the closest."""
    registry = adapter_registry()
    try:
        return registry[name]
    except KeyError:
        raise UnknownNameError("adapter", name, registry) from None


def load_factory(info: AdapterInfo, port: str) -> Callable[..., Any]:
    """Import the factory serving `port` for adapter `info` (AdapterUnavailable if its extra is missing)."""
    target = info.factories[port]
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "a dependency").split(".")[0]
        if info.extra and not missing.startswith("cookbook_"):
            raise AdapterUnavailable(info.name, missing, info.extra) from exc
        raise
    factory: Callable[..., Any] = getattr(module, attr)
    return factory


def create_adapter(
    name: str, port: str, options: Mapping[str, Any] | None = None, *, uses: Mapping[str, Any] | None = None
) -> Any:
    """Instantiate adapter `name` for `port` with `options` and the port objects it `uses`, by port name."""
    info = get_adapter(name)
    if not info.serves(port):
        serving = sorted(n for n, i in adapter_registry().items() if i.serves(port))
        raise ConfigError(
            f"adapter {name!r} does not serve port {port!r}; adapters for {port!r}: {', '.join(serving)}"
        )
    factory = load_factory(info, port)
    opts = dict(options or {})
    if name == "unconfigured":
        opts = {"port": port}
    clash = sorted(set(opts) & set(info.uses.get(port, ())))
    if clash:
        raise ConfigError(
            f"adapter {name!r} on port {port!r} takes {clash} from the manifest's port(s) of that name, "
            "not as options: wire those ports instead"
        )
    opts.update({dep: obj for dep, obj in (uses or {}).items() if dep in info.uses.get(port, ())})
    check_options(factory, opts, name, port)
    return factory(**opts)  # a TypeError from inside the adapter is its bug, not bad options


def check_options(factory: Callable[..., Any], opts: Mapping[str, Any], name: str, port: str) -> None:
    """Refuse options the factory's signature does not take, before calling it."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # no introspectable signature: let the call decide
        return
    try:
        signature.bind(**opts)
    except TypeError as exc:
        params = [p for p in signature.parameters if p not in ("self", "args", "kwargs")]
        known = ", ".join(params) if params else "none"
        raise ConfigError(
            f"bad options for adapter {name!r} on port {port!r}: {exc}; options it takes: {known}"
        ) from None
