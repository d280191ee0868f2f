"""`python -m cookbook_adapters.deploy --plan PLAN.json ...`: serve a plan until SIGTERM or Ctrl-C.

Started by `start_endpoint_process`; the ports are rebuilt here from the bindings
given as JSON (`{"adapter": NAME, "options": {...}}`), looked up by adapter name.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

from cookbook_runtime.atomic import atomic_write
from cookbook_runtime.errors import CookbookError
from cookbook_runtime.ports import create_adapter

from cookbook_adapters.deploy._plan import DeploymentPlan
from cookbook_adapters.deploy._run import bind, serve_endpoint


def _binding(text: str, what: str) -> tuple[str, dict[str, object]]:
    raw = json.loads(text)
    if not isinstance(raw, dict) or not isinstance(raw.get("adapter"), str):
        raise CookbookError(f"--{what} must be a JSON object with an 'adapter' name")
    options = raw.get("options") or {}
    return str(raw["adapter"]), dict(options)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cookbook_adapters.deploy", description=__doc__)
    parser.add_argument("--plan", type=Path, required=True, help="Deployment plan JSON file.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port.")
    parser.add_argument("--bound-file", type=Path, help="Write the bound port here once listening.")
    parser.add_argument("--service", default='{"adapter": "local"}', help="Service port binding (JSON).")
    parser.add_argument("--feedback", default=None, help="Feedback store binding (JSON); none by default.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        plan = DeploymentPlan.parse(json.loads(args.plan.read_text()), str(args.plan))
        adapter, options = _binding(args.service, "service")
        service = create_adapter(adapter, "service", options)
        feedback = None
        if args.feedback:
            adapter, options = _binding(args.feedback, "feedback")
            feedback = create_adapter(adapter, "feedback", options)
        sock = bind(args.host, args.port)
    except (CookbookError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.bound_file is not None:
        atomic_write(args.bound_file, str(sock.getsockname()[1]))
    try:
        serve_endpoint(plan, service, feedback=feedback, host=args.host, sock=sock)
    finally:
        asyncio.run(_close(service, feedback))
    return 0


async def _close(*ports: Any) -> None:
    for port in ports:
        if port is not None:
            await port.close()


if __name__ == "__main__":
    sys.exit(main())
