"""`serve(model=DIR, model_name=NAME)`: a real HF model directory served under a known model name.

The directory holds a tiny random Llama (config + safetensors) and Llama 3.1's real
tokenizer, rebuilt from the ranks the `llama-models` package ships. Served as
`meta-llama/Llama-3.1-8B-Instruct`, it is what `get_server_capabilities` lists, what
tinker-cookbook's `model_info` picks a renderer for, and the SDK trains and samples it
with the directory's own tokenizer.
"""

from __future__ import annotations

import importlib.resources
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import tinker
from tinker import types

pytest.importorskip("torch")
pytest.importorskip("llama_models")
tiktoken = pytest.importorskip("tiktoken")

pytestmark = pytest.mark.slow

NAME = "meta-llama/Llama-3.1-8B-Instruct"
_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_SPECIALS = [
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|reserved_special_token_0|>",
    "<|reserved_special_token_1|>",
    "<|finetune_right_pad_id|>",
    "<|step_id|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eom_id|>",
    "<|eot_id|>",
    "<|python_tag|>",
]
_SPECIALS += [f"<|reserved_special_token_{i}|>" for i in range(2, 256 - len(_SPECIALS) + 2)]
_SCRIPT = """
import sys
from pathlib import Path
from cookbook_adapters.server import serve
serve("127.0.0.1", int(sys.argv[1]), sys.argv[2], model_name=sys.argv[3], state_dir=Path(sys.argv[4]))
"""


def _ranks_file() -> str:
    return str(importlib.resources.files("llama_models") / "llama3" / "tokenizer.model")


def _reference() -> object:
    """Llama 3.1's tokenizer as tiktoken runs it: the oracle for the rebuilt one."""
    from tiktoken.load import load_tiktoken_bpe

    ranks = load_tiktoken_bpe(_ranks_file())
    specials = {s: len(ranks) + i for i, s in enumerate(_SPECIALS)}
    return tiktoken.Encoding("llama3", pat_str=_PATTERN, mergeable_ranks=ranks, special_tokens=specials)


def _write_model_dir(directory: Path) -> None:
    import torch
    from tokenizers import AddedToken
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter

    backend = TikTokenConverter(vocab_file=_ranks_file(), pattern=_PATTERN).converted()
    backend.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in _SPECIALS])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<|begin_of_text|>", eos_token="<|eot_id|>"
    )
    tokenizer.save_pretrained(str(directory))
    config = LlamaConfig(
        vocab_size=128256,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        bos_token_id=128000,
        eos_token_id=128009,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(str(directory), safe_serialization=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    from huggingface_hub import constants

    model_dir = tmp_path / "llama-tiny"
    _write_model_dir(model_dir)
    port = _free_port()
    env = {**os.environ, "HF_HUB_CACHE": constants.HF_HUB_CACHE, "HF_HUB_OFFLINE": "1"}
    log = (tmp_path / "serve.log").open("w")
    args = [str(port), str(model_dir), NAME, str(tmp_path / "state")]
    with subprocess.Popen(
        [sys.executable, "-c", _SCRIPT, *args], stdout=log, stderr=log, env=env
    ) as proc:
        try:
            deadline = time.monotonic() + 180
            while True:
                assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
                try:
                    httpx.get(f"http://127.0.0.1:{port}/api/v1/healthz", timeout=2)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "serve did not start within 180 s"
                    time.sleep(0.2)
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.kill()
            proc.wait()
            log.close()


def test_a_model_directory_is_served_under_the_given_name(served: str) -> None:
    t0 = time.monotonic()
    capabilities = tinker.RestClient(base_url=served).get_server_capabilities().result()
    assert [m.model_name for m in capabilities.supported_models] == [NAME]
    service = tinker.ServiceClient(base_url=served)

    training = service.create_lora_training_client(base_model=NAME, rank=4, seed=0).result()
    assert training.get_info().model_data.model_name == NAME
    tokenizer = training.get_tokenizer()
    text = "Hello, world! Ça va? 12345 héllo   tabs\tand\nnewlines 日本語"
    reference = _reference()
    assert tokenizer.encode(text, add_special_tokens=False) == reference.encode_ordinary(text)  # type: ignore[attr-defined]
    assert tokenizer.convert_tokens_to_ids("<|eot_id|>") == 128009

    model_info = pytest.importorskip("tinker_cookbook.model_info")
    renderers = pytest.importorskip("tinker_cookbook.renderers")
    renderer_name = model_info.get_recommended_renderer_name(NAME)
    assert renderer_name == "llama3"
    renderer = renderers.get_renderer(renderer_name, tokenizer)
    conversation = [
        {"role": "user", "content": "Name a colour."},
        {"role": "assistant", "content": "Blue."},
    ]
    model_input, weights = renderer.build_supervised_example(conversation)
    tokens = model_input.to_ints()
    assert tokens[0] == 128000 and 128006 in tokens, "the llama3 renderer did not use the header tokens"
    datum = types.Datum(
        model_input=types.ModelInput.from_ints(tokens[:-1]),
        loss_fn_inputs={"target_tokens": tokens[1:], "weights": weights.tolist()[1:]},
    )
    losses = []
    for _ in range(3):
        out = training.forward_backward([datum], "cross_entropy").result()
        training.optim_step(types.AdamParams(learning_rate=1e-2)).result()
        losses.append(float(out.metrics["loss:sum"]))
    assert losses[-1] < losses[0], f"loss did not fall on the served directory: {losses}"

    sampler = training.save_weights_and_get_sampling_client().result()
    prompt = renderer.build_generation_prompt(conversation[:1])
    sampled = sampler.sample(prompt, 1, types.SamplingParams(max_tokens=4, temperature=0.0)).result()
    assert 1 <= len(sampled.sequences[0].tokens) <= 4
    assert all(0 <= t < 128256 for t in sampled.sequences[0].tokens)
    service.close("success").result()
    print(f"served HF directory: {time.monotonic() - t0:.1f} s after start, losses {losses}")
