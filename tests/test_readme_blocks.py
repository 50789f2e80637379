"""Every python and bash block of README.md runs as written.

A block right after `<!-- readme-test: skip: REASON -->` is skipped for that reason (a real API key, the
test suite itself); the list stays short. The others run in a scratch directory that holds a copy of
`examples/`, with this interpreter's `gymhall` first on PATH:

- a python block that serves (`run_webserver()`, started as its `# python FILE --port 8000` comment
  says) is saved as FILE and started on a free loopback port; the blocks after it reach it there
  (`127.0.0.1:8000` is the only text rewritten). Every other python block runs as a script, and a
  `print(...)  # VALUE` line must print VALUE;
- a bash block runs in `bash` with `set -euo pipefail`, where `gymhall serve ...` runs until it says
  every server is ready and is then stopped as Ctrl-C stops it.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SKIP = re.compile(r"<!-- readme-test: skip: (?P<reason>.+?) -->")
SERVES = re.compile(r"run_webserver\(\)\s+# python (?P<file>\S+\.py) --port 8000")
PRINTS = re.compile(r"^\s*print\(.*\)\s+# (?P<value>\S+)$", re.M)
BLOCK_TIMEOUT_S = 300


@dataclass(frozen=True)
class Block:
    language: str
    code: str
    line: int  # where the fence opens, 1-based
    skip_reason: str | None

    @property
    def name(self) -> str:
        return f"README.md:{self.line} {self.code.splitlines()[0][:50]}"


def readme_blocks() -> list[Block]:
    lines = README.read_text().splitlines()
    blocks, index = [], 0
    while index < len(lines):
        fence = re.fullmatch(r"```(python|bash)", lines[index])
        if fence is None:
            index += 1
            continue
        end = lines.index("```", index + 1)
        before = next((line for line in reversed(lines[:index]) if line.strip()), "")
        skip = SKIP.fullmatch(before.strip())
        code = "\n".join(lines[index + 1 : end]) + "\n"
        blocks.append(Block(fence.group(1), code, index + 1, skip.group("reason") if skip else None))
        index = end + 1
    return blocks


def test_only_a_few_blocks_are_skipped_and_each_says_why() -> None:
    blocks = readme_blocks()
    skipped = [b for b in blocks if b.skip_reason is not None]
    assert len(blocks) >= 8
    assert len(skipped) <= 4, [b.name for b in skipped]  # install, the suite, a hosted model, an install into the env
    assert all(len(b.skip_reason or "") > 20 for b in skipped)
    # Every marker is attached to a block: a stray one would silently skip nothing (or the wrong block).
    assert README.read_text().count("<!-- readme-test:") == len(skipped)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "examples", tmp_path / "examples", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def _environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "OPENAI_API_KEY")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = str(home)
    return env


@pytest.fixture
def served(scratch: Path) -> Iterator[list[subprocess.Popen[str]]]:
    servers: list[subprocess.Popen[str]] = []
    yield servers
    for server in servers:
        server.terminate()
        server.wait(timeout=30)


def _start(block: Block, cwd: Path, servers: list[subprocess.Popen[str]]) -> int:
    match = SERVES.search(block.code)
    assert match is not None
    (cwd / match.group("file")).write_text(block.code)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, match.group("file"), "--port", str(port)],
        cwd=cwd,
        env=_environment(cwd),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    servers.append(server)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, f"{block.name} exited: {server.stderr.read() if server.stderr else ''}"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200:
                return port
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{block.name} did not answer GET / on port {port} within 60 s")


@pytest.mark.slow
def test_the_python_blocks_run(scratch: Path, served: list[subprocess.Popen[str]]) -> None:
    blocks = [b for b in readme_blocks() if b.language == "python" and b.skip_reason is None]
    port = None
    for number, block in enumerate(blocks):
        if SERVES.search(block.code):
            port = _start(block, scratch, served)
            continue
        code = block.code if port is None else block.code.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        script = scratch / f"readme_block_{number}.py"
        script.write_text(code)
        done = subprocess.run(
            [sys.executable, script.name],
            cwd=scratch,
            env=_environment(scratch),
            capture_output=True,
            text=True,
            timeout=BLOCK_TIMEOUT_S,
        )
        assert done.returncode == 0, f"{block.name}:\n{done.stdout[-2000:]}{done.stderr[-3000:]}"
        for expected in PRINTS.findall(block.code):
            assert expected in done.stdout.splitlines(), f"{block.name} printed {done.stdout!r}, not {expected}"


# `gymhall serve` runs until Ctrl-C: here it runs until every server is ready, then gets Ctrl-C (SIGINT).
BASH_PRELUDE = """\
set -euo pipefail
gymhall() {
    if [ "$1" != serve ]; then command gymhall "$@"; return; fi
    command gymhall "$@" > .serve.log 2>&1 &
    local pid=$! waited=0
    until grep -q "ready (Ctrl-C to stop)" .serve.log; do
        if ! kill -0 "$pid" 2>/dev/null || [ "$waited" -ge 600 ]; then
            cat .serve.log; kill "$pid" 2>/dev/null || true; return 1
        fi
        sleep 0.1; waited=$((waited + 1))
    done
    kill -INT "$pid"
    wait "$pid" || [ $? -eq 130 ]
    cat .serve.log
}
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "block",
    [b for b in readme_blocks() if b.language == "bash" and b.skip_reason is None],
    ids=lambda b: b.name,
)
def test_the_bash_blocks_run(block: Block, scratch: Path) -> None:
    done = subprocess.run(
        ["bash", "-c", BASH_PRELUDE + block.code],
        cwd=scratch,
        env=_environment(scratch),
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT_S,
    )
    assert done.returncode == 0, f"{block.name}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
