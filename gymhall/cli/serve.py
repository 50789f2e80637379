"""The `serve-model` and `serve-agent` commands: a model server or an agent server on one port."""

from __future__ import annotations

from typing import Annotated, Any

import typer

__all__ = ["serve_agent_command", "serve_model_command"]

SERVE_MODEL_EPILOG = (
    "[b]Examples:[/b]\n\n"
    "  gymhall serve-model --model openai:gpt-4.1-mini --port 9100\n"
    '  gymhall serve-model --model "http://gpu1:8000/v1,http://gpu2:8000/v1#Qwen/Qwen3-8B" --api chat --port 9100'
)
SERVE_AGENT_EPILOG = (
    "[b]Examples:[/b]\n\n"
    "  gymhall serve-agent --config examples/counter/configs/counter.yaml --model replay --port 9200\n"
    "  gymhall serve-agent --resources-url http://127.0.0.1:8000 --model http://127.0.0.1:9100/v1 --port 9200"
)


def _serve(app: Any, host: str, port: int, what: str) -> None:
    import uvicorn

    print(f"gymhall: serving the {what} on http://{host}:{port} (Ctrl-C to stop)", flush=True)
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning", timeout_graceful_shutdown=3)


def serve_model_command(
    model: Annotated[str, typer.Option("--model", "-m", help="openai:MODEL | http://HOST:PORT/v1[#MODEL] | replay")],
    api: Annotated[str, typer.Option(help="Dialect of a URL model: responses or chat.")] = "responses",
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 9100,
) -> None:
    """Serve a model as an OpenAI-compatible model server: POST /v1/responses and POST /v1/chat/completions.

    Chat-only backends are converted both ways, so any agent speaking either dialect can use them.
    """
    from gymhall.models.registry import model_from_spec
    from gymhall.models.server import build_model_app

    try:
        backend = model_from_spec(model, api=api)  # type: ignore[arg-type]
    except ValueError as exc:
        typer.echo(f"gymhall: error: {exc}", err=True)
        raise typer.Exit(2) from None
    _serve(build_model_app(backend), host, port, f"model server for {model.split('#')[-1]}")


def serve_agent_command(
    model: Annotated[str, typer.Option("--model", "-m", help="The policy: a model spec, as for collect.")],
    config: Annotated[
        list[str] | None, typer.Option("--config", "-c", help="Config naming the resources server (in-process).")
    ] = None,
    resources_url: Annotated[str | None, typer.Option(help="A running resources server instead.")] = None,
    name: Annotated[str | None, typer.Option(help="Resources server instance, when the configs hold several.")] = None,
    api: Annotated[str, typer.Option(help="Dialect of a URL model: responses or chat.")] = "responses",
    max_steps: Annotated[int, typer.Option(help="Model calls per rollout at most.")] = 16,
    timeout: Annotated[float, typer.Option(help="Deadline of one rollout, in seconds.")] = 600.0,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 9200,
) -> None:
    """Serve an agent (NeMo Gym compatible): POST /run runs one row end to end, POST /v1/responses the loop.

    `gymhall collect --agent-url` and NeMo Gym's collector can drive it.
    """
    from gymhall.exceptions import ConfigError
    from gymhall.models.registry import model_from_spec
    from gymhall.rollouts.agent import Agent
    from gymhall.rollouts.agent_server import build_agent_app
    from gymhall.rollouts.collection import resources_client

    try:
        resources = resources_client(configs=config or (), name=name, url=resources_url)
        policy = model_from_spec(model, api=api)  # type: ignore[arg-type]
    except (ConfigError, ValueError) as exc:
        typer.echo(f"gymhall: error: {exc}", err=True)
        raise typer.Exit(2) from None
    agent = Agent(resources, policy, max_steps=max_steps, timeout_s=timeout)
    _serve(build_agent_app(agent), host, port, "agent server")
