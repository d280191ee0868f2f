"""Local files: datasets from JSONL/JSON/CSV/Parquet, and a directory blob store.

Parquet needs pyarrow (the `[files]` extra), imported only when a Parquet file is read.
"""

from cookbook_adapters.files._blobs import FileBlobStore, default_blob_root
from cookbook_adapters.files._datasets import FileDatasetStore
from cookbook_adapters.files._rows import FileRows

__all__ = ["FileBlobStore", "FileDatasetStore", "FileRows", "default_blob_root"]
