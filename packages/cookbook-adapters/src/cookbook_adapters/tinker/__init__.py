"""The `tinker` adapter: the runtime's `service` port over the official Tinker SDK.

Point it at the Tinker service (default) or at any server speaking the same
protocol, such as `cookbook serve`, with `TINKER_BASE_URL` or the `base_url` option.
"""

from cookbook_adapters.tinker._download import DownloadedCheckpoint, download_checkpoint
from cookbook_adapters.tinker._pending import TinkerPending
from cookbook_adapters.tinker._sampling import TinkerSamplingClient
from cookbook_adapters.tinker._service import TinkerServiceClient
from cookbook_adapters.tinker._training import TinkerTrainingClient

__all__ = [
    "DownloadedCheckpoint",
    "TinkerPending",
    "TinkerSamplingClient",
    "TinkerServiceClient",
    "TinkerTrainingClient",
    "download_checkpoint",
]
