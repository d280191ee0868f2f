"""HTTP-level behaviour: clear 4xx errors, bounded waits, loopback by default."""

from __future__ import annotations

import time

import httpx
from cookbook_adapters.server import RunningServer, running_server
from cookbook_runtime.testing import FakeServiceClient


def test_binds_to_loopback_by_default(fake_server: RunningServer) -> None:
    assert fake_server.base_url.startswith("http://127.0.0.1:")


def test_unknown_model_is_404_with_a_message(fake_server: RunningServer) -> None:
    r = httpx.post(
        f"{fake_server.base_url}/api/v1/get_info", json={"model_id": "nope:train:0"}, timeout=10
    )
    assert r.status_code == 404
    assert "nope:train:0" in r.json()["detail"]


def test_unknown_request_id_is_404(fake_server: RunningServer) -> None:
    r = httpx.post(
        f"{fake_server.base_url}/api/v1/retrieve_future",
        json={"request_id": "req-missing"},
        timeout=10,
    )
    assert r.status_code == 404
    assert "req-missing" in r.json()["detail"]


def test_malformed_bodies_are_400(fake_server: RunningServer) -> None:
    bad_proto = httpx.post(
        f"{fake_server.base_url}/api/v1/forward_backward",
        content=b"\xff\xff not a protobuf",
        headers={"content-type": "application/x-protobuf"},
        timeout=10,
    )
    assert bad_proto.status_code == 400 and "ForwardBackwardRequest" in bad_proto.json()["detail"]
    bad_json = httpx.post(
        f"{fake_server.base_url}/api/v1/create_model", json={"base_model": 3}, timeout=10
    )
    assert bad_json.status_code == 400 and "CreateModelRequest" in bad_json.json()["detail"]


def test_unknown_session_is_rejected(fake_server: RunningServer) -> None:
    body = {"session_id": "session-nope", "model_seq_id": 0, "base_model": "fake/model"}
    r = httpx.post(f"{fake_server.base_url}/api/v1/create_model", json=body, timeout=10)
    assert r.status_code == 404 and "session-nope" in r.json()["detail"]


def test_health_and_capabilities(fake_server: RunningServer) -> None:
    assert httpx.get(f"{fake_server.base_url}/api/v1/healthz", timeout=10).json() == {
        "status": "ok"
    }
    caps = httpx.get(f"{fake_server.base_url}/api/v1/get_server_capabilities", timeout=10).json()
    assert [m["model_name"] for m in caps["supported_models"]] == ["fake/model"]


def test_invalid_adam_params_are_a_one_line_400(fake_server: RunningServer) -> None:
    base = fake_server.base_url
    session = httpx.post(
        f"{base}/api/v1/create_session",
        json={"tags": [], "user_metadata": None, "sdk_version": "test"},
        timeout=10,
    ).json()["session_id"]
    created = httpx.post(
        f"{base}/api/v1/create_model",
        json={
            "session_id": session,
            "model_seq_id": 0,
            "base_model": "fake/model",
            "lora_config": {"rank": 2},
        },
        timeout=10,
    ).json()
    done = httpx.post(
        f"{base}/api/v1/retrieve_future", json={"request_id": created["request_id"]}, timeout=30
    ).json()
    body = {"model_id": done["model_id"], "adam_params": {"learning_rate": 1e-3, "beta1": 1.5}}
    r = httpx.post(f"{base}/api/v1/optim_step", json=body, timeout=10)
    assert r.status_code == 400
    assert r.json()["detail"].startswith("adam_params.beta1:") and "\n" not in r.json()["detail"]


def test_sessions_without_heartbeats_are_finished() -> None:
    with running_server(FakeServiceClient(), session_timeout_s=0.3) as server:
        base = server.base_url
        session = httpx.post(
            f"{base}/api/v1/create_session",
            json={"tags": [], "user_metadata": None, "sdk_version": "test"},
            timeout=10,
        ).json()["session_id"]
        created = httpx.post(
            f"{base}/api/v1/create_model",
            json={"session_id": session, "model_seq_id": 0, "base_model": "fake/model"},
            timeout=10,
        ).json()
        httpx.post(
            f"{base}/api/v1/retrieve_future", json={"request_id": created["request_id"]}, timeout=30
        )
        deadline = time.monotonic() + 10
        while session in server.state.sessions and time.monotonic() < deadline:
            time.sleep(0.05)
        r = httpx.post(
            f"{base}/api/v1/get_info", json={"model_id": created["model_id"]}, timeout=10
        )
        assert r.status_code == 404, "the silent session's model is still served"
        beat = httpx.post(
            f"{base}/api/v1/session_heartbeat", json={"session_id": session}, timeout=10
        )
        assert beat.status_code == 404
