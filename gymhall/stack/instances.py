"""Agent and model server instances of a config, so `gymhall serve` runs a whole stack from YAML.

    policy_model:
      responses_api_models:
        openai_model:
          entrypoint: gymhall:ModelServer
          model: openai:gpt-4.1-mini          # or NeMo Gym's openai_base_url / openai_model / openai_api_key
    counter_agent:
      responses_api_agents:
        simple_agent:
          entrypoint: gymhall:AgentServer
          resources_server: {type: resources_servers, name: counter}
          model_server: {type: responses_api_models, name: policy_model}   # or model: replay
          max_steps: 8

`gymhall serve` gives every child the host and port of every instance it starts, so an agent finds
its resources and model servers by their instance names, as NeMo Gym's servers do.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from gymhall.config.settings import GymConfig, ServerInstance, ServerKind, local_url
from gymhall.exceptions import ConfigError

__all__ = ["AgentServer", "ModelServer"]


def _parse(argv: Sequence[str] | None, what: str) -> tuple[GymConfig, ServerInstance, argparse.Namespace]:
    from gymhall.config.loading import load_config

    parser = argparse.ArgumentParser(prog=f"gymhall run-server gymhall:{what}", description=f"Serve a {what}.")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--config", action="append", default=[], metavar="FILE")
    parser.add_argument("--name", required=True, help="the instance to serve")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    config = load_config(args.config, args.overrides)
    return config, config.server(args.name), args


def _url(config: GymConfig, instance: ServerInstance, key: str, kind: ServerKind) -> str:
    ref = instance.settings.get(key)
    if not isinstance(ref, Mapping) or "name" not in ref:
        raise ConfigError(f"{instance.key_path}.{key}: name the {kind.value} instance, as {{type: {kind}, name: X}}.")
    target = config.server(str(ref["name"]))
    port = target.settings.get("port")
    if not port:
        raise ConfigError(
            f"{instance.key_path}.{key} names {target.name!r}, which has no port. Start both with one "
            f"`gymhall serve` (it assigns ports), or set {target.key_path}.port."
        )
    return local_url(str(target.settings.get("host") or "127.0.0.1"), port)


def _serve(app: Any, instance: ServerInstance, args: argparse.Namespace) -> None:
    from gymhall.config.connections import ConnectionSettings
    from gymhall.config.settings import BaseServerConfig
    from gymhall.server.app import serve_app

    settings = {"host": args.host or instance.settings.get("host") or "127.0.0.1"}
    settings["port"] = args.port if args.port is not None else instance.settings.get("port")
    # The connection limits (request_timeout_s, max_connections, ...) every server's block may set.
    limits = {key: instance.settings[key] for key in ConnectionSettings.model_fields if key in instance.settings}
    serve_app(app, BaseServerConfig.model_validate({"name": instance.name, **limits, **settings}))


def model_spec(settings: Mapping[str, Any]) -> tuple[str, str | None]:
    """The model spec and API key of a model instance's settings (gymhall's `model`, or NeMo Gym's keys)."""
    for base_key, model_key, key_key in (
        ("openai_base_url", "openai_model", "openai_api_key"),
        ("base_url", "model", "api_key"),
    ):
        if settings.get(base_key):
            model = settings.get(model_key)
            spec = f"{settings[base_key]}#{model}" if model else str(settings[base_key])
            return spec, str(settings[key_key]) if settings.get(key_key) else None
    if settings.get("model"):
        return str(settings["model"]), str(settings["api_key"]) if settings.get("api_key") else None
    raise ConfigError(
        "A model server instance needs `model` (openai:MODEL, http://HOST:PORT/v1#MODEL, fake:counter; "
        "an agent also replay) or "
        "NeMo Gym's openai_base_url + openai_model."
    )


class ModelServer:
    """A model server instance: `POST /v1/responses` and `POST /v1/chat/completions` for the model its config names."""

    @classmethod
    def run_webserver(cls, argv: Sequence[str] | None = None) -> None:
        """Serve the instance `--name` of the `--config` files, once its model's key and URL are checked."""
        import asyncio

        from gymhall.models.server import build_model_app
        from gymhall.models.spec_strings import check_servable, model_from_spec

        _, instance, args = _parse(argv, "ModelServer")
        spec, api_key = model_spec(instance.settings)
        api = str(instance.settings.get("api", "responses"))
        key = "openai_api_key" if instance.settings.get("openai_base_url") else "api_key"
        try:
            check_servable(spec)
            backend = model_from_spec(spec, api_key=api_key, api=api)  # type: ignore[arg-type]
            asyncio.run(backend.preflight(key_source=f"OPENAI_API_KEY, or {instance.key_path}.{key} in the config"))
        except ValueError as exc:  # ConfigError too
            raise ConfigError(f"{instance.key_path}: {exc}") from None
        _serve(build_model_app(backend), instance, args)


class AgentServer:
    """An agent server instance: `POST /run` and `POST /v1/responses` over its resources and model servers."""

    @classmethod
    def run_webserver(cls, argv: Sequence[str] | None = None) -> None:
        """Serve the instance `--name` of the `--config` files."""
        from gymhall.client.resources import AsyncResourcesClient
        from gymhall.collection.agent import Agent
        from gymhall.collection.agent_server import build_agent_app
        from gymhall.models.spec_strings import model_from_spec

        config, instance, args = _parse(argv, "AgentServer")
        settings = instance.settings
        resources = AsyncResourcesClient(_url(config, instance, "resources_server", ServerKind.RESOURCES_SERVERS))
        if settings.get("model_server"):
            base = _url(config, instance, "model_server", ServerKind.RESPONSES_API_MODELS)
            model = model_from_spec(f"{base}/v1")
        else:
            spec, api_key = model_spec(settings)
            model = model_from_spec(spec, api_key=api_key)
        agent = Agent(
            resources,
            model,
            max_steps=int(settings.get("max_steps", 16)),
            timeout_s=float(settings.get("timeout_s", 600.0)),
        )
        _serve(build_agent_app(agent), instance, args)
