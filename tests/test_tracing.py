"""OpenTelemetry traces of rollouts: the span tree in process, the trace across real loopback HTTP, a failed
rollout's error, and tracing off loading nothing of OpenTelemetry."""

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import gymhall.tracing as tracing
from gymhall import AsyncResourcesClient, BaseSeedSessionRequest, BaseVerifyRequest, Environment, build_app, tool
from gymhall.collection.agent import Agent
from gymhall.collection.pool import rollouts
from gymhall.models.fake import FakeModel
from gymhall.models.fake_openai import FakeOpenAI
from gymhall.models.fake_policy import counter_policy
from gymhall.models.openai_responses import OpenAIResponsesModel
from gymhall.testing import client_for, make_row, serve_in_thread
from gymhall.wire.lines import RolloutFailure, failed_line, ok_line


class Row(BaseSeedSessionRequest):
    start: int = 0


class Tally:
    def __init__(self, value: int) -> None:
        self.value = value


class TallyEnv(Environment):
    def __init__(self, *, crash_verify: bool = False) -> None:
        super().__init__()
        self.crash_verify = crash_verify

    async def seed_session(self, row: Row) -> Tally:
        return Tally(row.start)

    @tool
    async def add(self, state: Tally, by: int) -> dict[str, int]:
        """Add `by` to the tally."""
        state.value += by
        return {"value": state.value}

    async def verify(self, state: Tally, body: BaseVerifyRequest) -> Any:
        if self.crash_verify:
            raise RuntimeError("verifier bug")
        return {"reward": float(body.response.output_text == str(state.value))}


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.enable_tracing(provider)
    try:
        yield exporter
    finally:
        tracing.disable_tracing()


def _row() -> dict[str, Any]:
    return make_row("count", _ng_task_index=3, _ng_rollout_index=2)


