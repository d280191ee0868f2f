"""The runtime's recommended renderer for tiny-chat agrees with its tokenizer and template."""

from __future__ import annotations

from cookbook_adapters.local import LocalServiceClient
from cookbook_runtime.train.renderers import get_renderer, recommended_renderer
from cookbook_runtime.train.types import AdamParams, SamplingParams
from local_data import datum


async def test_recommended_renderer_matches_chat_template(service: LocalServiceClient, tiny: str) -> None:
    tok = service.get_tokenizer(tiny)
    renderer = get_renderer(recommended_renderer(tiny), tok)
    messages = [{"role": "user", "content": "What is 2 + 3?"}]
    prompt = renderer.build_generation_prompt(messages)  # type: ignore[arg-type]
    expected = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)  # type: ignore[attr-defined]
    assert tok.decode(prompt.to_ints()) == expected


async def test_trained_reply_stops_and_parses(service: LocalServiceClient, tiny: str) -> None:
    """Train one reply with the renderer's weights, then sample it back through the renderer."""
    tok = service.get_tokenizer(tiny)
    renderer = get_renderer(recommended_renderer(tiny), tok)
    convo = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello there"}]
    model_input, weights = renderer.build_supervised_example(convo)  # type: ignore[arg-type]
    tokens = model_input.to_ints()
    data = [datum(tokens, weights[1:])]
    client = await service.create_lora_training_client(tiny, rank=8, seed=0)
    for _ in range(40):
        await client.forward_backward(data, "cross_entropy")
        await client.optim_step(AdamParams(learning_rate=2e-3))
    sampler = await client.sampling_client("reply")
    prompt = renderer.build_generation_prompt(convo[:1])  # type: ignore[arg-type]
    params = SamplingParams(max_tokens=20, temperature=0.0, stop=renderer.get_stop_sequences())
    seq = (await sampler.sample(prompt, 1, params)).sequences[0]
    assert seq.stop_reason == "stop", f"no stop in {tok.decode(seq.tokens)!r}"
    message, _ = renderer.parse_response(seq.tokens)
    assert message["content"] == "hello there", f"sampled {tok.decode(seq.tokens)!r}"
