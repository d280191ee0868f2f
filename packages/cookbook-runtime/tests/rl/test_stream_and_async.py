"""The stream-minibatch and async off-policy loops on the fakes, and exact async resume."""

from __future__ import annotations

from pathlib import Path

import pytest
from cookbook_runtime.testing import FakeServiceClient
from cookbook_runtime.train.rl import RLConfig, train_off_policy, train_stream, train_sync

from .conftest import make_run, rows


def _calls(service: FakeServiceClient) -> list[str]:
    return [n for n, _ in service.training_clients[0].log if n in ("forward_backward", "optim_step")]


async def test_stream_queues_one_forward_backward_per_minibatch(tmp_path: Path) -> None:
    service = FakeServiceClient()
    config = RLConfig(max_tokens=8, num_minibatches=2, num_substeps=1)
    await train_stream(make_run(tmp_path, service=service, config=config, batches=2))
    assert _calls(service) == ["forward_backward", "forward_backward", "optim_step"] * 2
    assert [r["step"] for r in rows(tmp_path)] == [0, 1, 2]


async def test_stream_with_one_minibatch_trains_like_sync(tmp_path: Path) -> None:
    await train_sync(make_run(tmp_path / "sync"))
    await train_stream(make_run(tmp_path / "stream"))
    drop = ("data/num_datums",)
    strip = lambda rs: [{k: v for k, v in r.items() if k not in drop} for r in rs]  # noqa: E731
    assert strip(rows(tmp_path / "stream")) == strip(rows(tmp_path / "sync"))


async def test_async_samples_ahead_on_older_weights(tmp_path: Path) -> None:
    config = RLConfig(max_tokens=8, max_steps_off_policy=2)
    await train_off_policy(make_run(tmp_path, config=config))
    logged = rows(tmp_path)
    assert [r["sampling_client/steps_behind"] for r in logged[:6]] == [0, 1, 2, 2, 2, 2]
    assert all(r["async/stale_requeued"] == 0 for r in logged[:6])


async def test_async_with_zero_lag_equals_sync(tmp_path: Path) -> None:
    await train_sync(make_run(tmp_path / "sync"))
    await train_off_policy(make_run(tmp_path / "async", config=RLConfig(max_tokens=8, max_steps_off_policy=0)))
    drop = ("async/stale_requeued", "async/stale_dropped", "sampling_client/steps_behind")
    strip = lambda rs: [{k: v for k, v in r.items() if k not in drop} for r in rs]  # noqa: E731
    assert strip(rows(tmp_path / "async")) == strip(rows(tmp_path / "sync"))


@pytest.mark.parametrize(("policy", "key"), [("requeue", "async/stale_requeued"), ("drop", "async/stale_dropped")])
async def test_stale_groups_are_requeued_or_dropped_and_counted(tmp_path: Path, policy: str, key: str) -> None:
    service = FakeServiceClient()
    config = RLConfig(max_tokens=8, max_steps_off_policy=1, sample_ahead=2, stale_policy=policy)  # type: ignore[arg-type]
    await train_off_policy(make_run(tmp_path, service=service, config=config, batches=4))
    logged = rows(tmp_path)[:4]
    assert [r[key] for r in logged] == [0, 0, 2, 2]  # batches 2 and 3 come from 2 steps back
    trained = _calls(service).count("optim_step")
    assert trained == (4 if policy == "requeue" else 2)


@pytest.mark.parametrize("crash_at", [3, 4])
async def test_async_resume_after_a_crash_equals_an_uninterrupted_run(tmp_path: Path, crash_at: int) -> None:
    config = RLConfig(max_tokens=8, max_steps_off_policy=2)
    await train_off_policy(make_run(tmp_path / "whole", config=config))
    broken = tmp_path / "broken"
    with pytest.raises(KeyboardInterrupt):
        await train_off_policy(make_run(broken, config=config, crash_at=crash_at))
    resumed = await train_off_policy(make_run(broken, config=config))
    assert resumed.start_step in (2, 4)
    assert rows(broken) == rows(tmp_path / "whole")


async def test_async_samples_after_a_checkpoint_from_its_sampler_weights(tmp_path: Path) -> None:
    service = FakeServiceClient(root=str(tmp_path / "fake-states"))
    await train_off_policy(make_run(tmp_path, service=service, config=RLConfig(max_tokens=8, max_steps_off_policy=1)))
    saves = [str(a) for n, a in service.training_clients[0].log if n == "save_weights_for_sampler"]
    # save_every=2 over 6 steps: the checkpoints after steps 2 and 4 are the sampler weights of versions 2 and 4.
    assert saves[:6] == ["rl-000000", "rl-000001", "000002", "rl-000003", "000004", "rl-000005"], saves
    assert saves.count("final") == 1, saves


async def test_stream_resume_after_a_crash_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    config = RLConfig(max_tokens=8, num_minibatches=2)
    await train_stream(make_run(tmp_path / "whole", config=config))
    broken = tmp_path / "broken"
    with pytest.raises(KeyboardInterrupt):
        await train_stream(make_run(broken, config=config, crash_at=3))
    resumed = await train_stream(make_run(broken, config=config))
    assert resumed.start_step == 2
    assert rows(broken) == rows(tmp_path / "whole")

