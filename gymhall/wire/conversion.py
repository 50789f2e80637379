"""Conversion between the OpenAI Responses API and Chat Completions, both directions.

    body = responses_to_chat_request({"input": "hi", "max_output_tokens": 64})  # for POST /chat/completions
    response = chat_to_response(completion, request_params=params)              # a gymhall Response

The rules (NeMo Gym's, with vLLM's field names):

- consecutive model-side items (reasoning, assistant message, function calls) are one assistant message;
- `function_call` <-> `tool_calls[i]`: call_id <-> id, and `arguments` kept verbatim, valid JSON or not;
- `function_call_output` <-> a `role: "tool"` message with `tool_call_id`;
- `reasoning` <-> the assistant message's `reasoning` / `reasoning_content` fields, or a leading
  `<think>...</think>` block in its content (also a headless `...</think>`, when the chat template
  opened the block in the prompt, as DeepSeek-R1 and QwQ templates do);
- finish_reason `length` / `content_filter` <-> `status: "incomplete"` with `incomplete_details.reason`;
- vLLM's `prompt_token_ids`, choice `token_ids` and `logprobs` <-> `prompt_token_ids`,
  `generation_token_ids` and `generation_log_probs` on the last output item of the call (all three
  or none, as NeMo Gym requires), so trainers can rebuild the exact token sequences.

Malformed input raises `ValueError` naming the item and the problem.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any, Literal

import orjson

from gymhall.wire.chat_messages import (
    AssistantTurn,
    ReasoningFormat,
    assistant_items,
    chat_messages_to_items,
    new_id,
    plain,
    responses_input_to_messages,
    split_think_tags,
)
from gymhall.wire.responses import Response, complete_usage

__all__ = [
    "TOKEN_FIELDS",
    "ReasoningFormat",
    "chat_messages_to_items",
    "chat_request_to_responses",
    "chat_to_response",
    "converted_response",
    "response_to_chat",
    "responses_input_to_messages",
    "responses_to_chat_request",
    "split_think_tags",
]

TOKEN_FIELDS = ("prompt_token_ids", "generation_token_ids", "generation_log_probs")
"""The token fields NeMo Gym's training variants add to an output item (all three or none)."""

_INCOMPLETE_REASONS = {"length": "max_output_tokens", "content_filter": "content_filter"}
_FINISH_REASONS = {"max_output_tokens": "length", "content_filter": "content_filter"}
# Responses parameters with no Chat Completions meaning: dropped, never sent to a chat backend.
_RESPONSES_ONLY = {"background", "context_management", "conversation", "include", "max_tool_calls", "prompt"}
_RESPONSES_ONLY |= {"previous_response_id", "store", "stream", "stream_options", "truncation"}
_CHAT_ONLY = {"stream", "stream_options", "n", "logprobs", "modalities", "audio", "prediction", "functions"}
_CHAT_ONLY |= {"function_call", "web_search_options", "max_tokens", "max_completion_tokens"}


def _chat_tool(tool: Any, where: str) -> dict[str, Any]:
    tool = plain(tool)
    kind = tool.get("type") if isinstance(tool, Mapping) else None
    fields = {"function": ("name", "description", "parameters", "strict"), "custom": ("name", "description", "format")}
    if kind in fields:
        return {"type": kind, kind: {k: tool[k] for k in fields[kind] if tool.get(k) is not None}}
    raise ValueError(f"{where}: {kind!r} tools exist only in the Responses API; a chat backend cannot run them")


def _chat_tool_choice(choice: Any) -> Any:
    choice = plain(choice)
    if not isinstance(choice, Mapping):
        return choice
    kind = choice.get("type")
    if kind in ("function", "custom"):
        return {"type": kind, kind: {"name": choice.get("name")}}
    if kind == "allowed_tools":
        tools = [_chat_tool_choice(tool) for tool in choice.get("tools") or ()]
        return {"type": "allowed_tools", "allowed_tools": {"mode": choice.get("mode"), "tools": tools}}
    raise ValueError(f"tool_choice of type {kind!r} has no Chat Completions equivalent")


def _json_metadata(metadata: Mapping[str, Any], key: str) -> dict[str, Any]:
    raw = metadata.get(key)
    if raw is None:
        return {}
    try:
        value = orjson.loads(raw) if isinstance(raw, str | bytes) else raw
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"metadata.{key} must be a JSON object string: {exc}") from None
    if not isinstance(value, Mapping):
        raise ValueError(f"metadata.{key} must be a JSON object string")
    return dict(value)


