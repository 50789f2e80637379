"""Behaviour both OpenAI-compatible backends inherit from `gymhall.models.openai_compatible`."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import zlib
from typing import Any

import pytest

from gymhall.exceptions import ConfigError, ModelError
from gymhall.models.base import ModelRequest
from gymhall.models.chat_completions import ChatCompletionsModel
from gymhall.models.openai_compatible import OpenAICompatibleModel, StatusError
from gymhall.models.openai_responses import OpenAIResponsesModel
from gymhall.models.spec_strings import model_from_spec
from gymhall.testing import Failure, FakeOpenAI, echo_policy

Backend = type[OpenAICompatibleModel]
BACKENDS = [pytest.param(ChatCompletionsModel, id="chat"), pytest.param(OpenAIResponsesModel, id="responses")]


@pytest.mark.parametrize("backend", BACKENDS)
async def test_without_a_model_name_the_server_is_asked(serve: Any, backend: Backend) -> None:
    fake = FakeOpenAI(echo_policy, model="served-model")
    async with backend("", base_url=serve(fake)) as model:
        await model.respond(ModelRequest(params={"input": "hi"}))
        assert model.name == "served-model" and fake.requests[-1].model == "served-model"


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_server_without_a_models_route_still_answers(serve: Any, backend: Backend) -> None:
    # NeMo Gym's model servers do not serve GET /v1/models (404): the model is then not named, and the
    # server answers with its own; the probe is not repeated on later calls.
    fake = FakeOpenAI(echo_policy, model="nemo-gym-model", list_models=False)
    async with backend("", base_url=serve(fake)) as model:
        first = await model.respond(ModelRequest(params={"input": "hi"}))
        await model.respond(ModelRequest(params={"input": "again"}))
    assert first.output_text == "hi" and first.model == "nemo-gym-model"
    assert fake.request_count == 2 and fake.requests[-1].model is None


@pytest.mark.parametrize("backend", BACKENDS)
async def test_rate_limits_are_retried(serve: Any, backend: Backend) -> None:
    fake = FakeOpenAI(echo_policy, fail_first=2, fail_status=429, retry_after=0.01)
    async with backend("m", base_url=serve(fake), max_retries=3) as model:
        response = await model.respond(ModelRequest(params={"input": "hi"}))
    assert response.output_text == "hi" and fake.request_count == 3


@pytest.mark.parametrize(
    ("backend", "max_retries"),
    [pytest.param(ChatCompletionsModel, 2, id="chat"), pytest.param(OpenAIResponsesModel, 3, id="responses")],
)
async def test_retries_are_capped(serve: Any, backend: Backend, max_retries: int) -> None:
    fake = FakeOpenAI(lambda request: Failure(500, "the GPU caught fire", retry_after=0.01))
    url = serve(fake)
    async with backend("m", base_url=url, max_retries=max_retries) as model:
        with pytest.raises(ModelError) as caught:
            await model.respond(ModelRequest(params={"input": "hi"}))
    error = caught.value
    assert error.retryable and error.status_code == 500 and fake.request_count == max_retries + 1
    assert url in str(error) and "HTTP 500" in str(error) and "the GPU caught fire" in str(error)


# A 400 saying the context is full is not an error for chat: see test_chat.py.
@pytest.mark.parametrize(
    ("backend", "message"),
    [
        pytest.param(ChatCompletionsModel, "temperature must be at most 2", id="chat"),
        pytest.param(OpenAIResponsesModel, "prompt too long", id="responses"),
    ],
)
async def test_client_errors_are_model_errors_and_not_retried(serve: Any, backend: Backend, message: str) -> None:
    fake = FakeOpenAI(lambda request: Failure(400, message))
    async with backend("m", base_url=serve(fake), max_retries=3) as model:
        with pytest.raises(ModelError, match=f"HTTP 400: {message}") as caught:
            await model.respond(ModelRequest(params={"input": "hi"}))
    assert not caught.value.retryable and fake.request_count == 1
    upstream = caught.value.upstream  # the failed status as the server answered it, kept as data
    assert isinstance(upstream, StatusError) and upstream.status_code == 400
    assert isinstance(upstream.body, dict) and upstream.body["message"] == message
    path = "/chat/completions" if backend is ChatCompletionsModel else "/responses"
    assert upstream.url == model.base_urls[0] + path


def test_the_backends_do_not_import_the_openai_sdk() -> None:
    # Importing the SDK's types cost every `gymhall collect --model http://...` 0.6-0.8 s of start-up.
    code = (
        "import sys, gymhall.models.openai_responses, gymhall.models.chat_completions, gymhall.models.spec_strings\n"
        "assert 'openai' not in sys.modules, 'the OpenAI SDK was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_rollout_sticks_to_one_base_url(serve: Any, backend: Backend) -> None:
    fakes = [FakeOpenAI(echo_policy), FakeOpenAI(echo_policy)]
    urls = [serve(fake) for fake in fakes]
    keys = [f"rollout-{i}" for i in range(12)]
    async with backend("m", base_url=urls) as model:
        for _ in range(2):
            for key in keys:
                await model.respond(ModelRequest(params={"input": key}, session_key=key))
    for index, fake in enumerate(fakes):
        expected = [key for key in keys if zlib.crc32(key.encode()) % 2 == index]
        assert expected and [request.user_text() for request in fake.requests] == expected * 2


@pytest.mark.parametrize("backend", BACKENDS)
async def test_the_deadline_bounds_a_slow_backend(serve: Any, backend: Backend) -> None:
    fake = FakeOpenAI(echo_policy, delay_s=1.0)
    async with backend("m", base_url=serve(fake), timeout_s=60, max_retries=3) as model:
        started = time.monotonic()
        with pytest.raises(ModelError, match="did not answer in time") as caught:
            await model.respond(ModelRequest(params={"input": "hi"}, deadline=time.monotonic() + 0.2))
        assert time.monotonic() - started < 0.6 and caught.value.retryable
        with pytest.raises(ModelError):  # a deadline already passed: nothing is sent
            await model.respond(ModelRequest(params={"input": "hi"}, deadline=time.monotonic() - 1))
    assert fake.request_count == 1


@pytest.mark.parametrize("backend", BACKENDS)
async def test_the_api_key_never_appears_in_errors(serve: Any, backend: Backend) -> None:
    key = "sk-test-0123456789abcdef"
    fake = FakeOpenAI(lambda request: Failure(401, f"Incorrect API key provided: {key}."))
    async with backend("m", base_url=serve(fake), api_key=key) as model:
        with pytest.raises(ModelError) as caught:
            await model.respond(ModelRequest(params={"input": "hi"}))
    assert key not in str(caught.value) and "Incorrect API key provided" in str(caught.value)
    assert fake.requests[-1].headers["authorization"] == f"Bearer {key}"

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://user:password@127.0.0.1:{port}/v1"
    async with backend("m", base_url=url, api_key=key, max_retries=0) as model:
        with pytest.raises(ModelError, match="cannot reach") as caught:
            await model.respond(ModelRequest(params={"input": "hi"}))
    assert caught.value.retryable and key not in str(caught.value) and "password" not in str(caught.value)
    assert key not in repr(model) and "password" not in repr(model)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_the_api_key_falls_back_to_the_environment(
    monkeypatch: pytest.MonkeyPatch, serve: Any, backend: Backend
) -> None:
    fake = FakeOpenAI(echo_policy)
    url = serve(fake)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    async with backend("m", base_url=url) as model:
        await model.respond(ModelRequest(params={"input": "hi"}))
    monkeypatch.delenv("OPENAI_API_KEY")
    async with backend("m", base_url=url) as model:
        await model.respond(ModelRequest(params={"input": "hi"}))
    assert [r.headers["authorization"] for r in fake.requests] == ["Bearer sk-from-env", "Bearer EMPTY"]


# --- preflight: the key and the URL checked once, before the first rollout ---------------------------------


async def test_preflight_without_a_key_for_openai_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    async with OpenAIResponsesModel("gpt-4.1-mini") as model:
        with pytest.raises(ConfigError, match=r"no API key for https://api.openai.com/v1.*\n  Fix: set MY_KEY"):
            await model.preflight(key_source="MY_KEY")


@pytest.mark.parametrize("backend", BACKENDS)
async def test_preflight_reports_a_refused_key_and_passes_a_valid_one(
    serve: Any, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    fake = FakeOpenAI(echo_policy, api_key="sk-right-key")
    url = serve(fake)
    async with backend("m", base_url=url, api_key="sk-wrong-key") as model:
        with pytest.raises(ConfigError) as caught:
            await model.preflight(key_source="OPENAI_API_KEY, or policy_api_key in env.yaml")
    message = str(caught.value)
    assert f"{url} refused the API key (HTTP 401: Incorrect API key" in message
    assert "Fix: set OPENAI_API_KEY, or policy_api_key in env.yaml to a valid key" in message
    assert "sk-wrong-key" not in message
    async with backend("m", base_url=url) as model:
        with pytest.raises(ConfigError, match="needs an API key and none was set"):
            await model.preflight()
    async with backend("m", base_url=url, api_key="sk-right-key") as model:
        await model.preflight()
    assert fake.request_count == 0  # no model call, nothing spent


async def test_preflight_names_an_unreachable_url_at_once(unused_port: int) -> None:
    url = f"http://127.0.0.1:{unused_port}/v1"
    start = time.monotonic()
    async with OpenAIResponsesModel("m", base_url=url, max_retries=3) as model:
        with pytest.raises(ConfigError, match=rf"cannot reach {url} .*is the server running\?"):
            await model.preflight()
    assert time.monotonic() - start < 2  # no retries, no backoff


async def test_preflight_passes_a_server_without_a_models_route(serve: Any) -> None:
    # NeMo Gym's model servers do not serve GET /models: any answer but 401/403 shows the server is up.
    async with OpenAIResponsesModel("m", base_url=serve(FakeOpenAI()) + "/no-such-prefix") as model:
        await model.preflight()


@pytest.mark.parametrize("spec", ["replay", "fake:counter", "fake:echo"])
async def test_preflight_of_in_process_models_checks_nothing(spec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    await model_from_spec(spec).preflight()
