"""What a `WeightsExporter` writes: a checkpoint as a PEFT adapter and as merged Hugging Face weights."""

from __future__ import annotations

from typing import Literal, TypeAlias

from pydantic import Field

from cookbook_runtime.ir import Spec

__all__ = ["EXPORT_FORMATS", "ExportFormat", "ExportedWeights"]

ExportFormat: TypeAlias = Literal["peft_adapter", "merged"]
"""`peft_adapter`: `adapter_config.json` + `adapter_model.safetensors` (+ tokenizer), loadable with
`peft.PeftModel.from_pretrained(base, dir)`; `merged`: the base with the adapter folded in, a whole
HF model directory (`config.json`, `model.safetensors`, tokenizer files) for `from_pretrained(dir)`."""

EXPORT_FORMATS: tuple[ExportFormat, ...] = ("peft_adapter", "merged")


class ExportedWeights(Spec):
    """Where an export put each format, and what it exported."""

    checkpoint: str = Field(description="The checkpoint exported (a path the backend saved).")
    base_model: str = Field(description="The base model the checkpoint was trained from.")
    lora_rank: int = Field(ge=0, description="LoRA rank of the checkpoint; 0 for full fine-tuning.")
    peft_adapter_dir: str | None = Field(default=None, description="The PEFT adapter directory, if written.")
    merged_dir: str | None = Field(default=None, description="The merged HF model directory, if written.")
