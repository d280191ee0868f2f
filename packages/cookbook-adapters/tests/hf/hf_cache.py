"""Build a Hugging Face hub cache by hand, laid out the way `huggingface_hub` writes it:

    <cache>/<type>s--<org>--<name>/blobs/<sha256>
    <cache>/<type>s--<org>--<name>/snapshots/<commit>/<path> -> ../../blobs/<sha256>
    <cache>/<type>s--<org>--<name>/refs/<branch>            (holds <commit>)
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def add_repo(
    cache: Path,
    repo_id: str,
    files: dict[str, bytes],
    *,
    repo_type: str = "model",
    commit: str | None = None,
    ref: str | None = "main",
) -> Path:
    """Add one snapshot of `repo_id` holding `files`; return the snapshot folder."""
    commit = commit or hashlib.sha1(repr(sorted(files.items())).encode()).hexdigest()
    repo = cache / f"{repo_type}s--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / commit
    for rel, content in files.items():
        blob = repo / "blobs" / hashlib.sha256(content).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(content)
        link = snapshot / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    if ref is not None:
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / ref).write_text(commit)
    return snapshot
