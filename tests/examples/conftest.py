"""Fixtures for the example tests: load an example's module from its file, run an example as a process."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SERVING = re.compile(r"gymhall: serving .+ on (http://127\.0\.0\.1:(\d+))")
START_TIMEOUT = 30.0  # seconds for a server process to print its URL
STOP_TIMEOUT = 10.0  # seconds for it to exit once asked


def load_module(path: Path, name: str) -> ModuleType:
    """Import the file `path` as module `name`, with its directory on sys.path during the import only.

    Modules the file imports from its own directory (e.g. `from wordle import WordleGame`) are
    removed from `sys.modules` afterwards, so examples with same-named helpers cannot collide.
    """
    directory = str(path.parent)
    before = set(sys.modules)
    sys.path.insert(0, directory)
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(directory)
        for added in set(sys.modules) - before - {name}:
            file = getattr(sys.modules[added], "__file__", None)
            if file is not None and Path(file).parent == path.parent:
                del sys.modules[added]
    return module


@pytest.fixture
def load_example() -> Callable[[str, str], ModuleType]:
    """`load_example("wordle", "server.py")`: the example file imported under a unique module name."""

    def load(example: str, filename: str) -> ModuleType:
        return load_module(EXAMPLES / example / filename, f"example_{example}_{Path(filename).stem}")

    return load


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ExampleProcess:
    """A running example server: its URL, and everything it printed so far (for failure messages)."""

    def __init__(self, process: subprocess.Popen[str], url: str, lines: list[str]) -> None:
        self.process = process
        self.url = url
        self.lines = lines

    @property
    def output(self) -> str:
        return "".join(self.lines)


@contextlib.contextmanager
def run_example(example: str, script: str, *args: str) -> Iterator[ExampleProcess]:
    """Run `python <script> --port <free port> *args` in the example's directory until the block ends.

    Waits (bounded) for the `gymhall: serving ... on http://127.0.0.1:PORT` line, then yields;
    on exit sends SIGTERM, and kills the process if it has not exited within STOP_TIMEOUT.
    """
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, script, "--port", str(port), *args],
        cwd=EXAMPLES / example,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    stdout = process.stdout
    lines: list[str] = []
    pending: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:  # drains the pipe for the whole run, so the server never blocks on a full pipe
        for line in stdout:
            lines.append(line)
            pending.put(line)
        pending.put(None)

    reader = threading.Thread(target=pump, name=f"example-{example}-stdout", daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        url = None
        while url is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{script} printed no URL within {START_TIMEOUT} s:\n{''.join(lines)}")
            try:
                line = pending.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise RuntimeError(f"{script} exited ({process.wait(STOP_TIMEOUT)}) before serving:\n{''.join(lines)}")
            found = SERVING.search(line)
            if found:
                assert int(found.group(2)) == port, line
                url = found.group(1)
        _wait_until_listening(port, deadline)
        yield ExampleProcess(process, url, lines)
    finally:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT)
        reader.join(STOP_TIMEOUT)
        stdout.close()


def _wait_until_listening(port: int, deadline: float) -> None:
    # The URL is printed just before uvicorn binds; poll the port rather than sleep.
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"Nothing listens on port {port} after {START_TIMEOUT} s.") from None
            time.sleep(0.05)


@pytest.fixture
def example_server() -> Callable[..., contextlib.AbstractContextManager[ExampleProcess]]:
    """`with example_server("wordle", "server.py") as server:` runs the example on a free port."""
    return run_example


def run_script(example: str, script: str, *args: str, timeout: float = 60.0, **env: str) -> str:
    """Run `python <script> *args` in the example's directory to completion; returns its stdout."""
    done = subprocess.run(
        [sys.executable, script, *args],
        cwd=EXAMPLES / example,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == 0, f"{script} exited with {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture
def example_script() -> Callable[..., str]:
    """`example_script("wordle", "rollout.py", "--url", url)`: run a script, return its stdout."""
    return run_script