def responses_to_chat_request(
    params: Mapping[str, Any],
    *,
    reasoning_format: ReasoningFormat = "reasoning_content",
    max_tokens_key: Literal["max_completion_tokens", "max_tokens"] = "max_completion_tokens",
) -> dict[str, Any]:
    """A Chat Completions request body for Responses create params.

    Keys with no chat meaning (`include`, `truncation`, `store`, ...) are dropped; unknown keys
    (`seed`, `top_k`, `stop`, ...) pass through for backends that read them. As NeMo Gym does,
    `metadata.chat_template_kwargs` and `metadata.extra_body` (JSON object strings) become body fields.
    """
    handled = {"input", "instructions", "tools", "tool_choice", "parallel_tool_calls", "max_output_tokens"}
    handled |= {"top_logprobs", "reasoning", "text", "metadata"}
    body = {k: v for k, v in params.items() if v is not None and k not in handled and k not in _RESPONSES_ONLY}
    instructions = params.get("instructions")
    messages = [{"role": "system", "content": instructions}] if instructions else []
    messages += responses_input_to_messages(params.get("input"), reasoning_format=reasoning_format)
    body["messages"] = messages
    tools = [_chat_tool(tool, f"tools[{i}]") for i, tool in enumerate(params.get("tools") or ())]
    if tools:  # OpenAI refuses tool_choice and parallel_tool_calls without tools
        body["tools"] = tools
        if params.get("tool_choice") is not None:
            body["tool_choice"] = _chat_tool_choice(params["tool_choice"])
        if params.get("parallel_tool_calls") is not None:
            body["parallel_tool_calls"] = params["parallel_tool_calls"]
    if params.get("max_output_tokens") is not None:
        body[max_tokens_key] = params["max_output_tokens"]
    if params.get("top_logprobs") is not None:
        body["logprobs"], body["top_logprobs"] = True, params["top_logprobs"]
    reasoning = plain(params.get("reasoning"))
    if isinstance(reasoning, Mapping) and reasoning.get("effort") is not None:
        body["reasoning_effort"] = reasoning["effort"]
    text = plain(params.get("text"))
    if isinstance(text, Mapping):
        body.update(_chat_response_format(text))
    metadata = params.get("metadata")
    if isinstance(metadata, Mapping):
        template_kwargs = _json_metadata(metadata, "chat_template_kwargs")
        if template_kwargs:
            body["chat_template_kwargs"] = {**body.get("chat_template_kwargs", {}), **template_kwargs}
        body.update(_json_metadata(metadata, "extra_body"))
    return body


