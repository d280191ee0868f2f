"""What each adapter serves and which extra it needs; imports nothing heavy.

The `cookbook.adapters` entry points name these objects, so listing adapters (and
telling a user which extra to install) never imports torch, boto3 or the SDKs.
Evaluator kinds (`inspect`) are named the same way, in `_evaluator_kinds`.
"""

from __future__ import annotations

from cookbook_runtime.ports import AdapterInfo

__all__ = ["EMBEDDINGS", "FILES", "HF", "LOCAL", "S3", "SQLITE", "TINKER", "WANDB"]

LOCAL = AdapterInfo(
    name="local",
    description="Embedded PyTorch engine: training and sampling on this machine (CPU or one GPU).",
    extra="local",
    factories={
        "service": "cookbook_adapters.local:LocalServiceClient",
        "exporter": "cookbook_adapters.local:LocalWeightsExporter",
    },
)
FILES = AdapterInfo(
    name="files",
    description="Local JSONL/JSON/Parquet/CSV datasets and a directory blob store.",
    extra="files",
    factories={
        "datasets": "cookbook_adapters.files:FileDatasetStore",
        "blobs": "cookbook_adapters.files:FileBlobStore",
    },
)
HF = AdapterInfo(
    name="hf",
    description="Hugging Face datasets and hub (offline mode respected).",
    extra="hf",
    factories={
        "datasets": "cookbook_adapters.hf:HFDatasetStore",
        "hub": "cookbook_adapters.hf:HFHubClient",
    },
)
S3 = AdapterInfo(
    name="s3",
    description="S3 and S3-compatible blob storage through boto3.",
    extra="s3",
    factories={"blobs": "cookbook_adapters.s3:S3BlobStore"},
)
TINKER = AdapterInfo(
    name="tinker",
    description="The Tinker training service through the official SDK.",
    extra="tinker",
    factories={"service": "cookbook_adapters.tinker:TinkerServiceClient"},
)
EMBEDDINGS = AdapterInfo(
    name="sentence-transformers",
    description="Local sentence-transformers embeddings (all-MiniLM-L6-v2 offline).",
    extra="embeddings",
    factories={"embeddings": "cookbook_adapters.embeddings:SentenceTransformerEmbeddings"},
)
WANDB = AdapterInfo(
    name="wandb",
    description="Weights & Biases: each training stage's metrics as a W&B run.",
    extra="wandb",
    factories={"metrics": "cookbook_adapters.wandb:WandbMetricsSink"},
)
SQLITE = AdapterInfo(
    name="sqlite",
    description="Embedded SQLite files (stdlib sqlite3, WAL): the model registry (artifacts in the blobs "
    "port) and the feedback store.",
    factories={
        "registry": "cookbook_adapters.sqlite:SqliteModelRegistry",
        "feedback": "cookbook_adapters.sqlite:SQLiteFeedbackStore",
    },
    uses={"registry": ("blobs",)},
)
