"""`DatasetStore` over Hugging Face `datasets`.

Map-style splits are prepared once into the datasets cache as Arrow and then
memory-mapped, so even large sets are not held in RAM; `DatasetRef.streaming`
skips preparation and streams rows from the files (local or hub). Hub ids are
opened online when allowed; offline, or when the hub cannot be reached, they are
opened from the repo's snapshot in the local hub cache.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from cookbook_runtime.errors import AdapterUnavailable, CookbookError, StorageError
from cookbook_runtime.ir import DatasetRef

from cookbook_adapters.hf._common import brief, endpoint, env_offline, hub_cache_dir, hub_reachable
from cookbook_adapters.hf._rows import SHUFFLE_BUFFER, HFRows
from cookbook_adapters.hf._source import Source, builder_for, resolve_local, saved_splits

try:
    import datasets
    import pyarrow as pa
    from huggingface_hub import snapshot_download
except ModuleNotFoundError as exc:  # pragma: no cover - only without the extra
    raise AdapterUnavailable("hf", exc.name or "datasets", "hf") from exc

__all__ = ["HFDatasetStore"]

logger = logging.getLogger(__name__)


class HFDatasetStore:
    """Opens datasets by reference through `datasets`.

    Options: `cache_dir` (where prepared Arrow data goes; default the datasets
    cache), `hub_cache` (the hub cache to read snapshots from; default the hub's),
    `offline` (None follows `HF_HUB_OFFLINE`/`HF_DATASETS_OFFLINE`),
    `shuffle_buffer` (rows a streamed shuffle holds), `num_proc` (processes used
    to prepare large map-style sets).
    """

    def __init__(
        self,
        *,
        cache_dir: str | None = None,
        hub_cache: str | None = None,
        offline: bool | None = None,
        shuffle_buffer: int = SHUFFLE_BUFFER,
        num_proc: int | None = None,
    ) -> None:
        self.cache_dir = str(Path(cache_dir).expanduser()) if cache_dir else None
        self.hub_cache = hub_cache
        self.offline = offline
        self.shuffle_buffer = shuffle_buffer
        self.num_proc = num_proc
        self._builders: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()

    def _is_offline(self) -> bool:
        return env_offline() if self.offline is None else self.offline

    # -- resolving ----------------------------------------------------------------
    def _cached_snapshot(self, ref: DatasetRef, reason: str) -> str:
        cache = hub_cache_dir(self.hub_cache)
        try:
            path: str = snapshot_download(
                ref.name, repo_type="dataset", revision=ref.revision, cache_dir=cache, local_files_only=True
            )
        except Exception:
            rev = f" at revision {ref.revision!r}" if ref.revision else ""
            raise StorageError(
                f"dataset {ref.name!r}{rev} is {reason} and not in the local HF cache {cache!r}: "
                "download it where the hub is reachable, or give a local file or folder"
            ) from None
        logger.info("opening dataset %s from the hub cache at %s", ref.name, path)
        return path

    def _make_builder(self, ref: DatasetRef, source: Source | None) -> Any:
        common: dict[str, Any] = {"cache_dir": self.cache_dir}
        if source is not None and source.kind == "file":
            path = Path(source.location)
            return datasets.load_dataset_builder(
                builder_for(ref.format, path), data_files={ref.split: str(path)}, **common
            )
        if source is not None:  # a folder of data files
            if ref.format:
                builder = builder_for(ref.format, Path(source.location))
                return datasets.load_dataset_builder(builder, data_dir=source.location, **common)
            return datasets.load_dataset_builder(source.location, name=ref.config, **common)
        if self._is_offline():
            snapshot = self._cached_snapshot(ref, "not reachable (offline mode: HF_HUB_OFFLINE=1)")
            return datasets.load_dataset_builder(snapshot, name=ref.config, **common)
        hub = endpoint()
        if not hub_reachable(hub):
            snapshot = self._cached_snapshot(ref, f"not reachable (cannot connect to {hub})")
            return datasets.load_dataset_builder(snapshot, name=ref.config, **common)
        try:
            return datasets.load_dataset_builder(ref.name, name=ref.config, revision=ref.revision, **common)
        except Exception as exc:
            logger.debug("hub load of %s failed (%s); trying the hub cache", ref.name, type(exc).__name__)
            snapshot = self._cached_snapshot(ref, f"not available from the hub ({brief(exc)})")
            return datasets.load_dataset_builder(snapshot, name=ref.config, **common)

    def _builder(self, ref: DatasetRef, source: Source | None) -> Any:
        key = (ref.name, ref.config, ref.revision, ref.format, ref.split if source and source.kind == "file" else None)
        with self._lock:
            if key not in self._builders:
                try:
                    self._builders[key] = self._make_builder(ref, source)
                except CookbookError:
                    raise
                except Exception as exc:
                    raise StorageError(f"cannot open dataset {ref.name!r}: {brief(exc)}") from exc
            return self._builders[key]

    # -- DatasetStore -------------------------------------------------------------
    def splits(self, ref: DatasetRef) -> list[str]:
        """Split names the dataset offers (a single file is one split, named `ref.split`)."""
        source = resolve_local(ref)
        if source is not None and source.kind == "saved":
            return saved_splits(Path(source.location)) or [ref.split]
        builder = self._builder(ref, source)
        if builder.config.data_files:
            return [str(s) for s in builder.config.data_files]
        return [str(s) for s in (builder.info.splits or {})]

    def open(self, ref: DatasetRef, split: str | None = None) -> HFRows:
        """Rows of `split` (default `ref.split`), memory-mapped or streamed per `ref.streaming`."""
        split = split or ref.split
        available = self.splits(ref)
        if split not in available:
            raise StorageError(f"dataset {ref.name!r} has no split {split!r}; splits: {', '.join(available)}")
        source = resolve_local(ref)
        try:
            data = self._load(ref, source, split)
        except CookbookError:
            raise
        except Exception as exc:
            raise StorageError(f"cannot read split {split!r} of dataset {ref.name!r}: {brief(exc)}") from exc
        return HFRows(data, shuffle_buffer=self.shuffle_buffer, label=f"{ref.name}:{split}")

    def _load(self, ref: DatasetRef, source: Source | None, split: str) -> Any:
        if source is not None and source.kind == "saved":
            loaded = datasets.load_from_disk(source.location)
            ds = loaded[split] if isinstance(loaded, datasets.DatasetDict) else loaded
            return ds.to_iterable_dataset() if ref.streaming else ds
        builder = self._builder(ref, source)
        if ref.streaming:
            return builder.as_streaming_dataset(split=split)
        builder.download_and_prepare(num_proc=self.num_proc)
        # Parsing the files into Arrow leaves freed buffers in Arrow's allocator (~60 MB
        # at a million short rows); the prepared data is memory-mapped, so hand them back.
        pa.default_memory_pool().release_unused()
        return builder.as_dataset(split=split)

