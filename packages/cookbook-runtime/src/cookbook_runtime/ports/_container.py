"""The `Ports` container: one object per port, built lazily from bindings."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, cast

from cookbook_runtime.errors import AdapterUnavailable, ConfigError
from cookbook_runtime.ir import PortBinding
from cookbook_runtime.ports._protocols import (
    BlobStore,
    DatasetStore,
    EmbeddingClient,
    FeedbackStore,
    HubClient,
    MetricsSink,
    ModelRegistry,
    ServiceClient,
    WeightsExporter,
)
from cookbook_runtime.ports._registry import (
    PORT_NAMES,
    check_options,
    create_adapter,
    get_adapter,
    load_factory,
)

__all__ = ["Ports"]

logger = logging.getLogger(__name__)


class Ports:
    """The ports a run uses.

    Adapters are created on first access, so wiring a heavy adapter (torch, boto3)
    costs nothing until a stage uses it, and a dry run touches nothing. Objects may
    also be given directly, e.g. fakes in tests.
    """

    def __init__(
        self,
        bindings: Mapping[str, PortBinding] | None = None,
        **objects: Any,
    ) -> None:
        unknown = (set(bindings or {}) | set(objects)) - set(PORT_NAMES)
        if unknown:
            raise ConfigError(f"unknown port(s) {sorted(unknown)}; ports: {', '.join(PORT_NAMES)}")
        self._bindings: dict[str, PortBinding] = {
            port: PortBinding(adapter="unconfigured") for port in PORT_NAMES
        }
        self._bindings.update(bindings or {})
        for port, binding in self._bindings.items():
            info = get_adapter(binding.adapter)  # unknown names fail now, not mid-run
            if not info.serves(port):
                create_adapter(binding.adapter, port)  # raises the explanatory ConfigError
        self._objects: dict[str, Any] = dict(objects)
        self._creating: set[str] = set()
        for port in objects:
            self._bindings[port] = PortBinding(adapter=f"<{type(objects[port]).__name__}>")

    def check_options(self) -> None:
        """Check each binding's options against its adapter factory's signature, creating nothing.

        This imports the adapters (as using them would); one whose optional dependencies
        are missing is left to fail when first used, since a run may never use it.
        """
        for port, binding in self._bindings.items():
            if port in self._objects or binding.adapter == "unconfigured":
                continue
            info = get_adapter(binding.adapter)
            try:
                factory = load_factory(info, port)
            except AdapterUnavailable:
                continue
            uses = dict.fromkeys(info.uses.get(port, ()))
            check_options(factory, {**binding.options, **uses}, binding.adapter, port)

    @property
    def bindings(self) -> dict[str, PortBinding]:
        """Port name -> binding, for display (`--dry-run`, `cookbook manifests`)."""
        return dict(self._bindings)

    def get(self, port: str) -> Any:
        """The object serving `port`, created on first use."""
        if port not in PORT_NAMES:
            raise ConfigError(f"unknown port {port!r}; ports: {', '.join(PORT_NAMES)}")
        if port not in self._objects:
            if port in self._creating:
                raise ConfigError(f"port {port!r} uses itself through {sorted(self._creating)}; rewire the manifest")
            binding = self._bindings[port]
            self._creating.add(port)
            try:
                uses = {dep: self.get(dep) for dep in get_adapter(binding.adapter).uses.get(port, ())}
                self._objects[port] = create_adapter(binding.adapter, port, binding.options, uses=uses)
            finally:
                self._creating.discard(port)
        return self._objects[port]

    @property
    def service(self) -> ServiceClient:
        return cast(ServiceClient, self.get("service"))

    @property
    def datasets(self) -> DatasetStore:
        return cast(DatasetStore, self.get("datasets"))

    @property
    def blobs(self) -> BlobStore:
        return cast(BlobStore, self.get("blobs"))

    @property
    def hub(self) -> HubClient:
        return cast(HubClient, self.get("hub"))

    @property
    def embeddings(self) -> EmbeddingClient:
        return cast(EmbeddingClient, self.get("embeddings"))

    @property
    def metrics(self) -> MetricsSink:
        return cast(MetricsSink, self.get("metrics"))

    @property
    def feedback(self) -> FeedbackStore:
        return cast(FeedbackStore, self.get("feedback"))

    @property
    def exporter(self) -> WeightsExporter:
        return cast(WeightsExporter, self.get("exporter"))

    @property
    def registry(self) -> ModelRegistry:
        return cast(ModelRegistry, self.get("registry"))

    def created(self) -> dict[str, Any]:
        """Port objects created so far (used to close them at the end of a run)."""
        return dict(self._objects)

    async def aclose(self, *, raise_errors: bool = True) -> None:
        """Close every created port object that has a `close` (sync or async).

        Every object is closed even when one close fails; failures are logged, and
        the first is raised afterwards unless `raise_errors` is false (as when a run is
        already failing and its own error must be the one reported).
        """
        first: BaseException | None = None
        for port, obj in self._objects.items():
            close = getattr(type(obj), "close", None)
            if close is None:
                continue
            try:
                result = obj.close()
                if hasattr(result, "__await__"):
                    await result
            except Exception as exc:
                logger.warning("closing port %r (%s) failed: %s", port, type(obj).__name__, exc)
                first = first or exc
        if first is not None and raise_errors:
            raise first
