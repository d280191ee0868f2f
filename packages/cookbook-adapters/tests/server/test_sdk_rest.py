"""The SDK's REST client (as tinker-cookbook's checkpoint utilities use it) works against the server."""

from __future__ import annotations

import pytest
import tinker
from cookbook_adapters.server import RunningServer


def test_training_runs_and_checkpoints(fake_server: RunningServer) -> None:
    service = tinker.ServiceClient(base_url=fake_server.base_url)
    training = service.create_lora_training_client(base_model="fake/model", rank=3).result()
    state_path = training.save_state("rest-state").result().path
    sampler_path = training.save_weights_for_sampler("rest-sampler").result().path

    rest = tinker.RestClient(base_url=fake_server.base_url)
    run = rest.get_training_run_by_tinker_path(state_path).result()
    assert (run.base_model, run.lora_rank, run.is_lora) == ("fake/model", 3, True)
    assert run.last_checkpoint is not None and run.last_checkpoint.tinker_path == state_path
    assert (
        run.last_sampler_checkpoint is not None
        and run.last_sampler_checkpoint.tinker_path == sampler_path
    )
    listed = rest.list_checkpoints(run.training_run_id).result()
    assert {c.tinker_path for c in listed.checkpoints} == {state_path, sampler_path}

    rest.delete_checkpoint_from_tinker_path(state_path).result()
    assert [
        c.tinker_path for c in rest.list_checkpoints(run.training_run_id).result().checkpoints
    ] == [sampler_path]
    with pytest.raises(Exception, match="unknown checkpoint path"):
        service.create_training_client_from_state(state_path).result()
    service.close("success").result()


def test_checkpoint_names_with_a_slash_are_refused(fake_server: RunningServer) -> None:
    service = tinker.ServiceClient(base_url=fake_server.base_url)
    training = service.create_lora_training_client(base_model="fake/model", rank=2).result()
    with pytest.raises(Exception, match="contain no '/'"):
        training.save_state("a/b").result()
    service.close("success").result()
