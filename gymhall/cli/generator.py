"""The generator commands: `gymhall init`, `gymhall port` and `gymhall validate` (Typer signatures)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gymhall.cli.errors import fail

__all__ = ["app"]

app = typer.Typer()

INIT_EPILOG = (
    "[b]Examples:[/b]\n\n"
    "  gymhall init my_puzzle                           a number-guessing game in ./my_puzzle/\n"
    "  gymhall init my_form --archetype computer-use --dir envs --validate"
)
PORT_EPILOG = (
    "[b]Examples:[/b]\n\n"
    "  gymhall port examples/port/sliding_puzzle/sliding_puzzle.py "
    "--dataset examples/port/sliding_puzzle/data/example.jsonl --validate\n"
    "  gymhall port examples/port/ledger/ledger.py:Ledger --verify-method reconciled --out /tmp/ledger_env\n"
    "  gymhall port mypackage.games:Chess --reward-method score --exclude debug_dump"
)
VALIDATE_EPILOG = (
    "[b]Examples:[/b]\n\n"
    "  gymhall validate examples/port/sliding_puzzle/gymhall\n"
    "  gymhall validate ./my_puzzle --ready-timeout 60"
)


def _validate(project: Path, ready_timeout: float) -> None:
    from gymhall.generator.validation import validate_project

    typer.echo(f"gymhall: validating {project}")
    report = validate_project(project, echo=typer.echo, ready_timeout=ready_timeout)
    passed = sum(1 for r in report.results if r.status == "passed")
    typer.echo(f"gymhall: {passed} of {len(report.results)} gates passed")
    if not report.passed:
        raise typer.Exit(1)


def _written(project: Path, files: list[Path]) -> None:
    typer.echo(f"gymhall: wrote {len(files)} files in {project}:")
    for path in files:
        typer.echo(f"  {path.relative_to(project) if path.is_relative_to(project) else path}")


@app.command("init", epilog=INIT_EPILOG)
def init_command(
    name: Annotated[str, typer.Argument(help="The environment's name: a lowercase Python identifier.")],
    archetype: Annotated[
        str, typer.Option("--archetype", "-a", help="game | sandbox | computer-use: what the starter domain is.")
    ] = "game",
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Where to create the NAME/ folder. Default: the current directory.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace files that exist with other content.")] = False,
    validate: Annotated[bool, typer.Option(help="Run the validation gates on the new project.")] = False,
) -> None:
    """Create a new environment: a starter domain module of one archetype, served through `gymhall port`.

    NAME/NAME.py holds the domain logic (no gymhall import); beside it come the package NAME_gymhall/ (server.py,
    configs/NAME.yaml, data/NAME.jsonl with reference solutions), pyproject.toml registering it with gymhall
    (pip install -e . makes `--env NAME` work), tests, rollout.py, a Dockerfile and a README.
    """
    from gymhall.exceptions import PortError
    from gymhall.generator.scaffold import scaffold

    try:
        spec, project, files = scaffold(name, archetype=archetype, directory=directory, force=force)  # type: ignore[arg-type]
    except PortError as exc:
        fail(str(exc))
    _written(project, files)
    typer.echo(f"gymhall: next: cd {project} && pip install -e '.[test]' && pytest && gymhall validate .")
    typer.echo(f"gymhall: installed, it is `--env {spec.env_name}` (gymhall envs, collect, check, serve, reverify)")
    if validate:
        _validate(project, 30.0)


@app.command("port", epilog=PORT_EPILOG)
def port_command(
    target: Annotated[
        str, typer.Argument(metavar="MODULE[:CLASS]", help="A .py file or a dotted module, and optionally the class.")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="The project directory. Default: gymhall/ beside the module.")
    ] = None,
    dataset: Annotated[
        Path | None,
        typer.Option(help="A JSONL dataset with reference solutions to copy into <env>_gymhall/data/<env>.jsonl."),
    ] = None,
    verify_method: Annotated[
        str | None, typer.Option(help="The method (or property) saying the task is done: reward 1.0 when true.")
    ] = None,
    reward_method: Annotated[
        str | None, typer.Option(help="The method (or property) giving the reward, a number in [0, 1].")
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option(help="A public method not to serve as a tool (repeatable).")
    ] = None,
    domain: Annotated[str | None, typer.Option(help="The config's domain (default: from the archetype).")] = None,
    force: Annotated[bool, typer.Option(help="Replace files that exist with other content.")] = False,
    validate: Annotated[bool, typer.Option(help="Run the validation gates on the written project.")] = False,
) -> None:
    """Serve an existing domain class as an environment, without copying its logic.

    Each public method becomes a tool whose schema comes from its type hints; the constructor's parameters
    are read from each dataset row; verify calls the class's success or score method (is_solved(), score(), ...,
    or the one named with --verify-method / --reward-method). Writes the package <env>_gymhall/ (server.py,
    configs/<env>.yaml, data/<env>.jsonl), pyproject.toml (every dependency the code imports; registers the package,
    so an installed project is `--env <env>`), a Dockerfile (port 7860 by default), rollout.py, tests, README.
    """
    from gymhall.exceptions import DatasetError, PortError
    from gymhall.generator.port import port
    from gymhall.generator.project import dataset_path

    try:
        spec, project, files = port(
            target,
            out=out,
            dataset=dataset,
            verify_method=verify_method,
            reward_method=reward_method,
            exclude=exclude or (),
            domain=domain,
            force=force,
        )
    except (PortError, DatasetError) as exc:
        fail(str(exc))
    _written(project, files)
    tools = ", ".join(action.name for action in spec.actions)
    typer.echo(f"gymhall: {spec.class_name}: tools {tools}; reward {spec.grader.describe(spec.class_name)}")
    if dataset is None:
        typer.echo(
            f"gymhall: {dataset_path(spec)} holds one placeholder row: fill in its constructor arguments and "
            "reference_solution (tool_calls, answer), which the rollout and conformance gates replay."
        )
    if validate:
        _validate(project, 30.0)


@app.command("validate", epilog=VALIDATE_EPILOG)
def validate_command(
    directory: Annotated[
        Path, typer.Argument(help="The project: a directory with a package holding configs/ and data/, or with both.")
    ],
    ready_timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the server to answer GET /.", min=0.1)
    ] = 30.0,
) -> None:
    """Run the gates: import, server start, endpoint smoke, one replayed rollout, conformance checks.

    Each gate prints pass or fail with the reason and the fix; a gate whose prerequisite failed is skipped.
    Exits 1 unless every gate passes.
    """
    if not directory.is_dir():
        fail(f"{directory} is not a directory.\n  Fix: name a project written by gymhall port or gymhall init")
    _validate(directory.resolve(), ready_timeout)
