"""The serving commands: `serve` (every server of a config, each in its own process), `run-server` (one server
class, as `serve` starts it), `serve-model` and `serve-agent` (a model or agent server on one port)."""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from gymhall.cli.errors import fail
from gymhall.cli.options import (
    ConfigOption,
    EnvOption,
    NameOption,
    ResourcesUrlOption,
    environment_options,
    resources_client_for,
)

__all__ = ["app"]

app = typer.Typer()

SERVE_MODEL_EPILOG = (
    "[b]Examples:[/b]\n\n"
    "  gymhall serve-model --model openai:gpt-4.1-mini --port 9100\n"
    '  gymhall serve-model --model "http://gpu1:8000/v1,http://gpu2:8000/v1#Qwen/Qwen3-8B" --api chat --port 9100'
)
SERVE_AGENT_EPILOG = (
    "[b]Examples:[/b]\n\n"
    "  gymhall serve-agent --env weather --model replay --port 9200\n"
    "  gymhall serve-agent --config examples/counter/configs/counter.yaml --model replay --port 9200\n"
    "  gymhall serve-agent --resources-url http://127.0.0.1:8000 --model http://127.0.0.1:9100/v1 --port 9200"
)


def _is_override(token: str) -> bool:
    # A token with "=" is an override unless it names an existing file (paths rarely contain "=").
    if token.startswith(("+", "~")):
        return True
    return "=" in token and not Path(token).is_file()


_SERVE_HELP = (
    "Start every server instance of a config, each in its own process, until Ctrl-C.\n\n"
    "Servers without a port get a free one. Each server's output is shown prefixed with its instance "
    "name; once every server answers GET / with 200, a table of URLs is printed. "
    "Ctrl-C or SIGTERM stops them all."
)
_SERVE_EPILOG = (
    "[b]Examples:[/b]\n\n"
    "  gymhall serve weather                         a bundled environment (see gymhall envs)\n"
    "  gymhall serve examples/weather/configs/weather.yaml\n"
    "  gymhall serve a.yaml b.yaml --name my_env default_host=0.0.0.0\n"
    '  gymhall serve "+config_paths=\\[a.yaml,b.yaml]" my_env.resources_servers.my_impl.port=8000\n'
    "  gymhall serve --ray weather                   on the Ray cluster of this machine (ray start), else a local one\n"
    "  gymhall serve --ray 10.0.0.1:6379 weather ray.servers.weather_resources_server.replicas=4"
)


@app.command("serve", help=_SERVE_HELP, epilog=_SERVE_EPILOG)
def serve(
    args: Annotated[
        list[str],
        typer.Argument(
            metavar="ENV|CONFIG|KEY=VALUE",
            help="Bundled environment ids or config YAMLs, then overrides such as a.b.c=value, +key=value or ~key.",
            show_default=False,
        ),
    ],
    name: Annotated[
        list[str] | None,
        typer.Option("--name", "-n", help="Start only this server instance (repeatable). Default: all."),
    ] = None,
    ready_timeout: Annotated[
        float,
        typer.Option(help="Seconds to wait for every server to answer GET / with 200.", min=0.1),
    ] = 30.0,
    mcp: Annotated[
        bool,
        typer.Option(
            "--mcp", help="Also serve every resources server's tools over MCP at /mcp (expose_tools_over_mcp)."
        ),
    ] = False,
    ray: Annotated[
        bool,
        typer.Option(
            "--ray",
            help="Run every server as Ray actors on a cluster (ray extra), each instance's replicas behind one "
            "address that routes by session. An ADDRESS among the arguments (auto, HOST:PORT, ray://...) names "
            "the cluster; default: the config's ray.address, else auto. The config's `ray` block does the same.",
        ),
    ] = False,
    head_server: Annotated[
        bool,
        typer.Option(
            "--head-server/--no-head-server",
            help="Serve NeMo Gym's head server (head_server.port, default 11000), so NeMo Gym's collectors "
            "(ng_collect_rollouts, gym eval run --no-serve) find this stack's servers.",
        ),
    ] = True,
) -> None:
    """Load the config, plan one process per server instance and run them until stopped."""
    from gymhall.exceptions import ConfigError

    ray_given, args = _ray_address(args) if ray else (None, args)
    address: str | None = None  # the Ray cluster, when --ray or the config's `ray` asks for one
    served: list[Any] = []
    paths = [token for token in args if not _is_override(token)]
    overrides = [token for token in args if _is_override(token)]
    try:
        from gymhall.config.loading import load_config
        from gymhall.config.registry import resolve_config_arguments
        from gymhall.stack.head import plan_head
        from gymhall.stack.launcher import Launcher
        from gymhall.stack.plan import plan_servers

        paths = resolve_config_arguments(paths)

        if not paths and not any(o.lstrip("+").startswith("config_paths=") for o in overrides):
            raise ConfigError(
                "no config file given.\n  Fix: name one or more YAML files, e.g. "
                "gymhall serve examples/weather/configs/weather.yaml"
            )
        config = load_config(paths, overrides)
        if mcp:  # the config key on every resources server, as if each had said it
            overrides += [f"{s.key_path}.expose_tools_over_mcp=true" for s in config.of_kind("resources_servers")]
            config = load_config(paths, overrides)
        plans = plan_servers(config, overrides, names=name or ())
        head = plan_head(config, plans) if head_server else None
        if ray or "ray" in config.values:
            from gymhall.scale.served import ray_address, served_instances  # Ray itself loads only when it runs

            address = ray_address(config, ray_given) or ("auto" if ray else None)
            served = served_instances(plans, config) if address else []
    except ConfigError as exc:
        fail(str(exc))
    if address:
        raise typer.Exit(_serve_on_ray(served, address, ready_timeout, head, plans))
    code = Launcher(plans, ready_timeout=ready_timeout, head=head).run()
    raise typer.Exit(code)


