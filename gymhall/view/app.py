"""The viewer's Starlette app: the page, its static files, and the JSON it fetches; `serve_view` serves it.

Each file is indexed in a background thread once the app is built, so the page paints at once and shows
the progress of a large file; with `follow`, a thread reads what is appended every `poll_s` seconds.
Summaries are cached per index version. Served on 127.0.0.1 only: rollouts may hold private data.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import webbrowser
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gymhall.collection.fingerprints import input_fields
from gymhall.exceptions import DatasetError, GymhallError
from gymhall.view.compare import compare_runs
from gymhall.view.index import RolloutIndex
from gymhall.view.summary import run_summary
from gymhall.view.tasks import SORT_KEYS, TaskQuery, task_rows, task_table
from gymhall.view.trajectory import trajectory

__all__ = ["HOST", "Run", "ViewState", "bind_socket", "create_view_app", "serve_view"]

HOST = "127.0.0.1"
STATIC = Path(__file__).parent / "static"
_STATIC_TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css", ".js": "text/javascript"}
_MAX_LIMIT = 1000


@dataclass
class Run:
    """One file on the page: its index, whether its first read is done, the error that stopped it if any."""

    index: RolloutIndex
    ready: threading.Event = field(default_factory=threading.Event)
    error: str | None = None
    summary: tuple[int, dict[str, Any]] | None = None  # (index version, summary) of the last computation
    rows: tuple[int, list[dict[str, Any]]] | None = None  # (index version, task rows) likewise
    lock: threading.Lock = field(default_factory=threading.Lock)  # one computation at a time, not one per request

    def first_read(self) -> None:
        try:
            self.index.refresh()
            self.current_summary()  # ahead of the page's first request, which then finds it ready
        except (OSError, GymhallError) as exc:
            self.error = f"{self.index.path}: {exc}"
        finally:
            self.ready.set()

    def status(self, number: int) -> dict[str, Any]:
        index = self.index
        return {
            "run": number,
            "path": str(index.path),
            "name": index.path.name,
            "ready": self.ready.is_set(),
            "error": self.error,
            "bytes_read": index.bytes_read,
            "size": index.size,
            "rollouts": len(index.entries),
            "version": index.version,
        }

    def current_summary(self) -> dict[str, Any]:
        with self.lock:
            if self.summary is None or self.summary[0] != self.index.version:
                summary = run_summary(self.index)
                self.summary = (summary["version"], summary)
            return self.summary[1]

    def current_rows(self) -> tuple[int, list[dict[str, Any]]]:
        with self.lock:
            if self.rows is None or self.rows[0] != self.index.version:
                self.rows = task_rows(self.index)
            return self.rows


class ViewState:
    """The runs of one `gymhall view`: each file indexed in its own thread, kept fresh with `follow`."""

    def __init__(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        answer_key: str | None = None,
        follow: bool = False,
        poll_s: float = 1.0,
    ) -> None:
        if not paths:
            raise DatasetError("gymhall view needs at least one rollouts file. Fix: gymhall view RUN.jsonl")
        self.runs = [
            Run(RolloutIndex(path, answer_key=answer_key, inputs=input_fields(Path(path)) or ())) for path in paths
        ]
        self.follow = follow
        self.poll_s = poll_s
        self._stop = threading.Event()
        for number, run in enumerate(self.runs):
            threading.Thread(target=self._keep, args=(run,), name=f"gymhall-view-{number}", daemon=True).start()

    def _keep(self, run: Run) -> None:
        run.first_read()
        while self.follow and run.error is None and not self._stop.wait(self.poll_s):
            try:
                run.index.refresh()
            except (OSError, GymhallError) as exc:
                run.error = f"{run.index.path}: {exc}"

    def wait_ready(self, timeout: float) -> bool:
        """Wait until every file's first read is done; False if `timeout` seconds pass first."""
        deadline = time.monotonic() + timeout
        return all(run.ready.wait(max(0.0, deadline - time.monotonic())) for run in self.runs)

    def stop(self) -> None:
        """Stop following the files."""
        self._stop.set()


def _json(value: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS), status_code, media_type="application/json")


def _error(status_code: int, message: str) -> Response:
    return _json({"error": message}, status_code)


