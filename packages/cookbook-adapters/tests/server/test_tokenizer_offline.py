"""The SDK's name-only tokenizer loading works offline for models only this server has."""

from __future__ import annotations

from pathlib import Path

import pytest
import tinker
from cookbook_adapters.server import RunningServer
from cookbook_adapters.server._hf_cache import publish_tokenizer
from huggingface_hub import constants


def test_sampling_client_tokenizer_resolves_offline(fake_server: RunningServer) -> None:
    service = tinker.ServiceClient(base_url=fake_server.base_url)
    sampler = service.create_sampling_client(base_model="fake/model").result()
    tokenizer = sampler.get_tokenizer()
    assert tokenizer.encode("hi", add_special_tokens=False) == [ord("h"), ord("i")]
    assert tokenizer.convert_tokens_to_ids("<|im_end|>") == 258
    service.close("success").result()


def test_never_overwrites_a_cached_repo_it_did_not_write(tmp_path: Path) -> None:
    foreign = Path(constants.HF_HUB_CACHE) / "models--someone--real-model"
    (foreign / "refs").mkdir(parents=True)
    (foreign / "refs" / "main").write_text("0" * 40)
    source = tmp_path / "tok"
    source.mkdir()
    (source / "tokenizer.json").write_text("{}")
    assert not publish_tokenizer("someone/real-model", source)
    assert (foreign / "refs" / "main").read_text() == "0" * 40
    assert publish_tokenizer("someone/new-model", source)
    assert not publish_tokenizer(str(source), source), "a local directory needs no cache entry"


def test_tinker_cookbook_get_tokenizer_resolves_offline(fake_server: RunningServer) -> None:
    """tinker-cookbook (where installed) loads a served model's tokenizer by name alone."""
    tokenizer_utils = pytest.importorskip("tinker_cookbook.tokenizer_utils")
    tokenizer = tokenizer_utils.get_tokenizer("fake/model")  # published when the server started
    assert tokenizer.encode("ok", add_special_tokens=False) == [ord("o"), ord("k")]
