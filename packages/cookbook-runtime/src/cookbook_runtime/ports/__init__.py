"""Ports (protocols every outside system is reached through), adapters and manifests."""

from cookbook_runtime.ports._container import Ports
from cookbook_runtime.ports._manifests import (
    BUILTIN_MANIFESTS,
    RUN_DIR_PLACEHOLDER,
    Manifest,
    available_manifests,
    bind_run_dir,
    load_manifest,
    load_manifest_file,
    manifest_profile,
    resolve_bindings,
    user_manifest_path,
)
from cookbook_runtime.ports._packaged import (
    PACKAGED_PREFIX,
    is_packaged_dataset,
    packaged_dataset_names,
    packaged_dataset_path,
    register_packaged_dataset,
)
from cookbook_runtime.ports._protocols import (
    BlobStore,
    CustomLossFn,
    DatasetStore,
    EmbeddingClient,
    HubClient,
    Pending,
    Rows,
    SamplingClient,
    ServiceClient,
    TrainingClient,
)
from cookbook_runtime.ports._registry import (
    PORT_NAMES,
    AdapterInfo,
    adapter_registry,
    create_adapter,
    get_adapter,
)
from cookbook_runtime.ports._unconfigured import Unconfigured, is_configured

__all__ = [
    "BUILTIN_MANIFESTS",
    "PACKAGED_PREFIX",
    "PORT_NAMES",
    "RUN_DIR_PLACEHOLDER",
    "AdapterInfo",
    "BlobStore",
    "CustomLossFn",
    "DatasetStore",
    "EmbeddingClient",
    "HubClient",
    "Manifest",
    "Pending",
    "Ports",
    "Rows",
    "SamplingClient",
    "ServiceClient",
    "TrainingClient",
    "Unconfigured",
    "adapter_registry",
    "available_manifests",
    "bind_run_dir",
    "create_adapter",
    "get_adapter",
    "is_configured",
    "is_packaged_dataset",
    "load_manifest",
    "load_manifest_file",
    "manifest_profile",
    "packaged_dataset_names",
    "packaged_dataset_path",
    "register_packaged_dataset",
    "resolve_bindings",
    "user_manifest_path",
]