def _int(request: Request, name: str, default: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        if default is None:
            raise ValueError(f"the query parameter {name!r} is missing")
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"the query parameter {name}={raw!r} is not an integer") from None


def create_view_app(state: ViewState) -> Starlette:
    """The viewer's app over `state`'s runs (see the module docstring for its routes)."""

    def run_of(request: Request, name: str = "run") -> Run:
        number = _int(request, name, 0)
        if not 0 <= number < len(state.runs):
            raise ValueError(f"there is no run {number} (runs 0 to {len(state.runs) - 1})")
        run = state.runs[number]
        if not run.ready.is_set():
            raise LookupError("still indexing")
        if run.error is not None:
            raise LookupError(run.error)
        return run

    def endpoint(handler: Any) -> Any:
        async def wrapped(request: Request) -> Response:
            from starlette.concurrency import run_in_threadpool

            try:
                return _json(await run_in_threadpool(handler, request))
            except ValueError as exc:
                return _error(400, f"Bad request: {exc}.")
            except KeyError as exc:
                return _error(404, f"No rollout {exc} in that run.")
            except LookupError as exc:
                return _error(409, str(exc))

        return wrapped

    def runs(request: Request) -> Any:
        return {"follow": state.follow, "runs": [run.status(i) for i, run in enumerate(state.runs)]}

    def summary(request: Request) -> Any:
        return run_of(request).current_summary()

    def tasks(request: Request) -> Any:
        params = request.query_params
        sort = params.get("sort", "task")
        if sort not in SORT_KEYS:
            raise ValueError(f"sort={sort!r} is not one of {', '.join(SORT_KEYS)}")
        query = TaskQuery(
            sort=sort,
            descending=params.get("desc") == "1",
            failed_only=params.get("failed") == "1",
            zero_only=params.get("zero") == "1",
            text=params.get("q", ""),
            offset=max(0, _int(request, "offset", 0)),
            limit=min(_MAX_LIMIT, max(1, _int(request, "limit", 100))),
        )
        return task_table(run_of(request).current_rows(), query)

    def rollout(request: Request) -> Any:
        run = run_of(request)
        entry, line = run.index.read(_int(request, "id"))
        return trajectory(entry, line, inputs=run.index.inputs)

    def compare(request: Request) -> Any:
        before, after = run_of(request, "a"), run_of(request, "b")
        offset = max(0, _int(request, "offset", 0))
        limit = min(_MAX_LIMIT, max(1, _int(request, "limit", 100)))
        return compare_runs(
            before.index, after.index, text=request.query_params.get("q", ""), offset=offset, limit=limit
        )

    async def static(request: Request) -> Response:
        name = request.path_params.get("name", "index.html")
        path = STATIC / name
        if "/" in name or path.suffix not in _STATIC_TYPES or not path.is_file():
            return _error(404, f"No static file {name!r}.")
        return Response(path.read_bytes(), media_type=_STATIC_TYPES[path.suffix], headers={"cache-control": "no-cache"})

    routes = [
        Route("/", static),
        Route("/static/{name}", static),
        Route("/api/runs", endpoint(runs)),
        Route("/api/summary", endpoint(summary)),
        Route("/api/tasks", endpoint(tasks)),
        Route("/api/rollout", endpoint(rollout)),
        Route("/api/compare", endpoint(compare)),
    ]
    return Starlette(routes=routes)


def bind_socket(port: int) -> socket.socket:
    """A socket bound to 127.0.0.1:`port` (0 picks a free port); a port in use raises `OSError`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
        sock.listen(128)  # at once: the printed URL queues connections while uvicorn starts
    except OSError:
        sock.close()
        raise
    return sock


def serve_view(state: ViewState, sock: socket.socket, *, open_browser: bool = True) -> None:
    """Serve the viewer on `sock` until Ctrl-C; opens the page in the browser once it answers."""
    import uvicorn

    config = uvicorn.Config(create_view_app(state), lifespan="off", ws="none", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    url = f"http://{HOST}:{sock.getsockname()[1]}/"

    def opener() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.05)
        if server.started:
            webbrowser.open(url)

    if open_browser:
        threading.Thread(target=opener, name="gymhall-view-open", daemon=True).start()
    try:
        server.run(sockets=[sock])
    finally:
        state.stop()
