"""The OpenAI-compatible endpoint, driven by the real `openai` client on 127.0.0.1.

Answers are checked against the local engine sampled directly with the same
renderer (greedy, so both must agree token for token); events and signals are read
back from a real SQLite feedback store.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from cookbook_adapters.deploy import (
    DeploymentPlan,
    RunningEndpoint,
    VersionSource,
    running_endpoint,
)
from cookbook_adapters.local import TINY_CHAT, LocalServiceClient
from cookbook_adapters.sqlite import SQLiteFeedbackStore
from cookbook_runtime.train.renderers import get_renderer
from cookbook_runtime.train.types import ModelInput, SamplingParams
from deploy_checkpoints import Checkpoints

MESSAGES = [{"role": "user", "content": "reverse a b c"}]


def _source(checkpoints: Checkpoints, version: str) -> VersionSource:
    path = checkpoints.v1 if version == "1" else checkpoints.v2
    return VersionSource(version=version, sampler_path=path, base_model=TINY_CHAT)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SQLiteFeedbackStore]:
    s = SQLiteFeedbackStore(tmp_path_factory.mktemp("feedback") / "feedback.db")
    yield s
    asyncio.run(s.close())


@pytest.fixture(scope="module")
def service(checkpoints: Checkpoints, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServiceClient]:
    svc = LocalServiceClient(device="cpu", cache_dir=checkpoints.cache, root=tmp_path_factory.mktemp("serve"))
    yield svc
    asyncio.run(svc.close())


@pytest.fixture(scope="module")
def endpoint(checkpoints: Checkpoints, service: LocalServiceClient, store: SQLiteFeedbackStore) -> Iterator[RunningEndpoint]:
    plan = DeploymentPlan(model="tiny", primary=_source(checkpoints, "2"))
    started = time.perf_counter()
    with running_endpoint(plan, service, feedback=store) as ep:
        print(f"endpoint up in {time.perf_counter() - started:.2f} s")
        yield ep


@pytest.fixture
def client(endpoint: RunningEndpoint) -> Iterator[openai.OpenAI]:
    c = openai.OpenAI(base_url=endpoint.api_url, api_key="unused", max_retries=0)
    yield c
    c.close()


def _direct(checkpoints: Checkpoints, *, chat: bool, prompt: str, max_tokens: int) -> str:
    """The same weights sampled greedily without the endpoint: the oracle."""

    async def go() -> str:
        svc = LocalServiceClient(device="cpu", cache_dir=checkpoints.cache)
        try:
            sampler = await svc.create_sampling_client(model_path=checkpoints.v2)
            tok = sampler.tokenizer()
            if chat:
                renderer = get_renderer("qwen3_instruct", tok)
                model_input = renderer.build_generation_prompt([{"role": "user", "content": prompt}])
                params = SamplingParams(max_tokens=max_tokens, temperature=0.0, stop=renderer.get_stop_sequences())
                seq = (await sampler.sample(model_input, 1, params)).sequences[0]
                message, _ = renderer.parse_response(seq.tokens)
                return str(message["content"])
            ids = tok.encode(prompt, add_special_tokens=False)
            seq = (await sampler.sample(ModelInput.from_ints(ids), 1, SamplingParams(max_tokens=max_tokens, temperature=0.0))).sequences[0]
            tokens = seq.tokens[:-1] if seq.tokens and seq.tokens[-1] == tok.eos_token_id else seq.tokens
            return tok.decode(tokens, skip_special_tokens=False)
        finally:
            await svc.close()

    return asyncio.run(go())


def test_models_lists_the_name_and_each_version(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert ids == ["tiny", "tiny:2"]


def test_health_reports_the_plan(endpoint: RunningEndpoint) -> None:
    import json
    import urllib.request

    with urllib.request.urlopen(f"{endpoint.base_url}/health") as r:
        body = json.loads(r.read())
    assert body["status"] == "ok" and body["versions"] == ["2"] and body["strategy"] == "replace"


def test_chat_matches_the_engine_sampled_with_the_renderer(client: openai.OpenAI, checkpoints: Checkpoints) -> None:
    started = time.perf_counter()
    reply = client.chat.completions.create(model="tiny", messages=MESSAGES, max_tokens=12, temperature=0, n=2)
    print(f"chat completion: {time.perf_counter() - started:.2f} s")
    expected = _direct(checkpoints, chat=True, prompt="reverse a b c", max_tokens=12)
    assert [c.message.content for c in reply.choices] == [expected, expected]
    assert reply.model == "tiny:2" and reply.system_fingerprint == "2"
    assert reply.object == "chat.completion" and reply.choices[0].message.role == "assistant"
    assert reply.usage is not None and reply.usage.completion_tokens > 0 and reply.usage.prompt_tokens > 0


def test_chat_stream_chunks_join_to_the_whole_answer(client: openai.OpenAI) -> None:
    whole = client.chat.completions.create(model="tiny", messages=MESSAGES, max_tokens=12, temperature=0)
    stream = client.chat.completions.create(
        model="tiny", messages=MESSAGES, max_tokens=12, temperature=0, stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" and c.model == "tiny:2" for c in chunks)
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert deltas[0].role == "assistant"
    assert "".join(d.content or "" for d in deltas) == whole.choices[0].message.content
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == [whole.choices[0].finish_reason]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None


def test_completion_continues_raw_text(client: openai.OpenAI, checkpoints: Checkpoints) -> None:
    reply = client.completions.create(model="tiny", prompt="sort d a c", max_tokens=8, temperature=0)
    assert reply.choices[0].text == _direct(checkpoints, chat=False, prompt="sort d a c", max_tokens=8)
    streamed = client.completions.create(model="tiny", prompt="sort d a c", max_tokens=8, temperature=0, stream=True)
    assert "".join(c.choices[0].text for c in streamed) == reply.choices[0].text


def test_stop_string_cuts_the_answer_before_it(client: openai.OpenAI) -> None:
    free = client.completions.create(model="tiny", prompt="sort d a c", max_tokens=12, temperature=0).choices[0]
    text = free.text
    assert len(text) >= 3, f"greedy answer too short to pick a stop string from: {text!r}"
    stop = text[2]
    stopped = client.completions.create(model="tiny", prompt="sort d a c", max_tokens=12, temperature=0, stop=[stop])
    choice = stopped.choices[0]
    assert (choice.text, choice.finish_reason) == (text[: text.index(stop)], "stop"), f"stop={stop!r} on {text!r}"


def test_seed_makes_sampling_repeatable(client: openai.OpenAI) -> None:
    def ask(seed: int) -> list[str]:
        reply = client.chat.completions.create(model="tiny", messages=MESSAGES, max_tokens=10, temperature=1.0,
                                               seed=seed, n=3)
        return [c.message.content or "" for c in reply.choices]

    assert ask(11) == ask(11)
    assert ask(11) != ask(12)


def test_each_choice_is_logged_as_an_inference_event(client: openai.OpenAI, store: SQLiteFeedbackStore) -> None:
    reply = client.chat.completions.create(model="tiny", messages=MESSAGES, max_tokens=6, temperature=0, n=2)
    first = asyncio.run(store.get_event(reply.id))
    second = asyncio.run(store.get_event(f"{reply.id}-1"))
    assert first is not None and second is not None, f"events for {reply.id} not in the store"
    assert (first.model, first.version, first.messages) == ("tiny", "2", MESSAGES)
    assert first.completion == reply.choices[0].message.content and first.latency_ms > 0
    assert first.metadata["endpoint"] == "chat" and second.metadata["choice"] == 1


def _post_feedback(client: openai.OpenAI, body: dict[str, Any]) -> dict[str, Any]:
    import httpx

    response = client.post("/feedback", body=body, cast_to=httpx.Response)
    result: dict[str, Any] = response.json()
    return result


def test_feedback_is_stored_on_the_event(client: openai.OpenAI, store: SQLiteFeedbackStore) -> None:
    reply = client.chat.completions.create(model="tiny", messages=MESSAGES, max_tokens=6, temperature=0)
    up = _post_feedback(client, {"event_id": reply.id, "kind": "thumbs_up"})
    edit = _post_feedback(client, {"event_id": reply.id, "kind": "edit", "completion": "c b a", "comment": "exact"})
    signals = asyncio.run(store.signals(event_id=reply.id))
    assert [(s.id, s.kind, s.completion) for s in signals] == [
        (up["id"], "thumbs_up", None), (edit["id"], "edit", "c b a")
    ]
    assert signals[1].metadata == {"comment": "exact"}


def test_feedback_on_an_unknown_event_is_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError, match="no inference event"):
        _post_feedback(client, {"event_id": "chatcmpl-nope", "kind": "thumbs_down"})


def test_an_edit_without_its_completion_is_refused(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model="tiny", messages=MESSAGES, max_tokens=2, temperature=0)
    with pytest.raises(openai.BadRequestError, match="needs a non-empty 'completion'"):
        _post_feedback(client, {"event_id": reply.id, "kind": "edit"})


def test_unknown_model_is_404_naming_the_served_ones(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError, match="models: tiny, tiny:2"):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)


def test_bad_parameters_are_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="max_tokens"):
        client.chat.completions.create(model="tiny", messages=MESSAGES, max_tokens=0)
    with pytest.raises(openai.BadRequestError, match="messages"):
        client.chat.completions.create(model="tiny", messages=[])


# -- canary ----------------------------------------------------------------------------------


@pytest.fixture
def canary(checkpoints: Checkpoints, service: LocalServiceClient) -> Iterator[RunningEndpoint]:
    plan = DeploymentPlan(model="tiny", strategy="canary", primary=_source(checkpoints, "1"),
                          candidate=_source(checkpoints, "2"), weight=0.3, seed=7)
    with running_endpoint(plan, service) as ep:
        yield ep


def test_canary_splits_requests_by_weight_as_its_seed_dictates(canary: RunningEndpoint) -> None:
    client = openai.OpenAI(base_url=canary.api_url, api_key="unused", max_retries=0)
    requests = 120
    served = [
        client.completions.create(model="tiny", prompt="a", max_tokens=1, temperature=0).model
        for _ in range(requests)
    ]
    rng = random.Random(7)  # the split's documented source: one uniform per request
    expected = ["tiny:2" if rng.random() < 0.3 else "tiny:1" for _ in range(requests)]
    counts = {v: served.count(v) for v in ("tiny:1", "tiny:2")}
    print(f"canary counts over {requests}: {counts}")
    assert served == expected
    assert 0.15 < counts["tiny:2"] / requests < 0.45, counts
    client.close()


def test_canary_keeps_one_user_on_one_version(canary: RunningEndpoint) -> None:
    client = openai.OpenAI(base_url=canary.api_url, api_key="unused", max_retries=0)
    for user in ("ann", "bob", "cy"):
        seen = {client.completions.create(model="tiny", prompt="a", max_tokens=1, user=user).model for _ in range(5)}
        assert len(seen) == 1, f"user {user!r} was served by {seen}"
    client.close()


def test_a_pinned_version_bypasses_the_split(canary: RunningEndpoint) -> None:
    client = openai.OpenAI(base_url=canary.api_url, api_key="unused", max_retries=0)
    assert {client.completions.create(model="tiny:2", prompt="a", max_tokens=1).model for _ in range(5)} == {"tiny:2"}
    client.close()


def test_canary_health_lists_both_versions_and_counts(canary: RunningEndpoint, tmp_path: Path) -> None:
    import json
    import urllib.request

    with urllib.request.urlopen(f"{canary.base_url}/health") as r:
        body = json.loads(r.read())
    assert body["versions"] == ["1", "2"] and body["weight"] == 0.3 and body["strategy"] == "canary"


def test_weights_that_do_not_load_fail_the_start_with_the_reason(
    service: LocalServiceClient, tmp_path: Path
) -> None:
    from cookbook_runtime.errors import CookbookError

    missing = VersionSource(version="9", sampler_path=str(tmp_path / "no-weights"), base_model=TINY_CHAT)
    with pytest.raises(CookbookError, match="no saved sampler weights"), running_endpoint(
        DeploymentPlan(model="tiny", primary=missing), service
    ):
        pass
