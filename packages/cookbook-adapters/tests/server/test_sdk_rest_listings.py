"""The SDK's REST listings, weights info, publishing, TTLs and user metadata, through the unmodified SDK."""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
import tinker
from cookbook_adapters.server import RunningServer


def test_listings_weights_info_publish_ttl_and_metadata(fake_server: RunningServer) -> None:
    service = tinker.ServiceClient(base_url=fake_server.base_url)
    training = service.create_lora_training_client(
        base_model="fake/model",
        rank=4,
        train_unembed=False,
        user_metadata={"renderer_name": "role_colon", "recipe": "listing-test"},
    ).result()
    first = training.save_state("listing-a", user_metadata={"step": "1"}).result().path
    second = training.save_weights_for_sampler("listing-b", ttl_seconds=7200).result().path
    rest = tinker.RestClient(base_url=fake_server.base_url)

    run = rest.get_training_run_by_tinker_path(first).result()
    assert run.user_metadata == {"renderer_name": "role_colon", "recipe": "listing-test"}

    info = rest.get_weights_info_by_tinker_path(first).result()
    assert (info.base_model, info.is_lora, info.lora_rank) == ("fake/model", True, 4)
    assert (info.train_mlp, info.train_attn, info.train_unembed) == (True, True, False)

    runs = rest.list_training_runs(limit=500).result()
    assert run.training_run_id in {r.training_run_id for r in runs.training_runs}
    assert runs.cursor.total_count == len(runs.training_runs)
    one = rest.list_training_runs(limit=1, offset=0).result()
    assert len(one.training_runs) == 1 and one.cursor.limit == 1
    assert one.cursor.total_count == runs.cursor.total_count

    mine = rest.list_user_checkpoints(limit=1000).result()
    by_path = {c.tinker_path: c for c in mine.checkpoints}
    assert mine.cursor is not None and mine.cursor.total_count == len(mine.checkpoints)
    assert [c.tinker_path for c in mine.checkpoints][:2] == [second, first]  # newest first
    assert by_path[first].user_metadata == {"step": "1"}
    assert by_path[first].expires_at is None and not by_path[first].public
    expires = by_path[second].expires_at
    assert expires is not None
    assert abs(expires - (datetime.now(UTC) + timedelta(seconds=7200))) < timedelta(minutes=5)
    page = rest.list_user_checkpoints(limit=1, offset=1).result()
    assert [c.tinker_path for c in page.checkpoints] == [first]

    rest.publish_checkpoint_from_tinker_path(first).result()
    listed = rest.list_checkpoints(run.training_run_id).result().checkpoints
    assert {c.tinker_path: c.public for c in listed} == {first: True, second: False}
    with pytest.raises(tinker.BadRequestError, match="already public"):
        rest.publish_checkpoint_from_tinker_path(first).result()
    rest.unpublish_checkpoint_from_tinker_path(first).result()
    assert not rest.list_checkpoints(run.training_run_id).result().checkpoints[0].public

    rest.set_checkpoint_ttl_from_tinker_path(first, 86400).result()
    rest.set_checkpoint_ttl_from_tinker_path(second, None).result()
    listed = {
        c.tinker_path: c for c in rest.list_checkpoints(run.training_run_id).result().checkpoints
    }
    assert listed[first].expires_at is not None and listed[second].expires_at is None
    with pytest.raises(tinker.BadRequestError, match="ttl_seconds 5 is out of range"):
        rest.set_checkpoint_ttl_from_tinker_path(first, 5).result()
    with pytest.raises(tinker.NotFoundError, match="unknown checkpoint"):
        rest.publish_checkpoint_from_tinker_path(
            f"tinker://{run.training_run_id}/weights/missing"
        ).result()
    service.close("success").result()


def test_resumed_run_keeps_the_metadata_it_was_given(fake_server: RunningServer) -> None:
    service = tinker.ServiceClient(base_url=fake_server.base_url)
    training = service.create_lora_training_client(base_model="fake/model", rank=2).result()
    path = training.save_state("resume-me").result().path
    rest = tinker.RestClient(base_url=fake_server.base_url)
    assert rest.get_training_run_by_tinker_path(path).result().user_metadata is None

    resumed = service.create_training_client_from_state(
        path, user_metadata={"renderer_name": "llama3"}
    ).result()
    again = resumed.save_state("resumed").result().path
    run = rest.get_training_run_by_tinker_path(again).result()
    assert run.user_metadata == {"renderer_name": "llama3"}
    assert (
        run.training_run_id != rest.get_training_run_by_tinker_path(path).result().training_run_id
    )
    service.close("success").result()


def test_unknown_routes_are_logged_and_answered_404(
    fake_server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="cookbook_adapters.server._app")
    for method, path in [("GET", "/api/v1/no_such_thing"), ("DELETE", "/api/v1/healthz")]:
        request = urllib.request.Request(fake_server.base_url + path, method=method)
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=10)
        assert caught.value.code == 404
        caught.value.close()
        assert f"no route for {method} {path}" in caplog.text
