"""A Tinker-compatible HTTP server over any runtime `ServiceClient` (default: the local engine).

The unmodified `tinker` SDK, pointed at it with `TINKER_BASE_URL`, trains and
samples on this machine; `serve` blocks (the CLI's `cookbook serve`), and
`running_server` runs it in a background thread for tests.
"""

from cookbook_adapters.server._app import create_app
from cookbook_adapters.server._run import DEFAULT_MODEL, RunningServer, running_server, serve
from cookbook_adapters.server._state import ServerState

__all__ = ["DEFAULT_MODEL", "RunningServer", "ServerState", "create_app", "running_server", "serve"]
