"""Hugging Face datasets and hub (extra `hf`).

`HFDatasetStore` opens hub datasets (with config, split and revision), local data
files and folders (JSONL/JSON, Parquet, CSV, Arrow) and `save_to_disk` folders,
map-style (memory-mapped Arrow) or streaming. `HFHubClient` downloads files and
snapshots. Both respect offline mode (`HF_HUB_OFFLINE=1` or `offline=True`): they
read the local HF cache only, and say so in one line when something is not there.
"""

from cookbook_adapters.hf._datasets import HFDatasetStore
from cookbook_adapters.hf._hub import HFHubClient
from cookbook_adapters.hf._rows import HFRows

__all__ = ["HFDatasetStore", "HFHubClient", "HFRows"]
