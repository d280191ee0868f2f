"""An OpenAI-compatible HTTP endpoint over the local engine, serving one or two model versions.

`/v1/chat/completions` (rendered with each version's renderer), `/v1/completions`,
`/v1/models`, `/health` and `POST /v1/feedback`; `replace` serves one version, `canary`
splits traffic between two by weight. Needs the `[deploy]` extra (FastAPI, uvicorn,
the local engine). `serve_endpoint` blocks (`cookbook deploy`); `running_endpoint`
serves from a background thread (tests).
"""

from cookbook_adapters.deploy._app import EndpointState, create_endpoint_app
from cookbook_adapters.deploy._events import EventLog, InferenceRecord
from cookbook_adapters.deploy._plan import DeploymentPlan, VersionSource
from cookbook_adapters.deploy._routing import Router
from cookbook_adapters.deploy._run import RunningEndpoint, running_endpoint, serve_endpoint
from cookbook_adapters.deploy._served import ServedVersion, load_version

__all__ = [
    "DeploymentPlan",
    "EndpointState",
    "EventLog",
    "InferenceRecord",
    "Router",
    "RunningEndpoint",
    "ServedVersion",
    "VersionSource",
    "create_endpoint_app",
    "load_version",
    "running_endpoint",
    "serve_endpoint",
]