def _ray_address(tokens: list[str]) -> tuple[str | None, list[str]]:
    """`--ray [ADDRESS]`: the argument that names a Ray cluster (auto, HOST:PORT, ray://...), and the others."""
    import re

    def is_address(token: str) -> bool:
        if _is_override(token) or Path(token).exists():
            return False
        return token == "auto" or token.startswith("ray://") or re.fullmatch(r"[\w.\-\[\]:]+:\d+", token) is not None

    found = [token for token in tokens if is_address(token)]
    if len(found) > 1:
        fail(f"--ray takes one cluster address, got {', '.join(found)}.\n  Fix: name one, e.g. --ray 10.0.0.1:6379")
    return (found[0] if found else None), [token for token in tokens if token not in found]


def _serve_on_ray(served: list[Any], address: str, ready_timeout: float, head: Any, plans: list[Any]) -> int:
    """`gymhall serve --ray`: the instances' replicas on the cluster, NeMo Gym's head server here."""
    import os
    import time

    from gymhall.exceptions import ConfigError, ServerStartError
    from gymhall.scale.serving import RayServing
    from gymhall.stack.head import StartedServer

    serving = RayServing(served, address=address, ready_timeout=ready_timeout)
    started = time.time()
    try:
        if head is not None:
            head.start()
        # The head lists the routers: one address per instance, as a collector reaches them.
        ready = (
            None if head is None else (lambda: head.mark_ready([StartedServer(p, os.getpid(), started) for p in plans]))
        )
        return serving.run(on_ready=ready)
    except (ConfigError, ServerStartError) as exc:  # a busy router or head port, Ray not installed
        fail(str(exc))
    finally:
        if head is not None:
            head.stop()


