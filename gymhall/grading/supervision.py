"""The server's side of one sandboxed run: the child's pipes, the supervisor's frames, and clean-up.

The supervisor (`gymhall.grading.bootstrap`, inside the sandbox) answers each input with a frame: a
JSON header line (`exit`, `killed`, `duration`, and the `stdout` and `stderr` lengths) and the two
outputs. `Frames` splits the stream it writes into those frames; `input_frames` writes the inputs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from gymhall.grading.isolation import Cgroup

__all__ = ["Frames", "Protocol", "feed", "input_frames", "kill", "read_capped", "remove_tree", "write_files"]

Frame = tuple[dict[str, Any], bytes, bytes]


def input_frames(inputs: Sequence[bytes]) -> bytes:
    """The inputs as the children read them: `<length>\\n<bytes>` each."""
    return b"".join(b"%d\n" % len(data) + data for data in inputs)


class Frames:
    """Splits the supervisor's stdout into frames, calling `on_frame(header, stdout, stderr)` for each."""

    def __init__(self, on_frame: Callable[[dict[str, Any], bytes, bytes], None]) -> None:
        self._buffer = bytearray()
        self._on_frame = on_frame

    def feed(self, chunk: bytes) -> None:
        self._buffer += chunk
        while (newline := self._buffer.find(b"\n")) >= 0:
            header = orjson.loads(self._buffer[:newline])
            start = newline + 1
            middle = start + int(header["stdout"])
            end = middle + int(header["stderr"])
            if len(self._buffer) < end:
                return
            stdout, stderr = bytes(self._buffer[start:middle]), bytes(self._buffer[middle:end])
            del self._buffer[:end]
            self._on_frame(header, stdout, stderr)


class Protocol(asyncio.subprocess.SubprocessStreamProtocol):
    """The stream protocol of `asyncio.create_subprocess_exec`, plus an event set when the process exits."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=64 * 1024, loop=loop)
        self.exited = asyncio.Event()

    def process_exited(self) -> None:
        super().process_exited()
        self.exited.set()


async def read_capped(
    stream: asyncio.StreamReader | None,
    cap: int,
    overflow: asyncio.Event,
    on_chunk: Callable[[bytes], None] | None = None,
) -> bytes:
    """Read `stream` to its end, at most `cap` bytes (more sets `overflow`), passing each chunk to `on_chunk`."""
    if stream is None:
        return b""
    chunks: list[bytes] = []
    size = 0
    while chunk := await stream.read(64 * 1024):
        if size + len(chunk) > cap:
            chunk = chunk[: cap - size]
            overflow.set()
        chunks.append(chunk)
        size += len(chunk)
        if on_chunk is not None:
            on_chunk(chunk)
        if overflow.is_set():
            break
    return b"".join(chunks)


async def feed(process: asyncio.subprocess.Process, data: bytes) -> None:
    """Write `data` to the process's stdin and close it (a process that stops reading is not an error)."""
    assert process.stdin is not None
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        if data:
            process.stdin.write(data)
            await process.stdin.drain()
        process.stdin.close()
        await process.stdin.wait_closed()


def write_files(workdir: str, code: str, files: Mapping[str, str | bytes]) -> None:
    """`code` as main.py and `files` beside it; a name outside `workdir` is a ValueError."""
    base = Path(workdir)
    for name, content in {**files, "main.py": code}.items():
        target = (base / name).resolve()
        if base.resolve() not in target.parents:
            raise ValueError(f"Sandbox file {name!r} is outside the working directory; use a relative path.")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode() if isinstance(content, str) else content)


def remove_tree(path: str) -> None:
    """Remove a run's working directory, whatever modes the code left on its files."""

    def retry_writable(function: Any, failed: str, _: Any) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(failed), 0o700)
            os.chmod(failed, 0o700)
            function(failed)

    shutil.rmtree(path, onerror=retry_writable)
    if os.path.exists(path):
        shutil.rmtree(path, ignore_errors=True)


def kill(process: asyncio.subprocess.Process, cgroup: Cgroup | None) -> None:
    """SIGKILL the run's process group, and every member of its cgroup."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    if cgroup is not None:
        cgroup.kill()
