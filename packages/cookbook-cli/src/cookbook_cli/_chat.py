"""Chat with a finished run: its last sampler checkpoint, its renderer, its manifest.

This is the non-terminal half of `cookbook sample`: find the checkpoint and the
renderer a run used, build the prompt, sample through the run's ports, and parse
the answer back into text. It reaches the backend only through the `Runtime`
facade's ports, so it works the same for local and remote runs.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.ir import Experiment
from cookbook_runtime.ports import SamplingClient
from cookbook_runtime.runtime import Runtime
from cookbook_runtime.train.types import ModelInput, SamplingParams
from pydantic import ValidationError

from cookbook_cli._runs import require_run_dir

__all__ = ["ChatRenderer", "ChatReply", "RunChat", "message_text"]

logger = logging.getLogger(__name__)


class ChatRenderer(Protocol):
    """What sampling a chat needs from a renderer (`cookbook_runtime.train.renderers`)."""

    def build_generation_prompt(self, messages: list[Any]) -> ModelInput: ...

    def get_stop_sequences(self) -> Sequence[str] | Sequence[int]: ...

    def parse_response(self, response: list[int]) -> tuple[Any, Any]: ...


@dataclass(frozen=True)
class ChatReply:
    """One sampled answer: its text, its tokens and why sampling stopped."""

    text: str
    tokens: list[int]
    stop_reason: str


def message_text(message: Any) -> str:
    """The text of a parsed message (a mapping or an object with `content`)."""
    content = message.get("content") if isinstance(message, Mapping) else getattr(message, "content", message)
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, Mapping):
                parts.append(str(part.get("text") or part.get("thinking") or ""))
            else:
                parts.append(str(getattr(part, "text", part)))
        return "".join(parts)
    return "" if content is None else str(content)


class RunChat:
    """A run's last checkpoint, ready to answer prompts."""

    def __init__(self, run_path: Path, *, manifest: str | None = None) -> None:
        rd = require_run_dir(run_path)
        raw = rd.read_json("experiment.json")
        if raw is None:
            raise ConfigError(f"run {str(run_path)!r} has no experiment.json; was it started by the cookbook?")
        try:
            self.experiment = Experiment.model_validate(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "spec"
            raise ConfigError(
                f"run file {str(run_path / 'experiment.json')!r} is not a valid spec ({where}: {err['msg']}); "
                "restore it from 'cookbook spec', or start a new run"
            ) from None
        from cookbook_runtime.train.checkpoints import last_checkpoint

        checkpoint = last_checkpoint(run_path, sampler=True)
        if checkpoint is None:
            raise ConfigError(
                f"run {str(run_path)!r} has no checkpoint with a sampler_path yet; "
                "let training save one (save_every) or finish, then retry"
            )
        self.sampler_path = str(checkpoint.sampler_path)
        self.run_path = run_path
        self.runtime = Runtime(manifest or self.experiment.backend.manifest)
        training = self.experiment.training
        self.base_model = training.model.name if training is not None else None
        self.renderer_name = training.model.renderer if training is not None else None

    def _renderer(self, sampler: SamplingClient) -> ChatRenderer:
        # Looked up by name: the renderers module is the runtime's, and may grow.
        renderers = importlib.import_module("cookbook_runtime.train.renderers")
        name = self.renderer_name
        if name is None:
            if self.base_model is None:
                raise ConfigError(f"run experiment {self.experiment.id!r} names no model and no renderer")
            name = str(renderers.recommended_renderer(self.base_model))
        renderer: ChatRenderer = renderers.get_renderer(name, sampler.tokenizer())
        return renderer

    async def ask(
        self,
        prompt: str,
        *,
        system: str | None = None,
        params: SamplingParams | None = None,
    ) -> ChatReply:
        """Sample one answer to `prompt` from the run's last checkpoint."""
        ports = self.runtime.ports(self.experiment.backend, run_dir=self.run_path)  # the run's own wiring
        try:
            sampler = await ports.service.create_sampling_client(model_path=self.sampler_path)
            renderer = self._renderer(sampler)
            messages: list[dict[str, str]] = []
            if system:
                messages.append({"role": "system", "content": system})
            messages.append({"role": "user", "content": prompt})
            model_input = renderer.build_generation_prompt(messages)
            base = params or SamplingParams(max_tokens=128, temperature=0.0)
            stop = list(renderer.get_stop_sequences())
            params = base if base.stop is not None else base.model_copy(update={"stop": stop or None})
            logger.info("sampling %s with renderer %s", self.sampler_path, type(renderer).__name__)
            result = await sampler.sample(model_input, 1, params)
        finally:
            await ports.aclose()
        sequence = result.sequences[0]
        message, _ = renderer.parse_response(list(sequence.tokens))
        return ChatReply(text=message_text(message), tokens=list(sequence.tokens), stop_reason=str(sequence.stop_reason))