def _chat_response_format(text: Mapping[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    fmt = text.get("format")
    if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema":
        keys = ("name", "schema", "description", "strict")
        result["response_format"] = {"type": "json_schema", "json_schema": {k: fmt[k] for k in keys if k in fmt}}
    elif isinstance(fmt, Mapping) and fmt.get("type") in ("json_object", "text"):
        result["response_format"] = {"type": fmt["type"]}
    if text.get("verbosity") is not None:
        result["verbosity"] = text["verbosity"]
    return result


# --- Chat Completions -> Responses -------------------------------------------------------------


def _token_id(token: Any) -> int | None:
    if isinstance(token, str) and token.startswith("token_id:"):
        try:
            return int(token[len("token_id:") :])
        except ValueError:
            return None
    return None


def _token_fields(data: Mapping[str, Any], choice: Mapping[str, Any]) -> dict[str, Any]:
    """vLLM's token ids and log-probs as NeMo Gym's three item fields; {} unless all three are known."""
    prompt_ids = data.get("prompt_token_ids") or choice.get("prompt_token_ids")
    entries = (choice.get("logprobs") or {}).get("content")
    generation_ids = choice.get("token_ids")
    if generation_ids is None and entries:  # `return_tokens_as_token_ids`: tokens read "token_id:123"
        parsed = [_token_id(entry.get("token")) for entry in entries]
        generation_ids = None if None in parsed else parsed
    if prompt_ids is None or generation_ids is None or entries is None:
        return {}
    log_probs = [float(entry["logprob"]) for entry in entries]
    return dict(zip(TOKEN_FIELDS, (list(prompt_ids), list(generation_ids), log_probs), strict=True))


def _responses_usage(usage: Any) -> dict[str, Any] | None:
    usage = plain(usage)
    if not isinstance(usage, Mapping):
        return None
    prompt, completion = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0
    return complete_usage(
        {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": int(usage.get("total_tokens") or prompt + completion),
        }
    )


def chat_to_response(completion: Any, *, request_params: Mapping[str, Any] | None = None) -> Response:
    """A gymhall `Response` for a chat completion (an SDK `ChatCompletion` or its JSON); the first choice is used.

    `request_params` (the Responses create params of the call) are echoed as the Responses API does.
    """
    data = plain(completion)
    if not isinstance(data, Mapping):
        raise ValueError(f"a chat completion must be a JSON object, not {type(data).__name__}")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
        raise ValueError("the chat completion has no choices")
    choice = choices[0]
    reason = _INCOMPLETE_REASONS.get(choice.get("finish_reason") or "")
    status = "incomplete" if reason else "completed"
    output = assistant_items(plain(choice.get("message")) or {}, status, "choices[0].message")
    tokens = _token_fields(data, choice)
    if tokens:
        if not output:  # somewhere to keep them: an empty answer
            empty = [{"type": "output_text", "text": "", "annotations": []}]
            output.append({"id": new_id("msg"), "type": "message", "role": "assistant", "status": status})
            output[-1]["content"] = empty
        output[-1].update(tokens)
    return converted_response(
        output,
        reason,
        _responses_usage(data.get("usage")),
        request_params,
        model=data.get("model"),
        created_at=data.get("created"),
    )


def converted_response(
    output: list[dict[str, Any]],
    reason: str | None,
    usage: dict[str, Any] | None,
    request_params: Mapping[str, Any] | None,
    *,
    response_id: str | None = None,
    model: str | None = None,
    created_at: int | None = None,
) -> Response:
    """The Responses object for an answer converted from another dialect (Chat Completions, Messages).

    `reason` is why it stopped short (`incomplete_details`), None when complete; the request's settings
    are echoed as the Responses API echoes them.
    """
    params = {k: plain(v) for k, v in (request_params or {}).items()}
    response: dict[str, Any] = {
        "id": response_id or new_id("resp"),
        "object": "response",
        "created_at": created_at or int(time.time()),
        "model": model or params.get("model") or "",
        "status": "incomplete" if reason else "completed",
        "error": None,
        "incomplete_details": {"reason": reason} if reason else None,
        "output": output,
        "parallel_tool_calls": params.get("parallel_tool_calls") is not False,
        "tool_choice": params.get("tool_choice") or "auto",
        "tools": params.get("tools") or [],
        "usage": usage,
    }
    for key in ("instructions", "max_output_tokens", "metadata", "temperature", "top_p"):
        if params.get(key) is not None:
            response[key] = params[key]
    return Response.model_validate(response)


def chat_request_to_responses(body: Mapping[str, Any]) -> dict[str, Any]:
    """Responses create params for a Chat Completions request body (a model server's chat route).

    Unknown keys (`seed`, `stop`, `top_k`, ...) pass through, streaming options are dropped (the
    caller refuses `stream: true`), and `n` > 1 is refused.
    """
    if not isinstance(body, Mapping):
        raise TypeError(f"a chat completions request must be a JSON object, not {type(body).__name__}")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValueError("'messages' must be a non-empty list of messages")
    if body.get("n") not in (None, 1):
        raise ValueError("'n' must be 1: a Responses model answers with one output")
    handled = {"messages", "tools", "tool_choice", "top_logprobs", "reasoning_effort", "response_format", "verbosity"}
    params = {k: v for k, v in body.items() if v is not None and k not in handled and k not in _CHAT_ONLY}
    params["input"] = chat_messages_to_items(messages)
    tools = [_responses_tool(tool, f"tools[{i}]") for i, tool in enumerate(body.get("tools") or ())]
    if tools:
        params["tools"] = tools
    if body.get("tool_choice") is not None:
        params["tool_choice"] = _responses_tool_choice(body["tool_choice"])
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None:
        params["max_output_tokens"] = max_tokens
    if body.get("logprobs") and body.get("top_logprobs") is not None:
        params["top_logprobs"] = body["top_logprobs"]
    if body.get("reasoning_effort") is not None:
        params["reasoning"] = {"effort": body["reasoning_effort"]}
    text: dict[str, Any] = {}
    fmt = body.get("response_format")
    if isinstance(fmt, Mapping):
        schema = fmt.get("json_schema") if fmt.get("type") == "json_schema" else None
        text["format"] = {"type": "json_schema", **schema} if isinstance(schema, Mapping) else {"type": fmt["type"]}
    if body.get("verbosity") is not None:
        text["verbosity"] = body["verbosity"]
    if text:
        params["text"] = text
    return params


def _responses_tool(tool: Any, where: str) -> dict[str, Any]:
    kind = tool.get("type") if isinstance(tool, Mapping) else None
    spec = tool.get(kind) if kind in ("function", "custom") else None
    if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
        raise ValueError(f"{where} must be {{'type': 'function', 'function': {{'name': ..., 'parameters': ...}}}}")
    if kind == "custom":
        return {"type": "custom", **spec}
    # Chat tools are not strict unless asked; the Responses API would default to strict.
    described = {"description": spec["description"]} if spec.get("description") is not None else {}
    strict = bool(spec.get("strict") or False)
    return {
        "type": "function",
        "name": spec["name"],
        **described,
        "parameters": spec.get("parameters"),
        "strict": strict,
    }


def _responses_tool_choice(choice: Any) -> Any:
    if not isinstance(choice, Mapping):
        return choice
    kind = choice.get("type")
    if kind in ("function", "custom"):
        return {"type": kind, "name": (choice.get(kind) or {}).get("name")}
    if kind == "allowed_tools":
        allowed = choice.get("allowed_tools") or {}
        tools = [_responses_tool_choice(tool) for tool in allowed.get("tools") or ()]
        return {"type": "allowed_tools", "mode": allowed.get("mode"), "tools": tools}
    raise ValueError(f"tool_choice of type {kind!r} has no Responses equivalent")


def response_to_chat(
    response: Response | Mapping[str, Any],
    *,
    model: str | None = None,
    reasoning_format: ReasoningFormat = "reasoning_content",
) -> dict[str, Any]:
    """A ChatCompletion-shaped dict for a `Response` (the model's items after the last tool result).

    Token ids on the last item come back in vLLM's places: `prompt_token_ids`, the choice's
    `token_ids`, and `logprobs.content` with `token_id:<id>` tokens.
    """
    if not isinstance(response, Response):
        response = Response.model_validate(response)
    items = [plain(item) for item in response.output]
    last_result = max((i for i, item in enumerate(items) if str(item.get("type")).endswith("_output")), default=-1)
    items = items[last_result + 1 :]
    turn = AssistantTurn()
    for index, item in enumerate(items):
        kind = item.get("type")
        if kind in ("reasoning", "function_call", "custom_tool_call") or item.get("role") == "assistant":
            turn.add(item, f"output[{last_result + 1 + index}]")
    message = turn.message(reasoning_format)
    reason = response.incomplete_details.reason if response.incomplete_details is not None else None
    finish = _FINISH_REASONS.get(reason or "") or ("tool_calls" if turn.tool_calls else "stop")
    choice: dict[str, Any] = {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
    completion: dict[str, Any] = {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(response.created_at),
        "model": model or response.model,
        "choices": [choice],
    }
    tokens = items[-1] if items else {}
    if all(tokens.get(field) is not None for field in TOKEN_FIELDS):
        completion["prompt_token_ids"] = tokens["prompt_token_ids"]
        choice["token_ids"] = tokens["generation_token_ids"]
        entries = zip(tokens["generation_token_ids"], tokens["generation_log_probs"], strict=False)
        content = [{"token": f"token_id:{t}", "logprob": lp, "bytes": None, "top_logprobs": []} for t, lp in entries]
        choice["logprobs"] = {"content": content, "refusal": None}
    usage = response.usage
    if usage is not None:
        completion["usage"] = {
            "prompt_tokens": usage.input_tokens,
            "completion_tokens": usage.output_tokens,
            "total_tokens": usage.total_tokens or usage.input_tokens + usage.output_tokens,
            "prompt_tokens_details": {"cached_tokens": (usage.input_tokens_details or {}).get("cached_tokens") or 0},
            "completion_tokens_details": {
                "reasoning_tokens": (usage.output_tokens_details or {}).get("reasoning_tokens") or 0
            },
        }
    return completion
