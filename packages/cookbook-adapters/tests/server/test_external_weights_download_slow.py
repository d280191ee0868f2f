"""Unmodified downloaders fetch checkpoints from the server through external weights.

tinker-cookbook 0.5.8's `weights.download` takes an `external_weights/` path as
is, and a training (`weights/`) path by loading it into a new run, exporting it
age-encrypted to a fresh key, downloading, decrypting and deleting the export.
The `tinker checkpoint download` CLI does the same without encryption. Each
download must hold the adapter the server exports for those weights.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("tinker_cookbook")

import tinker
from cookbook_adapters.local import TINY_CHAT, LocalServiceClient
from cookbook_adapters.server import RunningServer, running_server
from tinker import types

pytestmark = [
    pytest.mark.slow,
    # tinker-cookbook's download (not ours) uses the SDK's sync
    # `create_training_client_from_state` result directly as a client, which this SDK deprecates.
    pytest.mark.filterwarnings(
        "ignore:Using the future as the TrainingClient:FutureWarning:tinker_cookbook\\."
    ),
]

_TOKENS = [5, 17, 42, 9, 101, 3, 77, 12, 60, 8, 33]
_ADAPTER = "adapter_model.safetensors"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    backend = LocalServiceClient(device="cpu", root=tmp_path_factory.mktemp("download-files"))
    with running_server(backend, models=[TINY_CHAT]) as running:
        yield running
    asyncio.run(backend.close())


@pytest.fixture(scope="module")
def saved(server: RunningServer) -> Iterator[tuple[str, str]]:
    """A trained run's state path and an external export of the same weights."""
    service = tinker.ServiceClient(base_url=server.base_url)
    training = service.create_lora_training_client(base_model=TINY_CHAT, rank=4, seed=5).result()
    datum = types.Datum(
        model_input=types.ModelInput.from_ints(_TOKENS[:-1]),
        loss_fn_inputs={"target_tokens": _TOKENS[1:], "weights": [1.0] * (len(_TOKENS) - 1)},
    )
    for _ in range(2):
        training.forward_backward([datum], "cross_entropy").result()
        training.optim_step(types.AdamParams(learning_rate=5e-2)).result()
    state = training.save_state("trained").result().path
    external = training.save_weights_external("trained").result().path
    yield state, external
    service.close("success").result()


def _reference(server: RunningServer, external: str) -> bytes:
    """The adapter file of `external`, fetched from its signed URL."""
    urls = tinker.RestClient(base_url=server.base_url).get_external_weights_urls(external).result()
    with urllib.request.urlopen(urls.urls[_ADAPTER], timeout=60) as response:
        return response.read()


def test_cookbook_downloads_an_external_weights_path(
    server: RunningServer, saved: tuple[str, str], tmp_path: Path
) -> None:
    from tinker_cookbook import weights

    _, external = saved
    out = weights.download(
        tinker_path=external, output_dir=str(tmp_path / "ext"), base_url=server.base_url
    )
    got = Path(out)
    assert {_ADAPTER, "adapter_config.json"} <= {p.name for p in got.iterdir()}
    assert (got / _ADAPTER).read_bytes() == _reference(server, external)


def test_cookbook_downloads_a_training_path_through_an_encrypted_export(
    server: RunningServer, saved: tuple[str, str], tmp_path: Path
) -> None:
    from tinker_cookbook import weights

    state, external = saved
    before = set(_all_external(server))
    out = Path(
        weights.download(
            tinker_path=state, output_dir=str(tmp_path / "state"), base_url=server.base_url
        )
    )
    names = {p.name for p in out.iterdir()}
    assert {_ADAPTER, "adapter_config.json"} <= names and not any(
        n.endswith(".age") for n in names
    ), names
    assert (out / _ADAPTER).read_bytes() == _reference(server, external)
    assert set(_all_external(server)) == before, "the temporary export was not deleted"


def test_tinker_cli_downloads_a_training_path(
    server: RunningServer, saved: tuple[str, str], tmp_path: Path
) -> None:
    state, external = saved
    before = set(_all_external(server))
    env = {**os.environ, "TINKER_BASE_URL": server.base_url}
    script = "import sys; from tinker.cli.__main__ import cli; sys.exit(cli())"
    done = subprocess.run(
        [sys.executable, "-c", script, "checkpoint", "download", state, "--output", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    target = tmp_path / state.removeprefix("tinker://").replace("/", "_")
    assert (target / _ADAPTER).read_bytes() == _reference(server, external)
    assert set(_all_external(server)) == before, "the temporary export was not deleted"


def _all_external(server: RunningServer) -> list[str]:
    rest = tinker.RestClient(base_url=server.base_url)
    found = rest.list_user_checkpoints(limit=1000).result().checkpoints
    return [c.tinker_path for c in found if c.checkpoint_type == "external"]
