"""The `view` command: a local web page over rollouts files (`gymhall.view`), served until Ctrl-C."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gymhall.cli.errors import fail

__all__ = ["DEFAULT_PORT", "app"]

app = typer.Typer()

DEFAULT_PORT = 8777

VIEW_EPILOG = (
    "[b]Examples:[/b]\n\n"
    "  gymhall view runs/weather.jsonl\n"
    "  gymhall view runs/before.jsonl runs/after.jsonl       two runs compared task by task\n"
    "  gymhall view runs/math.jsonl --follow --no-open      while gymhall collect still writes it"
)


@app.command("view", epilog=VIEW_EPILOG)
def view_command(
    rollouts: Annotated[list[Path], typer.Argument(help="Rollouts JSONL files (gymhall's or NeMo Gym's).")],
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1; 0 picks a free one.")] = DEFAULT_PORT,
    open_browser: Annotated[bool, typer.Option("--open/--no-open", help="Open the page in the browser.")] = True,
    follow: Annotated[bool, typer.Option(help="Read lines appended while gymhall collect writes.")] = False,
    answer_key: Annotated[
        str | None,
        typer.Option(
            help="Field holding each rollout's answer, for majority@k (default: extracted_answer if present)."
        ),
    ] = None,
) -> None:
    """Look at rollouts in the browser: summary, reward histograms, tasks, trajectories; two files compared.

    Served on 127.0.0.1 only, until Ctrl-C. Large files are indexed once and trajectories read on demand.
    """
    from gymhall.exceptions import DatasetError
    from gymhall.view.app import HOST, ViewState, bind_socket, serve_view
    from gymhall.view.index import detect_answer_key

    for path in rollouts:
        if not path.is_file():
            fail(f"Rollouts file {path} does not exist. Fix: pass a JSONL written by gymhall collect.")
    try:
        sock = bind_socket(port)
    except OSError as exc:
        fail(f"Cannot listen on {HOST}:{port} ({exc.strerror}). Fix: pass another --port, or --port 0 for a free one.")
    try:
        state = ViewState(rollouts, answer_key=answer_key or detect_answer_key(rollouts[0]), follow=follow)
    except DatasetError as exc:
        sock.close()
        fail(str(exc))
    url = f"http://{HOST}:{sock.getsockname()[1]}/"
    typer.echo(f"gymhall view: {url} ({len(rollouts)} file{'s' if len(rollouts) > 1 else ''}; Ctrl-C stops it)")
    serve_view(state, sock, open_browser=open_browser)
