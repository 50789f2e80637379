"""A fake OpenAI-compatible server: the real HTTP protocol, answers chosen by a policy.

    from gymhall.testing import FakeOpenAI, Turn, ToolCall, scripted, serve_in_thread

    fake = FakeOpenAI(scripted([Turn(tool_calls=[ToolCall("increment", {"by": 1})]), Turn(text="1")]))
    with serve_in_thread(fake) as url:
        client = openai.AsyncOpenAI(base_url=url + "/v1", api_key="test")
        ...

It serves `POST /v1/responses`, `POST /v1/chat/completions` (non-streaming) and `GET /v1/models`.
A policy is a function `(FakeRequest) -> Turn | Failure` (gymhall.models.fake_policy; `gymhall.testing`
exports both modules' names); it reads the conversation from the request, so one server answers any number of
concurrent conversations without shared state.
Failures can be injected for the first requests, per request (header `x-fake-fail: <status>`),
or by the policy. Answers are built as plain dicts and encoded with orjson: no validation on the
hot path, since benchmarks drive it at thousands of requests per second.

Given `token_ids` (a tokenizer's encode function), it answers the token fields a vLLM server would:
the prompt's ids are the tokenizer applied to the conversation rendered by `template` (a `ChatTemplate`),
the generation's ids the tokenizer applied to the rendered answer, with made-up log-probs. Responses
answers carry NeMo Gym's `prompt_token_ids`, `generation_token_ids` and `generation_log_probs` on their
last output item; chat answers carry vLLM's `prompt_token_ids`, choice `token_ids` and `logprobs` when
the request asks for them (`return_token_ids`), as `ChatCompletionsModel(return_token_ids=True)` does.

Run it standalone with `python -m gymhall.models.fake_openai --port 8000 --policy counter`.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import os
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import orjson

from gymhall.models.fake_policy import (
    ChatTemplate,
    Dialect,
    Failure,
    FakeRequest,
    Policy,
    Turn,
    counter_policy,
    echo_policy,
    play,
)

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.types import Receive, Scope, Send

# The policy names are re-exported: `gymhall.models.fake_openai` is where users have always found them.
__all__ = ["FakeOpenAI"]


DELAY_HEADER = "x-fake-delay"  # per-request delay in seconds, before answering

_FAST_ROUTES: dict[str, Dialect] = {"/v1/responses": "responses", "/v1/chat/completions": "chat"}
_Answer: TypeAlias = tuple[int, bytes, dict[str, str]]  # status, JSON body, extra headers

_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error"}
_ERROR_TYPES |= {404: "not_found_error", 422: "invalid_request_error", 429: "rate_limit_error"}


class FakeOpenAI:
    """An OpenAI-compatible ASGI app whose answers come from `policy`; serve it with `serve_in_thread`.

    Args:
        policy: chooses each answer (see `scripted`, `counter_policy`, `echo_policy`).
        fail_first: the first this-many model requests fail with `fail_status`.
        fail_status: the status of those failures.
        retry_after: the Retry-After (seconds) sent with failures; None sends none.
        delay_s: seconds to wait before each answer (a slow backend).
        model: the model id listed by `GET /v1/models` and used when a request names none.
        api_key: when set, every `/v1` request without ``Authorization: Bearer <api_key>`` is answered
            401, as OpenAI answers a missing or wrong key.
        max_recorded: how many recent requests `requests` keeps.
        list_models: whether `GET /v1/models` is served; NeMo Gym's model servers do not serve it (404).
        token_ids: a tokenizer's encode function (text -> ids); when set, answers carry token ids and log-probs.
        template: how a conversation and an answer are rendered before `token_ids` encodes them.

    `requests` holds the latest `FakeRequest`s (failed ones too), `request_count` counts them all.
    """

    def __init__(
        self,
        policy: Policy = echo_policy,
        *,
        fail_first: int = 0,
        fail_status: int = 429,
        retry_after: float | None = 0,
        delay_s: float = 0.0,
        model: str = "fake-model",
        max_recorded: int = 1000,
        api_key: str | None = None,
        list_models: bool = True,
        token_ids: Callable[[str], Sequence[int]] | None = None,
        template: ChatTemplate | None = None,
    ) -> None:
        self.policy = policy
        self.fail_first = fail_first
        self.fail_status = fail_status
        self.retry_after = retry_after
        self.delay_s = delay_s
        self.model = model
        self.api_key = api_key
        self.list_models = list_models
        self.token_ids = token_ids
        self.template = template if template is not None else ChatTemplate()
        self.requests: collections.deque[FakeRequest] = collections.deque(maxlen=max_recorded)
        self.request_count = 0
        self._ids = itertools.count(1)
        self._id_prefix = os.urandom(4).hex()  # ids stay unique across several fake servers
        self._app: Starlette | None = None

    @property
    def app(self) -> Starlette:
        """The Starlette app (built on first use, so importing this module loads no web stack)."""
        if self._app is None:
            self._app = self._build_app()
        return self._app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The two model routes skip Starlette's routing and request/response objects: about a third
        # of the server's time per request at benchmark rates. Everything else goes to the app.
        dialect = _FAST_ROUTES.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if self.api_key is not None and scope["type"] == "http" and scope["path"].startswith("/v1/"):
            authorization = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
            if authorization != f"Bearer {self.api_key}":
                refusal = f"Incorrect API key provided: {authorization.removeprefix('Bearer ')[:4]}..."
                await _send_answer(send, self._error(Failure(401, refusal)))
                return
        if dialect is None:
            await self.app(scope, receive, send)
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        await _send_answer(send, await self._answer(b"".join(chunks), headers, dialect))

    def reset(self) -> None:
        """Forget recorded requests and restart counting (and `fail_first`) from zero."""
        self.requests.clear()
        self.request_count = 0

    def _build_app(self) -> Starlette:
        from starlette.applications import Starlette
        from starlette.responses import Response
        from starlette.routing import Route

        models = orjson.dumps(
            {"object": "list", "data": [{"id": self.model, "object": "model", "created": 0, "owned_by": "gymhall"}]}
        )

        async def health(request: Request) -> Response:
            return Response(b'{"status":"ok"}', media_type="application/json")

        async def list_models(request: Request) -> Response:
            return Response(models, media_type="application/json")

        async def responses(request: Request) -> Response:
            return _reply(await self._answer(await request.body(), request.headers, "responses"))

        async def chat(request: Request) -> Response:
            return _reply(await self._answer(await request.body(), request.headers, "chat"))

        routes = [
            Route("/", health, methods=["GET"]),
            Route("/v1/responses", responses, methods=["POST"]),
            Route("/v1/chat/completions", chat, methods=["POST"]),
        ]
        if self.list_models:
            routes.append(Route("/v1/models", list_models, methods=["GET"]))
        return Starlette(routes=routes)

    async def _answer(self, raw: bytes, headers: Mapping[str, str], dialect: Dialect) -> _Answer:
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return self._error(Failure(400, f"The request body is not valid JSON: {exc}."))
        if not isinstance(body, dict):
            return self._error(Failure(400, "The request body must be a JSON object."))
        fake = FakeRequest(body, dialect, headers)
        self.request_count += 1
        self.requests.append(fake)
        delay = float(headers.get(DELAY_HEADER, self.delay_s))
        if delay > 0:
            await asyncio.sleep(delay)
        if self.request_count <= self.fail_first:
            return self._error(Failure(self.fail_status, f"injected failure {self.request_count} of {self.fail_first}"))
        result = await play(self.policy, fake, headers)
        if isinstance(result, Failure):
            return self._error(result)
        answer = self._responses_body if dialect == "responses" else self._chat_body
        data = answer(body, result, len(raw))
        if self.token_ids is not None:
            self._add_token_ids(fake, result, data)
        return 200, orjson.dumps(data), {}

    def _add_token_ids(self, fake: FakeRequest, turn: Turn, data: dict[str, Any]) -> None:
        assert self.token_ids is not None
        prompt = list(self.token_ids(self.template.prompt(fake)))
        generation = list(self.token_ids(self.template.generation(turn)))
        fake.prompt_token_ids, fake.generation_token_ids = prompt, generation
        log_probs = [-0.05 * (1 + token % 7) for token in generation]  # made up, but one per token and < 0
        if fake.dialect == "responses":
            data["output"][-1].update(
                {"prompt_token_ids": prompt, "generation_token_ids": generation, "generation_log_probs": log_probs}
            )
        elif fake.body.get("return_token_ids"):  # vLLM answers them only when asked
            choice = data["choices"][0]
            data["prompt_token_ids"] = prompt
            choice["token_ids"] = generation
            entries: list[dict[str, Any]] = [
                {"token": f"token_id:{t}", "logprob": lp, "bytes": None, "top_logprobs": []}
                for t, lp in zip(generation, log_probs, strict=True)
            ]
            choice["logprobs"] = {"content": entries}

    def _error(self, failure: Failure) -> _Answer:
        status = failure.status
        kind = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
        code = "rate_limit_exceeded" if status == 429 else None
        headers = {}
        retry_after = failure.retry_after if failure.retry_after is not None else self.retry_after
        if retry_after is not None:
            # The OpenAI SDK reads retry-after-ms first: it carries fractions of a second exactly.
            headers = {"retry-after": f"{retry_after:g}", "retry-after-ms": str(round(retry_after * 1000))}
        body = {"error": {"message": failure.message, "type": kind, "param": None, "code": code}}
        return status, orjson.dumps(body), headers

    def _next_id(self) -> str:
        return f"{self._id_prefix}{next(self._ids):x}"

    def _responses_body(self, body: dict[str, Any], turn: Turn, request_bytes: int) -> dict[str, Any]:
        # Keys in the order of `gymhall.wire.responses.Response`'s fields, so that `FakeModel.respond_data` can
        # hand this out as the dump of its validated form without reordering (tests/models/test_fake.py checks it).
        rid = self._next_id()
        output: list[dict[str, Any]] = []
        if turn.reasoning is not None:
            reasoning = [{"text": turn.reasoning, "type": "reasoning_text"}]
            output.append({"id": f"rs_{rid}", "summary": [], "type": "reasoning", "content": reasoning})
        if turn.text is not None or not turn.tool_calls:
            content = [{"annotations": [], "text": turn.text or "", "type": "output_text", "logprobs": []}]
            output.append(
                {"id": f"msg_{rid}", "content": content, "role": "assistant", "status": "completed", "type": "message"}
            )
        for i, call in enumerate(turn.tool_calls):
            output.append(
                {
                    "arguments": _arguments(call.arguments),
                    "call_id": call.call_id or f"call_{rid}_{i}",
                    "name": call.name,
                    "type": "function_call",
                    "id": f"fc_{rid}_{i}",
                    "status": "completed",
                }
            )
        incomplete = turn.incomplete or turn.finish_reason in ("length", "content_filter")
        reason = "content_filter" if turn.finish_reason == "content_filter" else "max_output_tokens"
        prompt, completion, reasoning_tokens = _token_counts(turn, request_bytes)
        return {
            "id": f"resp_{rid}",
            "created_at": int(time.time()),
            "model": body.get("model") or self.model,
            "object": "response",
            "output": output,
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "tool_choice": body.get("tool_choice") or "auto",
            "tools": body.get("tools") or [],
            "error": None,
            "incomplete_details": {"reason": reason} if incomplete else None,
            "instructions": body.get("instructions"),
            "metadata": body.get("metadata") or {},
            "temperature": body.get("temperature"),
            "top_p": body.get("top_p"),
            "max_output_tokens": body.get("max_output_tokens"),
            "status": "incomplete" if incomplete else "completed",
            "usage": {
                "input_tokens": prompt,
                "output_tokens": completion,
                "total_tokens": prompt + completion,
                "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
            },
        }

    def _chat_body(self, body: dict[str, Any], turn: Turn, request_bytes: int) -> dict[str, Any]:
        rid = self._next_id()
        message: dict[str, Any] = {"role": "assistant", "content": turn.text}
        if turn.text is None and not turn.tool_calls:
            message["content"] = ""
        if turn.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call.call_id or f"call_{rid}_{i}",
                    "type": "function",
                    "function": {"name": call.name, "arguments": _arguments(call.arguments)},
                }
                for i, call in enumerate(turn.tool_calls)
            ]
        if turn.reasoning is not None:
            message["reasoning_content"] = turn.reasoning  # vLLM's reasoning-parser field
        finish = turn.finish_reason or ("length" if turn.incomplete else "tool_calls" if turn.tool_calls else "stop")
        prompt, completion, _ = _token_counts(turn, request_bytes)
        return {
            "id": f"chatcmpl-{rid}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
        }


def _arguments(arguments: Mapping[str, Any] | str) -> str:
    return arguments if isinstance(arguments, str) else orjson.dumps(dict(arguments)).decode()


def _token_counts(turn: Turn, request_bytes: int) -> tuple[int, int, int]:
    """Plausible token counts (about four bytes a token), without a tokenizer."""
    reasoning = len(turn.reasoning or "") // 4
    calls = sum(len(c.name) + len(_arguments(c.arguments)) for c in turn.tool_calls)
    completion = (len(turn.text or "") + calls) // 4 + reasoning + 1
    return request_bytes // 4 + 1, completion, reasoning


async def _send_answer(send: Send, answer: _Answer) -> None:
    status, payload, extra = answer
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw_headers += [(k.encode(), v.encode()) for k, v in extra.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


def _reply(answer: _Answer) -> Response:
    from starlette.responses import Response

    status, payload, headers = answer
    return Response(payload, status, headers, media_type="application/json")


def main(argv: Sequence[str] | None = None) -> None:
    """Serve a fake OpenAI server until Ctrl-C; prints its base URL once the port is bound."""
    parser = argparse.ArgumentParser(prog="python -m gymhall.models.fake_openai", description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (the printed URL has it)")
    parser.add_argument("--policy", choices=["counter", "echo"], default="counter")
    parser.add_argument("--tool", default="increment", help="the counter policy's tool")
    parser.add_argument("--calls", type=int, default=1, help="the counter policy's tool calls per conversation")
    parser.add_argument("--delay-s", type=float, default=0.0, help="seconds to wait before each answer")
    parser.add_argument("--model", default="fake-model")
    args = parser.parse_args(argv)

    import uvicorn

    policy = counter_policy(args.tool, args.calls) if args.policy == "counter" else echo_policy
    fake = FakeOpenAI(policy, delay_s=args.delay_s, model=args.model)
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        sock.close()
        raise SystemExit(f"fake OpenAI: cannot listen on {args.host}:{args.port} ({exc.strerror}).") from None
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    config = uvicorn.Config(fake, access_log=False, log_level="warning", ws="none", lifespan="off")
    print(f"gymhall: fake OpenAI server on http://{host}:{port}/v1 (Ctrl-C to stop)", flush=True)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
