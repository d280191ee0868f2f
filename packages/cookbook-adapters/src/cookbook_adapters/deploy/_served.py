"""A loaded version: its sampling client and renderer, answering chat and text prompts.

Chat prompts are rendered with the version's renderer (the format it was trained
on) and stop where the renderer says a turn ends; answers are parsed back with it.
Raw text prompts are tokenized as they are and stop at EOS. A request's own stop
strings are added to either, and the answer is cut before the first one, as
OpenAI does.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.ports import SamplingClient, ServiceClient
from cookbook_runtime.types import ModelInput, SamplingParams, Tokenizer

from cookbook_adapters.deploy._plan import VersionSource

__all__ = ["Answer", "ServedVersion", "load_version"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    """One sampled choice: its text, its token count and OpenAI's finish reason."""

    text: str
    completion_tokens: int
    finish_reason: str


@dataclass(frozen=True)
class Answers:
    """Every choice sampled for one prompt, and the prompt's length in tokens."""

    choices: list[Answer]
    prompt_tokens: int
    prompt_text: str


def _cut(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """`text` up to the first of `stops` (excluded), and whether one was found."""
    cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=-1)
    return (text, False) if cut < 0 else (text[:cut], True)


def _message_text(message: Any) -> str:
    content = message.get("content") if isinstance(message, dict) else getattr(message, "content", "")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


class ServedVersion:
    """One version's weights behind the endpoint."""

    def __init__(self, source: VersionSource, sampler: SamplingClient, renderer: Any) -> None:
        self.source = source
        self.sampler = sampler
        self.renderer = renderer
        self.tokenizer: Tokenizer = sampler.tokenizer()

    @property
    def version(self) -> str:
        return self.source.version

    def _params(self, cap: int | None, temperature: float | None, top_p: float | None,
                seed: int | None, stop: list[str] | list[int] | None) -> SamplingParams:
        return SamplingParams(
            max_tokens=cap,
            temperature=1.0 if temperature is None else temperature,
            top_p=1.0 if top_p is None else top_p,
            seed=seed,
            stop=stop or None,
        )

    def _renderer_stops(self, extra: list[str]) -> list[str] | list[int]:
        """The renderer's stops, widened to strings when the request adds stop strings."""
        stops = list(self.renderer.get_stop_sequences())
        if not extra:
            return stops
        as_text = [self.tokenizer.decode([s], skip_special_tokens=False) if isinstance(s, int) else s for s in stops]
        return [*as_text, *extra]

    async def chat(
        self, messages: list[dict[str, str]], *, n: int, cap: int | None, temperature: float | None,
        top_p: float | None, seed: int | None, stop: list[str],
    ) -> Answers:
        """Sample `n` assistant turns after `messages`."""
        prompt: ModelInput = self.renderer.build_generation_prompt(messages)
        params = self._params(cap, temperature, top_p, seed, self._renderer_stops(stop))
        result = await self.sampler.sample(prompt, n, params)
        choices = []
        for seq in result.sequences:
            message, termination = self.renderer.parse_response(list(seq.tokens))
            text, cut = _cut(_message_text(message), stop)
            stopped = cut or termination in ("stop", "eos") or seq.stop_reason == "stop"
            choices.append(Answer(text, len(seq.tokens), "stop" if stopped else "length"))
        ids = prompt.to_ints()
        return Answers(choices, len(ids), self.tokenizer.decode(ids, skip_special_tokens=False))

    async def complete(
        self, prompt: str, *, n: int, cap: int | None, temperature: float | None,
        top_p: float | None, seed: int | None, stop: list[str],
    ) -> Answers:
        """Sample `n` continuations of the raw text `prompt`."""
        ids = self.tokenizer.encode(prompt, add_special_tokens=False)
        if not ids:
            raise ConfigError("the prompt is empty; send at least one character of text")
        params = self._params(cap, temperature, top_p, seed, stop)
        result = await self.sampler.sample(ModelInput.from_ints(ids), n, params)
        eos = self.tokenizer.eos_token_id
        choices = []
        for seq in result.sequences:
            tokens = list(seq.tokens)
            if tokens and eos is not None and tokens[-1] == eos:
                tokens = tokens[:-1]
            text, cut = _cut(self.tokenizer.decode(tokens, skip_special_tokens=False), stop)
            choices.append(Answer(text, len(seq.tokens), "stop" if cut or seq.stop_reason == "stop" else "length"))
        return Answers(choices, len(ids), prompt)

    def pieces(self, text: str) -> list[str]:
        """`text` split at token boundaries, for streaming deltas (joined, they are `text`)."""
        ids = self.tokenizer.encode(text, add_special_tokens=False)
        out: list[str] = []
        done = ""
        for i in range(1, len(ids) + 1):
            now = self.tokenizer.decode(ids[:i], skip_special_tokens=False)
            if now.startswith(done) and len(now) > len(done) and not now.endswith("\ufffd"):
                out.append(now[len(done):])
                done = now
        if done != text:  # the tokenizer does not round-trip this text: one piece, exact
            return [text] if text else []
        return out

    async def close(self) -> None:
        await self.sampler.close()


def _renderer(source: VersionSource, tokenizer: Tokenizer) -> Any:
    renderers = importlib.import_module("cookbook_runtime.train.renderers")
    name = source.renderer or str(renderers.recommended_renderer(source.base_model))
    return renderers.get_renderer(name, tokenizer)


async def load_version(service: ServiceClient, source: VersionSource) -> ServedVersion:
    """Open `source`'s weights on `service` and pair them with the version's renderer."""
    if source.sampler_path is not None:
        sampler = await service.create_sampling_client(model_path=source.sampler_path)
    else:
        sampler = await service.create_sampling_client(base_model=source.base_model)
    try:
        renderer = _renderer(source, sampler.tokenizer())
    except BaseException:
        await sampler.close()
        raise
    logger.info("loaded version %s (%s)", source.version, source.sampler_path or source.base_model)
    return ServedVersion(source, sampler, renderer)
