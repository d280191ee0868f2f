"""Make a served model's name resolve to its tokenizer offline, through the HF cache.

SDK code outside the training client loads tokenizers by model name alone:
`SamplingClient.get_tokenizer()` and tinker-cookbook's `get_tokenizer(name)` both call
`AutoTokenizer.from_pretrained(name)`. For a name that exists only on this server
(`cookbook/tiny-chat`, `fake/model`), the server writes the tokenizer files into the
local Hugging Face cache as a snapshot of that repo id, which the hub client reads
when offline or when the hub is unreachable. A repo already in the cache that the
server did not write is never touched.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
from pathlib import Path

from cookbook_runtime.atomic import atomic_write

__all__ = ["publish_tokenizer"]

logger = logging.getLogger(__name__)

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?$")
_MARKER = ".cookbook-server"
_TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
    "vocab.json",
    "merges.txt",
    "added_tokens.json",
    "generation_config.json",
    "config.json",
    "chat_template.json",
    "processor_config.json",
    "preprocessor_config.json",
    "tokenizer.model",
    "vocab.txt",
)


def _cache_root() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def publish_tokenizer(repo_id: str, tokenizer_dir: str | Path) -> bool:
    """Expose `tokenizer_dir` as the cached `main` snapshot of `repo_id`; False when left alone."""
    source = Path(tokenizer_dir)
    if not _REPO_ID.match(repo_id) or Path(repo_id).expanduser().exists() or not source.is_dir():
        return False
    repo = _cache_root() / ("models--" + repo_id.replace("/", "--"))
    if repo.exists() and not (repo / _MARKER).exists():
        return False
    files = [source / name for name in _TOKENIZER_FILES if (source / name).is_file()]
    digest = hashlib.sha1()
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    commit = digest.hexdigest()
    snapshot = repo / "snapshots" / commit
    if not (repo / "refs" / "main").is_file() or (repo / "refs" / "main").read_text() != commit:
        snapshot.mkdir(parents=True, exist_ok=True)
        for path in files:
            shutil.copyfile(path, snapshot / path.name)
        if not (snapshot / "config.json").is_file():
            # AutoTokenizer reads a repo's config first; an empty one sends it to tokenizer_config.
            atomic_write(snapshot / "config.json", "{}\n")
        # Files the directory lacks are recorded as absent, so loaders skip them offline.
        absent = repo / ".no_exist" / commit
        absent.mkdir(parents=True, exist_ok=True)
        for name in _TOKENIZER_FILES:
            if not (snapshot / name).is_file():
                (absent / name).touch()
        (repo / "refs").mkdir(exist_ok=True)
        atomic_write(repo / _MARKER, "written by the cookbook Tinker-compatible server\n")
        atomic_write(repo / "refs" / "main", commit)
        logger.info("published the tokenizer of %s to the HF cache", repo_id)
    return True
