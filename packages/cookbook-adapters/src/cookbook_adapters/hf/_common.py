"""What the dataset store and the hub client share: the offline switch and error text."""

from __future__ import annotations

import os
import socket
import time
from urllib.parse import urlsplit

from cookbook_runtime.errors import AdapterUnavailable

try:
    import huggingface_hub
except ModuleNotFoundError as exc:  # pragma: no cover - only without the extra
    raise AdapterUnavailable("hf", exc.name or "huggingface-hub", "hf") from exc

__all__ = ["brief", "endpoint", "env_offline", "hub_cache_dir", "hub_reachable"]

_TRUE = {"1", "true", "yes", "on"}


def env_offline() -> bool:
    """Whether the environment asks for offline mode (read at call time, not import time)."""
    if any(os.environ.get(name, "").strip().lower() in _TRUE for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")):
        return True
    return bool(huggingface_hub.constants.HF_HUB_OFFLINE)


def hub_cache_dir(cache_dir: str | None) -> str:
    """The hub cache in use: the option, else `HF_HUB_CACHE`/`HF_HOME`, else the library default."""
    if cache_dir:
        return os.path.expanduser(cache_dir)
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    if os.environ.get("HF_HOME"):
        return os.path.join(os.environ["HF_HOME"], "hub")
    return str(huggingface_hub.constants.HF_HUB_CACHE)


def brief(exc: BaseException, limit: int = 160) -> str:
    """The first line of an exception's text (or its type), cut to `limit` characters."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def endpoint(explicit: str | None = None) -> str:
    """The hub endpoint in use: the option, else `HF_ENDPOINT`, else huggingface.co."""
    return explicit or os.environ.get("HF_ENDPOINT") or str(huggingface_hub.constants.ENDPOINT)


_PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
_probes: dict[str, tuple[float, bool]] = {}
_PROBE_TTL = 30.0


def hub_reachable(url: str, timeout: float = 3.0) -> bool:
    """Whether a TCP connection to the endpoint opens (remembered for 30 s).

    The hub libraries retry a refused connection with back-off for half a minute
    per request; one quick probe lets an unreachable hub fall back to the cache at
    once. Behind a proxy the probe is skipped (the proxy decides reachability).
    """
    if any(os.environ.get(v) for v in _PROXY_VARS):
        return True
    now = time.monotonic()
    cached = _probes.get(url)
    if cached is not None and now - cached[0] < _PROBE_TTL:
        return cached[1]
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=timeout):
            ok = True
    except OSError:
        ok = False
    _probes[url] = (now, ok)
    return ok
