"""Conversion between the OpenAI Responses API and Anthropic's Messages API, both directions.

    body = responses_to_messages_request({"input": "hi", "max_output_tokens": 64})  # for POST /v1/messages
    response = messages_to_response(message, request_params=params)                  # a gymhall Response

The request (items and blocks: `gymhall.wire.messages_blocks`):

- `instructions`, then system and developer messages, joined by a blank line -> `system`;
- function tools -> `{name, description, input_schema}`; `tool_choice` "auto" / "required" / "none" /
  a named function -> `auto` / `any` / `none` / `tool`; `parallel_tool_calls: false` ->
  `disable_parallel_tool_use`;
- `max_output_tokens` -> `max_tokens`, which the API requires: `DEFAULT_MAX_TOKENS` (4096, the
  largest limit every Claude model accepts) when the request sets none;
- `reasoning.effort` -> `output_config.effort` ("minimal" as "low"; "none" sends none), a JSON-schema
  `text.format` -> `output_config.format`;
- `temperature`, `top_p` as they are, only when set (the anthropic SDK 2.17 no longer lists them; models
  that refuse them answer a 400 naming the key); `user` or `safety_identifier` -> `metadata.user_id`; the
  Messages parameters `top_k`, `stop_sequences` and `thinking` pass through;
- everything else (`store`, `include`, `truncation`, ...) is dropped: the API refuses keys it does not
  know. Turn extended thinking on with the Messages `thinking` parameter (e.g. `{"type": "adaptive"}`).

The answer: `text` blocks -> an assistant message, `tool_use` -> `function_call` items (the input
object as a JSON string), `thinking` -> `reasoning` (the signature in `encrypted_content`, so the next
request can send it back); `stop_reason` `max_tokens` / `model_context_window_exceeded` -> `status:
"incomplete"` with reason `max_output_tokens`, `refusal` -> reason `content_filter`; `usage` -> input
tokens (uncached, cache writes and cache reads together; reads as `cached_tokens`) and output tokens.

Malformed input raises `ValueError` naming the field and the problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gymhall.wire.chat_messages import new_id, plain
from gymhall.wire.conversion import converted_response
from gymhall.wire.messages_blocks import assistant_block_items, items_to_turns, turns_to_items
from gymhall.wire.responses import Response, complete_usage

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "messages_request_to_responses",
    "messages_to_response",
    "responses_to_messages_request",
    "stop_reason_for",
]

DEFAULT_MAX_TOKENS = 4096
"""`max_tokens` of a request that sets no `max_output_tokens`: the Messages API requires one, and every
Claude model accepts 4096 (the smallest output limit among them)."""

_PASS_THROUGH = ("temperature", "top_p", "top_k", "stop_sequences", "thinking")
_INCOMPLETE_REASONS = {
    "max_tokens": "max_output_tokens",
    "model_context_window_exceeded": "max_output_tokens",
    "refusal": "content_filter",
}
_STOP_REASONS = {"max_output_tokens": "max_tokens", "content_filter": "refusal"}


def _tool(tool: Any, where: str) -> dict[str, Any]:
    tool = plain(tool)
    kind = tool.get("type") if isinstance(tool, Mapping) else None
    if kind != "function" or not isinstance(tool.get("name"), str):
        raise ValueError(f"{where}: {kind!r} tools have no Messages equivalent; only function tools can be sent")
    schema = tool.get("parameters") or {"type": "object", "properties": {}}
    described = {"description": tool["description"]} if tool.get("description") else {}
    return {"name": tool["name"], **described, "input_schema": schema}


def _tool_choice(choice: Any, parallel: Any) -> dict[str, Any] | None:
    choice = plain(choice)
    if choice is None or choice == "auto":
        result: dict[str, Any] = {"type": "auto"}
    elif choice == "required":
        result = {"type": "any"}
    elif choice == "none":
        return {"type": "none"}
    elif isinstance(choice, Mapping) and choice.get("type") == "function" and isinstance(choice.get("name"), str):
        result = {"type": "tool", "name": choice["name"]}
    else:
        raise ValueError(f"tool_choice {choice!r} has no Messages equivalent (use auto, required, none or a function)")
    if parallel is False:
        result["disable_parallel_tool_use"] = True
    elif choice is None:
        return None  # the API's own default
    return result


def responses_to_messages_request(
    params: Mapping[str, Any], *, default_max_tokens: int = DEFAULT_MAX_TOKENS
) -> dict[str, Any]:
    """A Messages request body for Responses create params (without `model`: the backend names it)."""
    turns = items_to_turns(params.get("input"))
    body: dict[str, Any] = {}
    instructions = params.get("instructions")
    system = [instructions] if isinstance(instructions, str) and instructions else []
    system += turns.system
    if system:
        body["system"] = "\n\n".join(system)
    if not turns.messages:
        raise ValueError("input has no user or assistant turn: the Messages API needs at least one message")
    body["messages"] = turns.messages
    max_tokens = params.get("max_output_tokens")
    body["max_tokens"] = default_max_tokens if max_tokens is None else max_tokens
    tools = [_tool(tool, f"tools[{i}]") for i, tool in enumerate(params.get("tools") or ())]
    if tools:  # the API refuses tool_choice without tools
        body["tools"] = tools
        choice = _tool_choice(params.get("tool_choice"), params.get("parallel_tool_calls"))
        if choice is not None:
            body["tool_choice"] = choice
    body.update({key: params[key] for key in _PASS_THROUGH if params.get(key) is not None})
    output_config = _output_config(params)
    if output_config:
        body["output_config"] = output_config
    user = params.get("safety_identifier") or params.get("user")
    if isinstance(user, str) and user:
        body["metadata"] = {"user_id": user}
    return body


def _output_config(params: Mapping[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    reasoning = plain(params.get("reasoning"))
    effort = reasoning.get("effort") if isinstance(reasoning, Mapping) else None
    if effort not in (None, "none"):
        config["effort"] = "low" if effort == "minimal" else effort
    text = plain(params.get("text"))
    fmt = text.get("format") if isinstance(text, Mapping) else None
    if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema":
        config["format"] = {"type": "json_schema", "schema": fmt.get("schema") or {}}
    return config


def _usage(usage: Any) -> dict[str, Any] | None:
    usage = plain(usage)
    if not isinstance(usage, Mapping):
        return None
    cache_write = int(usage.get("cache_creation_input_tokens") or 0)
    cache_read = int(usage.get("cache_read_input_tokens") or 0)
    details = usage.get("output_tokens_details")
    thinking = int(details.get("thinking_tokens") or 0) if isinstance(details, Mapping) else 0
    return complete_usage(
        {
            # Anthropic counts cache reads and writes apart from input_tokens; Responses counts all input.
            "input_tokens": int(usage.get("input_tokens") or 0) + cache_write + cache_read,
            "input_tokens_details": {"cached_tokens": cache_read},
            "output_tokens": int(usage.get("output_tokens") or 0),
            "output_tokens_details": {"reasoning_tokens": thinking},
        }
    )


def messages_to_response(message: Any, *, request_params: Mapping[str, Any] | None = None) -> Response:
    """A gymhall `Response` for a Messages API answer (an SDK `Message` or its JSON).

    `request_params` (the Responses create params of the call) are echoed as the Responses API does.
    """
    data = plain(message)
    if not isinstance(data, Mapping):
        raise ValueError(f"a Messages answer must be a JSON object, not {type(data).__name__}")
    if data.get("type") != "message" or not isinstance(data.get("content"), list):
        raise ValueError(f"a Messages answer needs type 'message' and a content list, not type {data.get('type')!r}")
    reason = _INCOMPLETE_REASONS.get(str(data.get("stop_reason")))
    status = "incomplete" if reason else "completed"
    output = assistant_block_items(data["content"], status, "content")
    prefixes = {"message": "msg", "reasoning": "rs", "function_call": "fc"}
    output = [{"id": new_id(prefixes[item["type"]]), **item} for item in output]
    usage, model = _usage(data.get("usage")), data.get("model")
    return converted_response(output, reason, usage, request_params, response_id=data.get("id"), model=model)


def _responses_tool_choice(choice: Any) -> Any:
    if not isinstance(choice, Mapping):
        return None
    kind = choice.get("type")
    if kind == "tool":
        return {"type": "function", "name": choice.get("name")}
    return {"auto": "auto", "any": "required", "none": "none"}.get(str(kind))


def messages_request_to_responses(body: Mapping[str, Any]) -> dict[str, Any]:
    """Responses create params for a Messages request body (a fake's or a model server's view of it)."""
    if not isinstance(body, Mapping):
        raise TypeError(f"a Messages request must be a JSON object, not {type(body).__name__}")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValueError("'messages' must be a non-empty list of turns")
    params: dict[str, Any] = {"input": turns_to_items(messages)}
    system = body.get("system")
    if isinstance(system, list):  # a list of text blocks
        system = "\n\n".join(str(block.get("text", "")) for block in system if isinstance(block, Mapping))
    if system:
        params["instructions"] = system
    if body.get("model") is not None:
        params["model"] = body["model"]
    if body.get("max_tokens") is not None:
        params["max_output_tokens"] = body["max_tokens"]
    tools = []
    for index, tool in enumerate(body.get("tools") or ()):
        if not isinstance(tool, Mapping) or not isinstance(tool.get("name"), str):
            raise ValueError(f"tools[{index}] must be {{'name': ..., 'input_schema': ...}}")
        described = {"description": tool["description"]} if tool.get("description") else {}
        tools.append({"type": "function", "name": tool["name"], **described, "parameters": tool.get("input_schema")})
        tools[-1]["strict"] = False  # Messages tools are not strict unless asked
    if tools:
        params["tools"] = tools
    choice = body.get("tool_choice")
    if _responses_tool_choice(choice) is not None:
        params["tool_choice"] = _responses_tool_choice(choice)
    if isinstance(choice, Mapping) and choice.get("disable_parallel_tool_use"):
        params["parallel_tool_calls"] = False
    params.update({key: body[key] for key in _PASS_THROUGH if body.get(key) is not None})
    output_config = body.get("output_config")
    if isinstance(output_config, Mapping) and output_config.get("effort") is not None:
        params["reasoning"] = {"effort": output_config["effort"]}
    fmt = output_config.get("format") if isinstance(output_config, Mapping) else None
    if isinstance(fmt, Mapping):
        params["text"] = {"format": {"type": "json_schema", "name": "output", "schema": fmt.get("schema")}}
    metadata = body.get("metadata")
    if isinstance(metadata, Mapping) and isinstance(metadata.get("user_id"), str):
        params["safety_identifier"] = metadata["user_id"]
    return params


def stop_reason_for(incomplete_reason: str | None, has_tool_calls: bool) -> str:
    """The Messages `stop_reason` for a Responses `incomplete_details.reason` (None when complete)."""
    if incomplete_reason is not None:
        return _STOP_REASONS.get(incomplete_reason, "max_tokens")
    return "tool_use" if has_tool_calls else "end_turn"
