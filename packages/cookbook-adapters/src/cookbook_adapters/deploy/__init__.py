"""An OpenAI-compatible HTTP endpoint over the local engine, serving one or two model versions.

`/v1/chat/completions` (rendered with each version's renderer), `/v1/completions`,
`/v1/models`, `/health` and `POST /v1/feedback`; `replace` serves one version, `canary`
splits traffic between two by weight. Needs the `[deploy]` extra (FastAPI, uvicorn,
the local engine). `serve_endpoint` blocks (`cookbook deploy`); `running_endpoint`
serves from a background thread (tests); `start_endpoint_process` runs it as its own
process (the `deploy` stage).

Names are imported on first use, so the `deploy` stage (an entry point) can be
listed and validated without the extra; using the server without it raises
`AdapterUnavailable` naming the `pip install` to run.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "DeployOptions",
    "DeployStage",
    "DeploymentPlan",
    "EndpointProcess",
    "EndpointState",
    "EventLog",
    "HealthProbe",
    "InferenceRecord",
    "Router",
    "RunningEndpoint",
    "ServedVersion",
    "VersionSource",
    "create_endpoint_app",
    "load_version",
    "looks_like_path",
    "probe_health",
    "read_endpoint",
    "require_server_extra",
    "running_endpoint",
    "serve_endpoint",
    "source_from_checkpoint",
    "source_from_registry",
    "source_from_run",
    "source_from_version",
    "start_endpoint_process",
    "stop_endpoint_process",
    "stop_run_endpoint",
]

_WHERE = {
    "DeployOptions": "_stage",
    "DeployStage": "_stage",
    "stop_run_endpoint": "_stage",
    "DeploymentPlan": "_plan",
    "VersionSource": "_plan",
    "EndpointProcess": "_process",
    "HealthProbe": "_process",
    "probe_health": "_process",
    "read_endpoint": "_process",
    "start_endpoint_process": "_process",
    "stop_endpoint_process": "_process",
    "EndpointState": "_app",
    "create_endpoint_app": "_app",
    "EventLog": "_events",
    "InferenceRecord": "_events",
    "Router": "_routing",
    "RunningEndpoint": "_run",
    "running_endpoint": "_run",
    "serve_endpoint": "_run",
    "ServedVersion": "_served",
    "load_version": "_served",
    "looks_like_path": "_sources",
    "source_from_checkpoint": "_sources",
    "source_from_registry": "_sources",
    "source_from_run": "_sources",
    "source_from_version": "_sources",
    "require_server_extra": "_extra",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if module in ("_app", "_run", "_served", "_events"):
        importlib.import_module(f"{__name__}._extra").require_server_extra()
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
