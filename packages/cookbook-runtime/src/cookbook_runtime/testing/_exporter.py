"""`FakeWeightsExporter`: records what it was asked to export as small JSON files."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from cookbook_runtime.atomic import atomic_write
from cookbook_runtime.errors import ConfigError
from cookbook_runtime.ports._export import ExportedWeights, ExportFormat

__all__ = ["FakeWeightsExporter"]


class FakeWeightsExporter:
    """Writes `dest/<format>/export.json` naming the checkpoint; keeps each call in `calls`.

    A checkpoint whose path contains 'full' stands for a rank-0 (full fine-tuning) one.
    """

    def __init__(self, base_model: str = "fake/model") -> None:
        self.base_model = base_model
        self.calls: list[dict[str, object]] = []

    async def export(
        self,
        checkpoint: str,
        dest: Path,
        *,
        formats: Sequence[ExportFormat] = ("peft_adapter", "merged"),
        base_model: str | None = None,
        dtype: str | None = None,
    ) -> ExportedWeights:
        rank = 0 if "full" in checkpoint else 8
        if rank == 0 and "peft_adapter" in formats:
            raise ConfigError(f"checkpoint {checkpoint!r} is a full fine-tune: it has no LoRA adapter to export")
        base = base_model or self.base_model
        self.calls.append({"checkpoint": checkpoint, "dest": str(dest), "formats": list(formats), "dtype": dtype})
        dirs: dict[str, str] = {}
        for fmt in formats:
            out = Path(dest) / fmt
            atomic_write(out / "export.json", json.dumps({"checkpoint": checkpoint, "base_model": base}))
            dirs[f"{fmt}_dir"] = str(out)
        return ExportedWeights(checkpoint=checkpoint, base_model=base, lora_rank=rank, **dirs)
