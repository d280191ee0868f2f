"""Fakes of every port and the port-contract suite adapters are tested against."""

from cookbook_runtime.testing._evaluators import RecordingEvaluator
from cookbook_runtime.testing._exporter import FakeWeightsExporter
from cookbook_runtime.testing._feedback import FakeFeedbackStore
from cookbook_runtime.testing._scripted import ScriptedSamplingClient
from cookbook_runtime.testing._tokenizer import ByteTokenizer
from cookbook_runtime.testing.contract import (
    BLOB_STORE_CHECKS,
    DATASET_STORE_CHECKS,
    EMBEDDING_CHECKS,
    FEEDBACK_STORE_CHECKS,
    HUB_CHECKS,
    METRICS_SINK_CHECKS,
    REGISTRY_CHECKS,
    SERVICE_CHECKS,
    DatasetFactory,
    RegistrySubject,
    ServiceSubject,
)
from cookbook_runtime.testing.fakes import (
    FakeBlobStore,
    FakeDatasetStore,
    FakeEmbeddingClient,
    FakeHubClient,
    FakeMetricsSink,
    FakeModelRegistry,
    FakePending,
    FakeRows,
    FakeSamplingClient,
    FakeServiceClient,
    FakeStates,
    FakeTrainingClient,
)

__all__ = [
    "BLOB_STORE_CHECKS",
    "DATASET_STORE_CHECKS",
    "EMBEDDING_CHECKS",
    "FEEDBACK_STORE_CHECKS",
    "HUB_CHECKS",
    "METRICS_SINK_CHECKS",
    "REGISTRY_CHECKS",
    "SERVICE_CHECKS",
    "ByteTokenizer",
    "DatasetFactory",
    "FakeBlobStore",
    "FakeDatasetStore",
    "FakeEmbeddingClient",
    "FakeFeedbackStore",
    "FakeHubClient",
    "FakeMetricsSink",
    "FakeModelRegistry",
    "FakePending",
    "FakeRows",
    "FakeSamplingClient",
    "FakeServiceClient",
    "FakeStates",
    "FakeTrainingClient",
    "FakeWeightsExporter",
    "RecordingEvaluator",
    "RegistrySubject",
    "ScriptedSamplingClient",
    "ServiceSubject",
]
