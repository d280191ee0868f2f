"""The endpoint as its own process, so it outlives the pipeline that started it.

`start_endpoint_process` launches `python -m cookbook_adapters.deploy` with a plan
file, waits until `/health` answers `ok` (weights loaded), and leaves a record
(`endpoint.json`: pid, URL, plan, log file) in the given folder; `stop_endpoint_process`
finds the process from that record and stops it. The record is what a later
command (or a test's teardown) uses to find the endpoint again.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cookbook_runtime.atomic import atomic_write
from cookbook_runtime.errors import BackendError, ConfigError

from cookbook_adapters.deploy._plan import DeploymentPlan

__all__ = [
    "ENDPOINT_RECORD",
    "EndpointProcess",
    "HealthProbe",
    "probe_health",
    "read_endpoint",
    "start_endpoint_process",
    "stop_endpoint_process",
]

logger = logging.getLogger(__name__)

ENDPOINT_RECORD = "endpoint.json"
_BOUND = "endpoint.port"

_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}
"""Endpoints this process started, kept so they are reaped when stopped (and not reported as leaked)."""


@dataclass(frozen=True)
class HealthProbe:
    """One `/health` probe: whether it answered ok, how fast, and what it said."""

    ok: bool
    latency_ms: float | None
    detail: str


def probe_health(base_url: str, *, timeout_s: float = 5.0) -> HealthProbe:
    """GET `base_url/health` once."""
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(f"{base_url}/health", timeout=timeout_s) as response:
            body = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return HealthProbe(False, None, f"GET /health failed: {exc}")
    latency = (time.perf_counter() - started) * 1000.0
    ok = isinstance(body, dict) and body.get("status") == "ok"
    return HealthProbe(ok, latency, f"GET /health: {json.dumps(body, sort_keys=True)}")


@dataclass(frozen=True)
class EndpointProcess:
    """A started endpoint process, as its record describes it."""

    pid: int
    base_url: str
    record: Path
    log: Path

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/v1"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_endpoint(folder: Path) -> EndpointProcess | None:
    """The endpoint recorded in `folder`, or None when there is no record."""
    path = folder / ENDPOINT_RECORD
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text())
        return EndpointProcess(int(raw["pid"]), str(raw["base_url"]), path, Path(raw["log"]))
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError(f"endpoint record {str(path)!r} is damaged; stop the process by hand and delete it") from None


def start_endpoint_process(
    plan: DeploymentPlan,
    folder: Path,
    *,
    service: dict[str, Any],
    feedback: dict[str, Any] | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    start_timeout_s: float = 300.0,
    extra: dict[str, Any] | None = None,
) -> EndpointProcess:
    """Run the endpoint for `plan` in a new process; return once `/health` is ok.

    `service` and `feedback` are port bindings (`{"adapter": ..., "options": {...}}`) the
    process builds its ports from. An endpoint already recorded in `folder` is stopped
    first (a redeploy replaces it). On a failed start the process is stopped and the
    tail of its log is in the error.
    """
    folder.mkdir(parents=True, exist_ok=True)
    stop_endpoint_process(folder)
    plan_path = folder / "endpoint-plan.json"
    atomic_write(plan_path, plan.model_dump_json(indent=2))
    bound = folder / _BOUND
    bound.unlink(missing_ok=True)
    log = folder / "endpoint.log"
    args = [
        sys.executable, "-m", "cookbook_adapters.deploy",
        "--plan", str(plan_path), "--host", host, "--port", str(port), "--bound-file", str(bound),
        "--service", json.dumps(service),
    ]
    if feedback is not None:
        args += ["--feedback", json.dumps(feedback)]
    with log.open("ab") as sink:
        proc = subprocess.Popen(args, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    _CHILDREN[proc.pid] = proc
    deadline = time.monotonic() + start_timeout_s
    base_url = None
    try:
        while True:
            if proc.poll() is not None:
                raise BackendError(f"the endpoint process exited ({proc.returncode}) before serving: {_tail(log)}")
            if time.monotonic() > deadline:
                raise BackendError(f"the endpoint did not become healthy in {start_timeout_s:.0f} s: {_tail(log)}")
            if base_url is None and bound.is_file() and bound.read_text().strip():
                base_url = f"http://{host}:{int(bound.read_text())}"
            if base_url is not None and probe_health(base_url, timeout_s=2.0).ok:
                break
            time.sleep(0.2)
    except BaseException:
        _terminate(proc.pid)
        raise
    record = {"pid": proc.pid, "base_url": base_url, "log": str(log), "plan": plan.model_dump(mode="json"),
              "started_at": time.time(), **(extra or {})}
    atomic_write(folder / ENDPOINT_RECORD, json.dumps(record, indent=2))
    logger.info("endpoint %s (pid %d) serving on %s", plan.model, proc.pid, base_url)
    return EndpointProcess(proc.pid, base_url, folder / ENDPOINT_RECORD, log)


def _tail(log: Path, lines: int = 5) -> str:
    try:
        text = log.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(text[-lines:]) or "(empty log)"


def _terminate(pid: int, timeout_s: float = 20.0) -> bool:
    """SIGTERM `pid` (then SIGKILL after `timeout_s`); True when it was running."""
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        if child.poll() is not None:
            return False
        child.terminate()
        try:
            child.wait(timeout_s)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        return True
    if not _alive(pid):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:  # reap it when it is our child, so it does not linger as a zombie
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done == pid:
                return True
        except ChildProcessError:
            if not _alive(pid):
                return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return True


def _is_endpoint(pid: int) -> bool:
    """Whether `pid` still runs the endpoint (not a process that reused a dead endpoint's pid)."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not Path("/proc/self/cmdline").exists():
        return _alive(pid)  # no procfs: the pid is all there is to go on
    try:
        return b"cookbook_adapters.deploy" in cmdline.read_bytes()
    except OSError:
        return False


def stop_endpoint_process(folder: Path) -> EndpointProcess | None:
    """Stop the endpoint recorded in `folder` (if any) and remove its record; returns what was stopped."""
    found = read_endpoint(folder)
    if found is None:
        return None
    if _is_endpoint(found.pid) and _terminate(found.pid):
        logger.info("stopped endpoint pid %d (%s)", found.pid, found.base_url)
    found.record.unlink(missing_ok=True)
    return found
