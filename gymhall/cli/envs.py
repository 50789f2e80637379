"""The `envs` and `check` commands: Typer signatures over `gymhall.config.registry` and `gymhall.checks.conformance`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from gymhall.cli.errors import fail

__all__ = ["app"]

app = typer.Typer()

CHECK_EPILOG = (
    "[b]Examples:[/b]\n\n"
    "  gymhall check weather                                  a bundled environment, with its dataset\n"
    "  gymhall check --config configs/my_env.yaml --input data/example.jsonl\n"
    "  gymhall check --resources-url http://127.0.0.1:8000 --input data/example.jsonl   (a running server)"
)


@app.command("envs")
def envs_command() -> None:
    """List the bundled environments: id, domain, dataset rows and description."""
    from rich.console import Console
    from rich.table import Table

    from gymhall.config.registry import list_envs

    caption = "gymhall serve ID | gymhall collect --env ID | gymhall check ID"
    table = Table(title="bundled environments", caption=caption)
    for column in ("id", "domain", "rows", "description"):
        table.add_column(column, justify="right" if column == "rows" else "left", overflow="fold")
    for spec in list_envs():
        rows = sum(1 for line in spec.dataset.open("rb") if line.strip()) if spec.dataset.is_file() else 0
        table.add_row(spec.id, spec.domain, str(rows), spec.description)
    Console().print(table)


@app.command("check", epilog=CHECK_EPILOG)
def check_command(
    env: Annotated[str | None, typer.Argument(metavar="[ENV]", help="A bundled environment (gymhall envs).")] = None,
    config: Annotated[
        list[str] | None, typer.Option("--config", "-c", help="Config YAML naming the resources server (repeatable).")
    ] = None,
    input: Annotated[
        Path | None, typer.Option("--input", "-i", help="Rows with reference solutions. Default with ENV: its dataset.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Resources server instance, when the configs hold several.")] = None,
    resources_url: Annotated[str | None, typer.Option(help="Check a running resources server instead.")] = None,
    limit: Annotated[int | None, typer.Option(help="Use only the first N rows.")] = None,
) -> None:
    """Check an environment's contracts: isolation, unknown sessions, verify, close, strict schemas, solutions.

    Each check prints pass or fail with the reason (and the fix); the exit code is 1 when any failed.
    """
    from gymhall.checks.conformance import check_environment
    from gymhall.collection.datasets import read_rows
    from gymhall.collection.runs import resources_client, run_sync
    from gymhall.exceptions import ConfigError, DatasetError

    configs = list(config or ())
    try:
        if env is not None:
            from gymhall.config.registry import get_env

            spec = get_env(env)
            configs.insert(0, str(spec.config))
            input = input or spec.dataset
        if input is None:
            raise ConfigError("name the rows to check with: --input FILE (rows with reference_solution).")
        rows = read_rows(input, limit=limit)
        client = resources_client(configs=configs, name=name, url=resources_url)
    except (ConfigError, DatasetError) as exc:
        fail(str(exc))

    async def run() -> list[Any]:
        async with client:
            return await check_environment(client, rows)

    results = run_sync(run())
    for result in results:
        mark = "[green]pass[/green]" if result.passed else "[red]FAIL[/red]"
        fix = "" if result.passed or not result.fix else f"\n      fix: {result.fix}"
        _print(f"{mark}  {result.name}: {result.reason}{fix}")
    failed = sum(not r.passed for r in results)
    _print(f"{len(results) - failed} of {len(results)} checks passed" + (f", {failed} failed" if failed else ""))
    raise typer.Exit(1 if failed else 0)


def _print(text: str) -> None:
    from rich.console import Console

    Console(highlight=False, soft_wrap=True).print(text)
