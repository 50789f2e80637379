"""Start-up to the first rollout, and a resources server's memory after start-up.

- **first rollout**: `gymhall collect --env weather --model replay --limit 1` in a fresh process; the
  time from spawn until its first output line is on disk (a replay rollout of weather takes a few
  milliseconds, so this bounds from above when the first rollout began). Against `python -c pass`
  in the same run.
- **resources server RSS**: `gymhall serve weather` starts the weather resources server in its own
  process; once it answers `GET /`, that process's RSS (VmRSS of the server, not the launcher), and
  again after one episode (seed, a tool call, verify, close).

Each figure is the best of several runs (the machine is shared).

    python bench/startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

_GYMHALL = [sys.executable, "-m", "gymhall"]
_POLL_S = 0.001
_URL = re.compile(r"http://127\.0\.0\.1:\d+")


def time_to_first_line(workdir: Path) -> tuple[float, float]:
    """Seconds from spawning `collect` until its output file holds one whole line: wall, and the CPU the
    process had used by then (less disturbed than the wall time by others sharing the machine)."""
    out = workdir / "first.jsonl"
    out.unlink(missing_ok=True)
    cmd = [*_GYMHALL, "collect", "--env", "weather", "--model", "replay", "--limit", "1", "-o", str(out)]
    start = time.perf_counter()
    popen = subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    process = psutil.Process(popen.pid)
    try:
        while True:
            cpu = process.cpu_times()
            if out.exists() and out.read_bytes().endswith(b"\n"):
                return time.perf_counter() - start, cpu.user + cpu.system
            if popen.poll() is not None and not out.exists():
                raise RuntimeError(f"collect exited {popen.returncode} without writing {out}")
            time.sleep(_POLL_S)
    finally:
        popen.wait(30)


def bare_interpreter() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - start


def resources_server_rss() -> tuple[int, int]:
    """(RSS after start-up, RSS after one episode) of the weather resources server process, in bytes."""
    popen = subprocess.Popen(
        [*_GYMHALL, "serve", "weather"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert popen.stdout is not None
        url = None
        deadline = time.monotonic() + 60
        for line in popen.stdout:
            found = _URL.search(line)
            if found and "weather" in line:
                url = found.group(0)
            if url and "Ctrl-C" in line or time.monotonic() > deadline:
                break
        if url is None:
            raise RuntimeError("gymhall serve weather printed no URL")
        servers = psutil.Process(popen.pid).children(recursive=True)
        if len(servers) != 1:
            raise RuntimeError(f"expected one server process, found {len(servers)}")
        time.sleep(0.5)
        after_start = servers[0].memory_info().rss
        _episode(url)
        return after_start, servers[0].memory_info().rss
    finally:
        popen.send_signal(2)
        popen.wait(30)


def _episode(url: str) -> None:
    """One rollout's calls against the server, as the agent makes them: seed, tools, a tool call, verify, close."""
    from gymhall import ResourcesClient
    from gymhall.config.registry import get_env

    dataset = get_env("weather").directory / "data" / "weather.jsonl"
    row = json.loads(dataset.read_text().splitlines()[0])
    with ResourcesClient(url) as client:
        assert client.list_tools(), "GET /tools listed no tool"
        with client.seed_session(row) as session:
            session.call("get_weather", city=row["city"])
            response = {"id": "r", "created_at": 0, "model": "m", "object": "response", "tools": []}
            message = {"type": "message", "id": "m", "role": "assistant", "status": "completed"}
            message["content"] = [{"type": "output_text", "text": "Yes.", "annotations": []}]
            response |= {"output": [message], "parallel_tool_calls": False, "tool_choice": "auto"}
            session.verify(response)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        floor = min(bare_interpreter() for _ in range(args.runs))
        runs = [time_to_first_line(Path(tmp)) for _ in range(args.runs)]
        first, first_cpu = min(wall for wall, _ in runs), min(cpu for _, cpu in runs)
    rss = min(resources_server_rss() for _ in range(max(1, args.runs // 3)))
    print(f"load average {os.getloadavg()[0]:.2f}")
    print(f"python -c pass                                   {floor:6.3f} s")
    print(f"collect --env weather: first line on disk        {first:6.3f} s  (target <= 0.5 s)")
    print(f"                       its CPU by then           {first_cpu:6.3f} s")
    print(f"weather resources server RSS after start-up      {rss[0] / 1e6:6.1f} MB  (target <= 60 MB)")
    print(f"                              after one episode  {rss[1] / 1e6:6.1f} MB")


if __name__ == "__main__":
    main()
