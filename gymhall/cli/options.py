"""The options that name an environment, shared by every command that takes one, and their one set of errors.

`--env ENV` (a bundled environment), `--config/-c FILE` (repeatable; built in this process),
`--resources-url URL` (a running resources server) and `--name NAME` (the instance, when the configs
hold several). `environment_options` reads them; `resources_client_for` turns them into a client.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gymhall.cli.errors import fail

if TYPE_CHECKING:
    from collections.abc import Sequence

    from gymhall.client.resources import AsyncResourcesClient

__all__ = [
    "ConfigOption",
    "EnvOption",
    "EnvironmentOptions",
    "NameOption",
    "ResourcesUrlOption",
    "environment_options",
    "missing_environment",
    "resources_client_for",
]

EnvOption = Annotated[
    str | None, typer.Option("--env", "-e", help="A bundled environment (see `gymhall envs`), run in-process.")
]
ConfigOption = Annotated[
    list[str] | None,
    typer.Option("--config", "-c", help="Config YAML naming the resources server, run in-process (repeatable)."),
]
ResourcesUrlOption = Annotated[
    str | None,
    typer.Option("--resources-url", help="A running resources server (`gymhall serve`) instead of in-process."),
]
NameOption = Annotated[
    str | None, typer.Option("--name", help="Resources server instance, when the configs hold several.")
]


def missing_environment(*, agent_url: bool = False) -> str:
    """The error of a command given no environment; `agent_url` when the command also takes `--agent-url`."""
    choices = (
        "--env ENV (a bundled one: `gymhall envs`), --config FILE (built in this process)"
        + (", " if agent_url else " or ")
        + "--resources-url URL (a running server: `gymhall serve`)"
        + (" or --agent-url URL (a NeMo Gym agent)" if agent_url else "")
    )
    return f"no environment given.\n  Fix: name one with {choices}."


@dataclass(frozen=True)
class EnvironmentOptions:
    """The environment a command was given: configs to build in-process, or the URL of a running server."""

    configs: list[str]
    """Config files; a bundled environment's config comes first."""
    resources_url: str | None
    name: str | None
    env: str | None = None
    """The bundled environment's id, when `--env` named one."""
    dataset: Path | None = None
    """The bundled environment's dataset, when `--env` named one."""


def environment_options(
    env: str | None,
    config: Sequence[str] | None,
    resources_url: str | None,
    name: str | None,
    *,
    agent_url: str | None = None,
    takes_agent_url: bool = False,
) -> EnvironmentOptions:
    """The environment the options name; stops the command (exit 2) when they name none or an unknown one."""
    from gymhall.config.registry import get_env
    from gymhall.exceptions import ConfigError

    configs = list(config or ())
    dataset = None
    if env is not None:
        try:
            spec = get_env(env)
        except ConfigError as exc:
            fail(str(exc))
        configs.insert(0, str(spec.config))
        dataset = spec.dataset
    if not configs and not resources_url and not agent_url:
        fail(missing_environment(agent_url=takes_agent_url))
    return EnvironmentOptions(configs, resources_url, name, env, dataset)


def resources_client_for(
    options: EnvironmentOptions, *, overrides: Sequence[str] = (), max_connections: int = 256
) -> AsyncResourcesClient:
    """A client of the environment `options` name (built in this process, or at its URL); exit 2 on a bad config."""
    from gymhall.collection.runs import resources_client
    from gymhall.exceptions import ConfigError

    try:
        return resources_client(
            configs=options.configs,
            overrides=overrides,
            name=options.name,
            url=options.resources_url,
            max_connections=max_connections,
        )
    except ConfigError as exc:
        fail(str(exc))
