"""External weights: a model's weights exported in the Hugging Face format, and their download URLs.

An export is what `LocalWeightsExporter` writes from the model's sampler weights:
a PEFT adapter directory for a LoRA run (`adapter_model.safetensors`,
`adapter_config.json`, the tokenizer), a merged model directory for a full
fine-tune. With age recipients every file is encrypted to them and stored with
a `.age` suffix. Exports live under `<exports>/external_weights/<run>/<name>`, each
renamed into place whole, so the server lists only complete ones.

Download URLs are capability tokens on this server: each names one export and
expires; the file route serves only the files the export holds.
"""

from __future__ import annotations

import secrets
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyrage
from cookbook_runtime.errors import ConfigError

from cookbook_adapters.local._paths import atomic_directory

__all__ = [
    "AGE_SUFFIX",
    "DownloadGrant",
    "DownloadGrants",
    "directory_size",
    "export_files",
    "parse_recipients",
    "write_export",
]

_pyrage: Any = pyrage  # the extension module ships no type information
AGE_SUFFIX = ".age"
_MAX_RECIPIENTS = 10
URL_LIFETIME_S = 3600.0


def parse_recipients(recipients: list[str] | None) -> list[Any]:
    """age recipients (`age1...` keys or SSH public keys), parsed; a bad one is a `ConfigError`."""
    if not recipients:
        return []
    if len(recipients) > _MAX_RECIPIENTS:
        raise ConfigError(
            f"age_encryption_recipients has {len(recipients)} recipients; pass at most {_MAX_RECIPIENTS}"
        )
    parsed: list[Any] = []
    for text in recipients:
        kind = _pyrage.ssh if text.startswith(("ssh-", "ecdsa-")) else _pyrage.x25519
        try:
            parsed.append(kind.Recipient.from_str(text.strip()))
        except _pyrage.RecipientError as exc:
            shown = text if len(text) <= 24 else f"{text[:20]}..."
            raise ConfigError(
                f"age recipient {shown!r} is not valid ({exc}); pass an 'age1...' key or an SSH public key"
            ) from None
    return parsed


def export_files(directory: Path) -> dict[str, Path]:
    """The files of an export by their path relative to it (POSIX separators), sorted."""
    return {
        p.relative_to(directory).as_posix(): p
        for p in sorted(directory.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def directory_size(directory: Path) -> int:
    """Total bytes of the files under `directory` (0 when it is gone)."""
    return (
        sum(p.stat().st_size for p in export_files(directory).values()) if directory.is_dir() else 0
    )


def write_export(produced: Path, dest: Path, recipients: list[Any]) -> Path:
    """Put the exporter's output directory `produced` at `dest` whole, each file encrypted when asked."""

    def fill(tmp: Path) -> None:
        for rel, src in export_files(produced).items():
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if recipients:
                _pyrage.encrypt_file(str(src), str(target) + AGE_SUFFIX, recipients)
            else:
                shutil.copy2(src, target)

    return atomic_directory(dest, fill, replace=True).resolve()


@dataclass(frozen=True)
class DownloadGrant:
    """One signed set of URLs: the export it opens and when it stops working."""

    run_id: str
    checkpoint_id: str
    directory: Path
    expires_at: float  # wall-clock seconds


@dataclass
class DownloadGrants:
    """Tokens that open one export each for `lifetime_s` seconds."""

    lifetime_s: float = URL_LIFETIME_S
    _grants: dict[str, DownloadGrant] = field(default_factory=dict)

    def sign(self, run_id: str, checkpoint_id: str, directory: Path) -> tuple[str, DownloadGrant]:
        """A fresh token for the export at `directory`."""
        now = time.time()
        self._grants = {t: g for t, g in self._grants.items() if g.expires_at > now}
        token = f"{uuid.uuid4().hex[:8]}{secrets.token_urlsafe(24)}"
        grant = DownloadGrant(run_id, checkpoint_id, directory, now + self.lifetime_s)
        self._grants[token] = grant
        return token, grant

    def lookup(self, token: str) -> DownloadGrant | None:
        """The live grant of `token`; None when it is unknown or expired."""
        grant = self._grants.get(token)
        if grant is None or grant.expires_at <= time.time():
            return None
        return grant

    def revoke(self, run_id: str, checkpoint_id: str) -> None:
        """Forget every token of one export (it was deleted or replaced)."""
        self._grants = {
            t: g
            for t, g in self._grants.items()
            if (g.run_id, g.checkpoint_id) != (run_id, checkpoint_id)
        }
