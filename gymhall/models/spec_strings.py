"""Build a `Model` from a short spec string, as the command line and config files name models."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from gymhall.models.base import Model

__all__ = ["FAKE_SPECS", "SPEC_FORMS", "check_servable", "model_from_spec"]

FAKE_SPECS = ("fake:counter", "fake:echo")
"""gymhall's fake models: offline, in process, and servable behind a model server."""

SPEC_FORMS = (
    "'openai:<model>' (e.g. 'openai:gpt-4.1-mini'), 'anthropic:<model>' (e.g. 'anthropic:claude-sonnet-4-5'), "
    "'http://host:port/v1' or 'http://host:port/v1#<model>' (any OpenAI-compatible server; "
    "several URLs joined by ',' are replicas), "
    "'replay' (replays each row's reference solution), "
    "or 'fake:counter' / 'fake:echo' (gymhall's fake model, in-process, for tests and benchmarks)"
)
"""The accepted forms, as error messages list them."""


def model_from_spec(
    spec: str,
    *,
    api_key: str | None = None,
    sampling: Mapping[str, Any] | None = None,
    api: Literal["responses", "chat", "messages"] = "responses",
) -> Model:
    """The model `spec` names; `api` picks the Responses, Chat Completions or Anthropic Messages API of a server.

    Without '#<model>', a server's model is asked from its `GET /models` on the first call (optional: a server
    without that route, as NeMo Gym's, gets requests that name no model).
    """
    if api not in ("responses", "chat", "messages"):
        raise ValueError(
            f"Unknown api {api!r}: use 'responses' or 'chat' (OpenAI-compatible), or 'messages' (Anthropic)."
        )
    text = spec.strip()
    if text == "replay":
        from gymhall.models.replay import ReplayModel

        return ReplayModel()
    if text in FAKE_SPECS:
        from gymhall.models.fake import FakeModel
        from gymhall.models.fake_policy import counter_policy, echo_policy

        return FakeModel(counter_policy() if text == "fake:counter" else echo_policy)
    if text.startswith("anthropic:") and len(text) > len("anthropic:"):
        return _openai_compatible(
            text.removeprefix("anthropic:"),
            "https://api.anthropic.com/v1",
            api_key=api_key,
            sampling=sampling,
            api="messages",
        )
    if text.startswith("openai:") and len(text) > len("openai:"):
        return _openai_compatible(
            text.removeprefix("openai:"), "https://api.openai.com/v1", api_key=api_key, sampling=sampling, api=api
        )
    if text.startswith(("http://", "https://")):
        urls, _, model = text.partition("#")
        base_urls = [url.strip() for url in urls.split(",") if url.strip()]
        if base_urls and all(url.startswith(("http://", "https://")) for url in base_urls):
            return _openai_compatible(model, base_urls, api_key=api_key, sampling=sampling, api=api)
    raise ValueError(f"Unknown model spec {spec!r}. Use {SPEC_FORMS}.")


def check_servable(spec: str) -> None:
    """Raise `ValueError` when `spec` cannot answer behind a model server: `replay` needs each rollout's row."""
    if spec.strip() == "replay":
        raise ValueError(
            "the model 'replay' cannot be served: it plays each row's reference solution, and a model server "
            "sees only model requests, never the dataset row.\n"
            f"  Fix: serve a real model, or an offline one that works there: {', '.join(FAKE_SPECS)}; "
            "replay itself works in collect and serve-agent, which hold the row"
        )


def _openai_compatible(
    model: str,
    base_url: str | list[str],
    *,
    api_key: str | None,
    sampling: Mapping[str, Any] | None,
    api: Literal["responses", "chat", "messages"],
) -> Model:
    if api == "messages":
        from gymhall.models.anthropic_messages import AnthropicMessagesModel

        return AnthropicMessagesModel(model, base_url=base_url, api_key=api_key, sampling=sampling)
    if api == "chat":
        # Imported by name: the chat backend is an optional sibling module, loaded only when asked for.
        chat = importlib.import_module("gymhall.models.chat_completions")
        built: Model = chat.ChatCompletionsModel(model, base_url=base_url, api_key=api_key, sampling=sampling)
        return built
    from gymhall.models.openai_responses import OpenAIResponsesModel

    return OpenAIResponsesModel(model, base_url=base_url, api_key=api_key, sampling=sampling)