def _named(finished: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [span for span in finished if span.name == name]


def _one(finished: tuple[ReadableSpan, ...], name: str) -> ReadableSpan:
    found = _named(finished, name)
    assert len(found) == 1, f"{name}: {[span.name for span in finished]}"
    return found[0]


def _parent_id(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def _span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.span_id


def _trace_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.trace_id


async def test_one_rollout_in_process_is_a_span_tree_with_rl_attributes(spans: InMemorySpanExporter) -> None:
    agent = Agent(client_for(build_app(TallyEnv())), FakeModel(counter_policy("add", calls=2)))
    line = await agent.run(_row())
    assert line["reward"] == 1.0
    finished = spans.get_finished_spans()
    root = _one(finished, "rl.rollout")
    assert root.parent is None
    assert root.status.status_code is StatusCode.OK
    assert root.attributes is not None
    assert root.attributes["rl.task.index"] == 3
    assert root.attributes["rl.rollout.index"] == 2
    assert root.attributes["rl.reward"] == 1.0
    assert root.attributes["rl.status"] == "ok"
    assert root.attributes["rl.steps"] == 3
    assert root.attributes["rl.stop_reason"] == "final_message"
    assert root.attributes["gen_ai.usage.input_tokens"] == line["response"]["usage"]["input_tokens"]

    for name, count in (("rl.seed", 1), ("rl.model", 3), ("rl.tool", 2), ("rl.verify", 1), ("rl.close", 1)):
        stage_spans = _named(finished, name)
        assert len(stage_spans) == count, name
        for span in stage_spans:
            assert _parent_id(span) == _span_id(root), name
            assert _trace_id(span) == _trace_id(root)
    model = _named(finished, "rl.model")
    assert model[0].attributes is not None
    assert [span.attributes["rl.step"] for span in model if span.attributes] == [1, 2, 3]
    assert model[0].attributes["gen_ai.request.model"] == "fake"
    assert model[0].attributes["gen_ai.response.model"] == "fake-model"
    assert isinstance(model[0].attributes["gen_ai.usage.output_tokens"], int)
    tool_span = _named(finished, "rl.tool")[0]
    assert tool_span.kind is SpanKind.CLIENT
    assert tool_span.attributes is not None
    assert tool_span.attributes["rl.tool.name"] == "add"
    assert tool_span.attributes["http.response.status_code"] == 200

    # In process too, the request carries the context: the route's server span is the client span's child.
    server_add = _named(finished, "POST /add")
    assert len(server_add) == 2
    assert {_parent_id(span) for span in server_add} == {_span_id(span) for span in _named(finished, "rl.tool")}
    assert all(span.kind is SpanKind.SERVER for span in server_add)


async def test_the_trace_crosses_loopback_http_to_both_servers(spans: InMemorySpanExporter) -> None:
    fake = FakeOpenAI(counter_policy("add"))
    with (
        serve_in_thread(build_app(TallyEnv())) as resources_url,
        serve_in_thread(tracing.traced_app(fake, server="fake-model-server")) as model_url,
    ):
        model = OpenAIResponsesModel("fake-model", base_url=f"{model_url}/v1", api_key="k", max_retries=0)
        async with AsyncResourcesClient(resources_url) as resources:
            line = await Agent(resources, model).run(_row())
        await model.aclose()
    assert line["reward"] == 1.0
    finished = spans.get_finished_spans()
    root = _one(finished, "rl.rollout")
    assert {_trace_id(span) for span in finished if span.name != "GET /"} == {_trace_id(root)}

    # The model server's span is the child of the HTTP attempt's client span, itself under rl.model.
    attempts = _named(finished, "chat fake-model")
    served = _named(finished, "POST /v1/responses")
    assert len(attempts) == len(served) == 2
    assert {_parent_id(span) for span in served} == {_span_id(span) for span in attempts}
    assert {_parent_id(span) for span in attempts} == {_span_id(span) for span in _named(finished, "rl.model")}
    assert served[0].attributes is not None and served[0].attributes["rl.server.name"] == "fake-model-server"
    assert attempts[0].attributes is not None
    assert attempts[0].attributes["server.address"] == "127.0.0.1"
    assert attempts[0].attributes["gen_ai.request.model"] == "fake-model"

    # The resources server's spans are the children of each stage's client span.
    for stage, path in (("rl.seed", "/seed_session"), ("rl.tool", "/add"), ("rl.verify", "/verify")):
        client_span, server_span = _one(finished, stage), _one(finished, f"POST {path}")
        assert server_span.kind is SpanKind.SERVER
        assert _parent_id(server_span) == _span_id(client_span), stage
        assert server_span.attributes is not None and server_span.attributes["http.response.status_code"] == 200


async def test_gymhalls_own_model_server_continues_the_trace(spans: InMemorySpanExporter) -> None:
    from gymhall.models.server import build_model_app

    with (
        serve_in_thread(build_app(TallyEnv())) as resources_url,
        serve_in_thread(build_model_app(FakeModel(counter_policy("add"), model="fake-model"))) as model_url,
    ):
        model = OpenAIResponsesModel("fake-model", base_url=f"{model_url}/v1", api_key="k", max_retries=0)
        async with AsyncResourcesClient(resources_url) as resources:
            line = await Agent(resources, model).run(_row())
        await model.aclose()
    assert line["reward"] == 1.0
    finished = spans.get_finished_spans()
    served = _named(finished, "POST /v1/responses")
    assert len(served) == 2 and all(span.kind is SpanKind.SERVER for span in served)
    assert {_parent_id(span) for span in served} == {_span_id(span) for span in _named(finished, "chat fake-model")}
    assert served[0].attributes is not None and served[0].attributes["rl.server.name"] == "model"


async def test_a_failed_rollout_has_an_error_status_and_its_failure_stage(spans: InMemorySpanExporter) -> None:
    agent = Agent(client_for(build_app(TallyEnv(crash_verify=True))), FakeModel(counter_policy("add")))
    line = await agent.run(_row())
    assert line["status"] == "failed"
    finished = spans.get_finished_spans()
    root = _one(finished, "rl.rollout")
    assert root.status.status_code is StatusCode.ERROR
    assert root.status.description is not None and "verifier bug" in root.status.description
    assert root.attributes is not None
    assert root.attributes["rl.failure.stage"] == "verify"
    assert root.attributes["rl.failure.kind"] == line["failure_kind"]
    assert "rl.reward" not in root.attributes
    verify = _one(finished, "rl.verify")
    assert verify.status.status_code is StatusCode.ERROR
    assert verify.attributes is not None and verify.attributes["http.response.status_code"] == 500
    assert _one(finished, "POST /verify").status.status_code is StatusCode.ERROR
    assert _one(finished, "rl.close").status.status_code is not StatusCode.ERROR


async def test_a_retried_rows_rollout_spans_carry_their_attempt(spans: InMemorySpanExporter) -> None:
    calls = 0

    async def flaky(row: Mapping[str, Any]) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            return failed_line(row, RolloutFailure("resources", "server down", True), {})
        return ok_line(row, {**row, "reward": 1.0}, {})

    async def run(row: Mapping[str, Any]) -> dict[str, Any]:
        return await tracing.rollout(flaky, row, resources_url="http://127.0.0.1:9")

    lines = [line async for line in rollouts([_row()], run, retry_backoff_s=0.0)]
    assert [line["status"] for line in lines] == ["ok"]
    roots = _named(spans.get_finished_spans(), "rl.rollout")
    attempts = sorted((span.attributes or {})["rl.attempt"] for span in roots)
    assert attempts == [1, 2]


async def test_disabled_tracing_makes_no_spans(spans: InMemorySpanExporter) -> None:
    tracing.disable_tracing()
    line = await Agent(client_for(build_app(TallyEnv())), FakeModel(counter_policy("add"))).run(_row())
    assert line["reward"] == 1.0
    assert spans.get_finished_spans() == ()


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {key: value for key, value in os.environ.items() if key != tracing.ENV_SWITCH}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env={**environ, **env}
    )


ROLLOUT = """
    import asyncio, sys
    from gymhall import Environment, build_app, tool
    from gymhall.collection.agent import Agent
    from gymhall.models.fake import FakeModel
    from gymhall.models.fake_policy import counter_policy
    from gymhall.testing import client_for, make_row

    class Counter(Environment):
        async def seed_session(self, row):
            return {"n": 0}

        @tool
        async def add(self, state, by: int):
            state["n"] += by
            return {"value": state["n"]}

        async def verify(self, state, body):
            return {"reward": float(body.response.output_text == str(state["n"]))}

    line = asyncio.run(Agent(client_for(build_app(Counter())), FakeModel(counter_policy("add"))).run(make_row("go")))
    assert line["reward"] == 1.0, line
"""


@pytest.mark.slow
def test_tracing_off_imports_no_opentelemetry() -> None:
    # The agent's side (agent, model over HTTP, resources client) loads nothing of OpenTelemetry.
    agent_side = _python("""
        import sys
        import gymhall.collection.agent, gymhall.models.openai_responses, gymhall.client.resources, gymhall.tracing
        assert gymhall.tracing.tracer is None
        print(sorted(name for name in sys.modules if name.startswith("opentelemetry")))
    """)
    assert agent_side.returncode == 0, agent_side.stderr
    assert agent_side.stdout.strip() == "[]"
    # A whole rollout, server included: FastAPI imports OpenTelemetry's API itself; gymhall adds no module to it.
    whole = _python(
        "import sys, fastapi\nbefore = {m for m in sys.modules if m.startswith('opentelemetry')}\n"
        + textwrap.dedent(ROLLOUT)
        + "print(sorted({m for m in sys.modules if m.startswith('opentelemetry')} - before))\n"
    )
    assert whole.returncode == 0, whole.stderr
    assert whole.stdout.strip() == "[]"


@pytest.mark.slow
def test_the_environment_switch_turns_tracing_on() -> None:
    traced = _python(ROLLOUT, GYMHALL_OTEL="1", OTEL_TRACES_EXPORTER="console", OTEL_SERVICE_NAME="tally-test")
    assert traced.returncode == 0, traced.stderr
    for name in ('"rl.rollout"', '"rl.seed"', '"rl.model"', '"rl.tool"', '"rl.verify"', '"rl.close"', "tally-test"):
        assert name in traced.stdout, name
    bad = _python("import gymhall.tracing", GYMHALL_OTEL="maybe")
    assert bad.returncode != 0
    assert "GYMHALL_OTEL='maybe' is neither on nor off" in bad.stderr
