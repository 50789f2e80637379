"""The `export` command: rollout lines as NeMo Gym 0.7's / Harbor's ATIF trajectories (`gymhall.collection.atif`)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from gymhall.cli.errors import fail

__all__ = ["ExportFormat", "app"]

app = typer.Typer()

EXPORT_EPILOG = (
    "[b]Examples:[/b]\n\n"
    "  gymhall export runs/weather.jsonl --format atif --output-dir runs/weather_atif\n"
    "  gymhall reverify runs/weather_atif --env weather        grade the exported trajectories again"
)


class ExportFormat(StrEnum):
    """The formats `gymhall export` writes."""

    atif = "atif"


@app.command("export", epilog=EXPORT_EPILOG)
def export_command(
    rollouts: Annotated[Path, typer.Argument(help="A rollouts JSONL (gymhall's or NeMo Gym's).")],
    output_dir: Annotated[Path, typer.Option("--output-dir", "-o", help="A new folder to write; never overwritten.")],
    format: Annotated[ExportFormat, typer.Option("--format", help="The trajectory format.")] = ExportFormat.atif,
    session_id: Annotated[
        str | None, typer.Option(help="The trajectories' session_id (default: the rollouts file's stem).")
    ] = None,
    agent_version: Annotated[
        str | None, typer.Option(help="The agent's version in each file (default: gymhall's).")
    ] = None,
) -> None:
    """Write one ATIF-v1.7 file per ok rollout (`<task>-<rollout>.json`) and a manifest.jsonl of their SHA-256s.

    The folder appears whole or not at all (written beside it, then renamed). Failed rollouts have no
    trajectory and are skipped, each named. `gymhall reverify FOLDER` reads the folder back.
    """
    from gymhall.collection.atif import export_atif
    from gymhall.exceptions import DatasetError

    try:
        written, skipped = export_atif(rollouts, output_dir, session_id=session_id, agent_version=agent_version)
    except DatasetError as exc:
        fail(str(exc))
    for reason in skipped:
        typer.echo(f"skipped {reason}", err=True)
    typer.echo(f"wrote {written} {format.value} trajectories and manifest.jsonl to {output_dir}")
