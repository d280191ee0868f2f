"""Blob-key rules shared by every `BlobStore`: relative, '/'-separated, no '..'."""

from __future__ import annotations

from cookbook_runtime.errors import StorageError

__all__ = ["validate_key"]


def validate_key(key: str) -> str:
    """Return `key` if it is a safe relative key, else raise `StorageError` saying why."""
    if not key or not isinstance(key, str):
        raise StorageError("blob key must be a non-empty string")
    if key.startswith("/") or key.startswith("\\") or (len(key) > 1 and key[1] == ":"):
        raise StorageError(f"blob key {key!r} is absolute; use a relative key like 'runs/x/metrics.jsonl'")
    parts = key.replace("\\", "/").split("/")
    if any(p == ".." for p in parts):
        raise StorageError(f"blob key {key!r} contains '..'; keys may not leave the store")
    if "\x00" in key:
        raise StorageError(f"blob key {key!r} contains a NUL byte")
    return key