@app.command(
    "run-server",
    hidden=True,
    add_help_option=False,
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
def run_server(
    entry: Annotated[str, typer.Argument(metavar="MODULE:ATTR", help="The server class to serve.")],
    args: Annotated[
        list[str] | None,
        typer.Argument(metavar="[ARGS]...", help="Passed to its run_webserver (--config, --port, ...)."),
    ] = None,
) -> None:
    """Serve a SimpleResourcesServer or Environment subclass named MODULE:ATTR (used by `serve`).

    Example: gymhall run-server my_envs.counter:Counter --port 8000
    """
    import importlib
    import os

    from gymhall.exceptions import ConfigError

    module_name, _, attr_path = entry.partition(":")
    if not module_name or not attr_path:
        fail(f"{entry!r} is not MODULE:ATTR.\n  Fix: name a class, e.g. my_envs.counter:Counter")
    # Like `python -m`, resolve the module from the current directory first.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        target: object = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise  # a dependency of the module is missing: its traceback says which
        fail(
            f"cannot import module {module_name!r} of {entry} (looked in {os.getcwd()} and on PYTHONPATH).\n"
            "  Fix: run from the directory that contains it, or add that directory to PYTHONPATH"
        )
    for part in attr_path.split("."):
        if not hasattr(target, part):
            fail(f"module {module_name!r} has no attribute {attr_path!r}.\n  Fix: correct the entrypoint")
        target = getattr(target, part)
    run_webserver = getattr(target, "run_webserver", None)
    if not callable(run_webserver):
        fail(
            f"{entry} is not a server class.\n  Fix: name a SimpleResourcesServer or Environment "
            "subclass, e.g. my_envs.counter:Counter"
        )
    try:
        run_webserver(list(args or []))
    except ConfigError as exc:
        fail(str(exc))


def _bind(host: str, port: int, what: str) -> socket.socket:
    """The listening socket, bound before anything is announced; a busy port fails as `gymhall serve` does."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: a port in TIME_WAIT is usable
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        fail(
            f"the {what} cannot bind {host}:{port} ({exc.strerror or exc})\n"
            f"  Fix: stop whatever uses port {port}, set another port (--port <port>), or --port 0 to pick a free one"
        )
    return sock


def _serve(app: Any, sock: socket.socket, what: str) -> None:
    import uvicorn

    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"gymhall: serving the {what} on http://{shown}:{port} (Ctrl-C to stop)", flush=True)
    from gymhall.config.connections import ConnectionSettings
    from gymhall.server.connections import uvicorn_options

    # The default connection limits every gymhall server has: incomplete requests time out, connections capped.
    options = uvicorn_options(ConnectionSettings())
    config = uvicorn.Config(app, access_log=False, log_level="warning", timeout_graceful_shutdown=3, **options)
    uvicorn.Server(config).run(sockets=[sock])


_SERVE_MODEL_SPECS = "openai:MODEL | http://HOST:PORT/v1\\[#MODEL] | fake:counter | fake:echo"  # not replay: no row


@app.command("serve-model", epilog=SERVE_MODEL_EPILOG)
def serve_model_command(
    model: Annotated[str, typer.Option("--model", "-m", help=_SERVE_MODEL_SPECS)],
    api: Annotated[str, typer.Option(help="Dialect of a URL model: responses, chat or messages.")] = "responses",
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 9100,
) -> None:
    """Serve a model as an OpenAI-compatible model server: POST /v1/responses and POST /v1/chat/completions.

    Chat-only backends are converted both ways, so any agent speaking either dialect can use them.
    Before serving, the model's API key and URL are checked once (`replay` cannot be served: it needs each row).
    """
    import asyncio

    from gymhall.models.server import build_model_app
    from gymhall.models.spec_strings import check_servable, model_from_spec

    try:
        check_servable(model)
        backend = model_from_spec(model, api=api)  # type: ignore[arg-type]
    except ValueError as exc:
        fail(str(exc))
    sock = _bind(host, port, "model server")
    try:
        asyncio.run(backend.preflight())
    except ValueError as exc:  # ConfigError: no key, a refused key, an unreachable URL
        sock.close()
        fail(str(exc))
    _serve(build_model_app(backend), sock, f"model server for {model.split('#')[-1]}")


@app.command("serve-agent", epilog=SERVE_AGENT_EPILOG)
def serve_agent_command(
    model: Annotated[str, typer.Option("--model", "-m", help="The policy: a model spec, as for collect.")],
    env: EnvOption = None,
    config: ConfigOption = None,
    resources_url: ResourcesUrlOption = None,
    name: NameOption = None,
    api: Annotated[str, typer.Option(help="Dialect of a URL model: responses, chat or messages.")] = "responses",
    max_steps: Annotated[int, typer.Option(help="Model calls per rollout at most.")] = 16,
    timeout: Annotated[float, typer.Option(help="Deadline of one rollout, in seconds.")] = 600.0,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 9200,
) -> None:
    """Serve an agent (NeMo Gym compatible): POST /run runs one row end to end, POST /v1/responses the loop.

    `gymhall collect --agent-url` and NeMo Gym's collector can drive it.
    """
    from gymhall.collection.agent import Agent
    from gymhall.collection.agent_server import build_agent_app
    from gymhall.models.spec_strings import model_from_spec

    resources = resources_client_for(environment_options(env, config, resources_url, name))
    try:
        policy = model_from_spec(model, api=api)  # type: ignore[arg-type]
    except ValueError as exc:
        fail(str(exc))
    sock = _bind(host, port, "agent server")
    agent = Agent(resources, policy, max_steps=max_steps, timeout_s=timeout)
    _serve(build_agent_app(agent), sock, "agent server")
