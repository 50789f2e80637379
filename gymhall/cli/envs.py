"""The `envs` and `check` commands: Typer signatures over `gymhall.config.registry` and `gymhall.checks.conformance`."""

from __future__ import annotations

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

CHECK_EPILOG = (
    "[b]Examples:[/b]\n\n"
    "  gymhall check weather                                  a bundled environment, with its dataset\n"
    "  gymhall check --config configs/my_env.yaml --input data/example.jsonl\n"
    "  gymhall check --resources-url http://127.0.0.1:8000 --input data/example.jsonl   (a running server)\n"
    "  gymhall check -c my_env.yaml -i rows.jsonl --probes my_env.probes:probes   (your own reward probes)"
)


@app.command("envs")
def envs_command() -> None:
    """List the environments, bundled and installed: id, domain, dataset rows, description and source.

    Installed packages add theirs through the `gymhall.environments` entry point; a broken one is
    skipped with a warning line naming it.
    """
    from rich.console import Console
    from rich.table import Table

    from gymhall.config.registry import list_envs, registry_problems

    caption = "gymhall serve ID | gymhall collect --env ID | gymhall check ID"
    table = Table(title="environments", caption=caption)
    for column in ("id", "domain", "rows", "description", "source"):
        table.add_column(column, justify="right" if column == "rows" else "left", overflow="fold")
    for spec in list_envs():
        rows = sum(1 for line in spec.dataset.open("rb") if line.strip()) if spec.dataset.is_file() else 0
        table.add_row(spec.id, spec.domain, str(rows), spec.description, spec.source)
    Console().print(table)
    for problem in registry_problems():
        typer.echo(f"warning: {problem}", err=True)


@app.command("check", epilog=CHECK_EPILOG)
def check_command(
    env_argument: Annotated[
        str | None, typer.Argument(metavar="[ENV]", help="A bundled environment (gymhall envs); same as --env.")
    ] = None,
    env: EnvOption = None,
    config: ConfigOption = None,
    input: Annotated[
        Path | None, typer.Option("--input", "-i", help="Rows with reference solutions. Default with ENV: its dataset.")
    ] = None,
    name: NameOption = None,
    resources_url: ResourcesUrlOption = None,
    limit: Annotated[int | None, typer.Option(help="Use only the first N rows.")] = None,
    probes: Annotated[
        str | None,
        typer.Option(
            metavar="MODULE:FUNCTION",
            help="The environment's own reward probes (gymhall.Probe). Default: its config's `probes`.",
        ),
    ] = None,
) -> None:
    """Check an environment's contracts: isolation, unknown sessions, verify, close, strict schemas, solutions.

    Each check prints pass or fail with the reason (and the fix); the exit code is 1 when any failed.
    """
    from gymhall.checks.conformance import check_environment
    from gymhall.checks.probes import load_probe_function
    from gymhall.collection.datasets import read_rows
    from gymhall.collection.runs import run_sync
    from gymhall.exceptions import ConfigError, DatasetError

    if env_argument is not None and env is not None and env_argument != env:
        fail(f"two environments given: {env_argument!r} and --env {env!r}.\n  Fix: name one.")
    environment = environment_options(env or env_argument, config, resources_url, name)
    input = input or environment.dataset
    try:
        if input is None:
            raise ConfigError("name the rows to check with: --input FILE (rows with reference_solution).")
        rows = read_rows(input, limit=limit)
        spec, base_dir = (probes, None) if probes else _configured_probes(environment.configs, environment.name)
        own = load_probe_function(spec, base_dir) if spec else None
    except (ConfigError, DatasetError) as exc:
        fail(str(exc))
    client = resources_client_for(environment)

    async def run() -> list[Any]:
        async with client:
            return await check_environment(client, rows, probes=own)

    results = run_sync(run())
    for result in results:
        mark = "[green]pass[/green]" if result.passed else "[red]FAIL[/red]"
        fix = "" if result.passed or not result.fix else f"\n      fix: {result.fix}"
        _print(f"{mark}  {result.name}: {result.reason}{fix}")
        for detail in result.details:
            _print(f"      {detail}")
    failed = sum(not r.passed for r in results)
    _print(f"{len(results) - failed} of {len(results)} checks passed" + (f", {failed} failed" if failed else ""))
    raise typer.Exit(1 if failed else 0)


def _configured_probes(configs: list[str], name: str | None) -> tuple[str | None, Path | None]:
    """The `probes` a config's resources server names, and the folder a file in it is relative to."""
    if not configs:
        return None, None
    from gymhall.config.loading import load_config

    instance = load_config(configs).resources_server(name)
    spec = instance.settings.get("probes")
    return (str(spec), instance.base_dir) if spec else (None, None)


def _print(text: str) -> None:
    from rich.console import Console

    Console(highlight=False, soft_wrap=True).print(text)
