"""A server's state directory: runs, checkpoints and their annotations outlive the server."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import tinker
from cookbook_adapters.server import running_server
from cookbook_runtime.errors import ConfigError
from cookbook_runtime.testing import FakeServiceClient


def _listing(base_url: str) -> list[tuple[str, bool, str | None, dict[str, str] | None]]:
    rest = tinker.RestClient(base_url=base_url)
    found = rest.list_user_checkpoints(limit=100).result().checkpoints
    return [
        (c.tinker_path, c.public, c.expires_at.isoformat() if c.expires_at else None, c.user_metadata)
        for c in found
    ]


def test_runs_checkpoints_and_annotations_survive_a_restart(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    backend = FakeServiceClient()  # one backend for both servers: it holds the fake weights
    with running_server(backend, models=["fake/model"], state_dir=state_dir) as server:
        service = tinker.ServiceClient(base_url=server.base_url)
        training = service.create_lora_training_client(
            base_model="fake/model", rank=4, train_attn=False, user_metadata={"renderer_name": "r1"}
        ).result()
        kept = training.save_state("kept", user_metadata={"step": "3"}).result().path
        sampler = training.save_weights_for_sampler("sampler", ttl_seconds=7200).result().path
        dropped = training.save_state("dropped").result().path
        rest = tinker.RestClient(base_url=server.base_url)
        rest.publish_checkpoint_from_tinker_path(kept).result()
        rest.delete_checkpoint_from_tinker_path(dropped).result()
        before = _listing(server.base_url)
        run_id = rest.get_training_run_by_tinker_path(kept).result().training_run_id
        service.close("success").result()

    assert [p for p, *_ in before] == [sampler, kept]
    with running_server(backend, models=["fake/model"], state_dir=state_dir) as server:
        assert _listing(server.base_url) == before
        rest = tinker.RestClient(base_url=server.base_url)
        run = rest.get_training_run(run_id).result()
        assert run.user_metadata == {"renderer_name": "r1"}
        assert run.last_checkpoint is not None and run.last_checkpoint.tinker_path == kept
        info = rest.get_weights_info_by_tinker_path(kept).result()
        assert (info.lora_rank, info.train_attn, info.train_mlp) == (4, False, True)
        service = tinker.ServiceClient(base_url=server.base_url)
        resumed = service.create_training_client_from_state(kept).result()
        again = resumed.save_state("again").result().path
        assert again.startswith("tinker://") and again != kept
        with pytest.raises(tinker.NotFoundError, match="unknown checkpoint path"):
            service.create_training_client_from_state(dropped).result()
        service.close("success").result()


def test_a_state_dir_from_another_schema_version_is_refused(tmp_path: Path) -> None:
    with running_server(FakeServiceClient(), state_dir=tmp_path):
        pass
    with sqlite3.connect(tmp_path / "server.db") as db:
        db.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    with (
        pytest.raises(ConfigError, match="schema version 999"),
        running_server(FakeServiceClient(), state_dir=tmp_path),
    ):
        pass


def test_two_servers_cannot_share_a_state_dir(tmp_path: Path) -> None:
    with (
        running_server(FakeServiceClient(), state_dir=tmp_path),
        pytest.raises(ConfigError, match="another server is using state directory"),
        running_server(FakeServiceClient(), state_dir=tmp_path),
    ):
        pass
