"""`gymhall serve` and `Launcher`: real server processes on loopback, started, checked and stopped."""

from __future__ import annotations

import io
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from gymhall.config.loading import load_config
from gymhall.exceptions import ServerStartError
from gymhall.stack.launcher import Launcher, render_table
from gymhall.stack.plan import ServerPlan, plan_servers

URL_LINE = re.compile(r"^(\S+)\s.*?(http://127\.0\.0\.1:\d+)\s*$")

ECHO_ENV = '''
from gymhall import Environment, tool


class Echo(Environment):
    domain = "other"

    async def seed_session(self, row):
        return {"prefix": row.model_extra.get("prefix", "")}

    @tool
    async def echo(self, state, text: str) -> dict[str, str]:
        """Repeat the text after the session's prefix."""
        return {"text": state["prefix"] + text}

    async def verify(self, state, body):
        return 1.0
'''

# Answers GET / with 200 but ignores SIGTERM, so only SIGKILL stops it.
STUBBORN_SERVER = """
import argparse, http.server, signal

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int)
parser.add_argument("--host")
args, _ = parser.parse_known_args()
signal.signal(signal.SIGTERM, signal.SIG_IGN)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


print("stubborn server up", flush=True)
http.server.HTTPServer((args.host, args.port), Handler).serve_forever()
"""


class _Serve:
    """A `python -m gymhall serve` subprocess whose output lines are read by a thread."""

    def __init__(self, args: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gymhall", "serve", *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # so the test can signal its group, as a terminal would
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def read_until(self, marker: str, timeout: float = 30.0) -> list[str]:
        """Lines up to the first containing `marker`; fails at EOF or after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        start = len(self.lines)
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"no {marker!r} within {timeout} s; output:\n" + "\n".join(self.lines))
            if line is None:
                pytest.fail(f"serve exited before {marker!r}; output:\n" + "\n".join(self.lines))
            self.lines.append(line)
            if marker in line:
                return self.lines[start:]

    def drain(self, timeout: float = 5.0) -> str:
        """The rest of the output, up to EOF."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
        return "\n".join(self.lines)

    def children(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=True)

    def kill_all(self) -> None:
        """Cleanup after a failed test: leave no process behind."""
        with_children = []
        try:
            with_children = self.children()
        except psutil.NoSuchProcess:
            pass
        for proc in [*with_children]:
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=5)


@pytest.fixture
def serve_processes() -> Iterator[list[_Serve]]:
    started: list[_Serve] = []
    yield started
    for serve in started:
        serve.kill_all()


def _urls(lines: list[str]) -> dict[str, str]:
    return {m.group(1): m.group(2) for line in lines if (m := URL_LINE.match(line))}


def _no_process_left(processes: list[psutil.Process], timeout: float = 2.0) -> bool:
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    return not alive


# -- the table `gymhall serve` prints (no processes) ---------------------------------------------------


def test_render_table_aligns_columns_and_keeps_urls_whole(tmp_path: Path) -> None:
    plans = [
        ServerPlan("weather", "resources_servers", "127.0.0.1", 8001, ["python"], tmp_path, "app.py"),
        ServerPlan("a_much_longer_name", "responses_api_agents", "0.0.0.0", 65535, ["python"], tmp_path, "x:Y"),
    ]
    lines = render_table(plans).splitlines()
    assert lines[0].split() == ["instance", "kind", "URL"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert lines[2].split() == ["weather", "resources_servers", "http://127.0.0.1:8001"]
    assert lines[3].split() == ["a_much_longer_name", "responses_api_agents", "http://127.0.0.1:65535"]
    # Columns line up, and the rows are what `gymhall serve`'s readers parse.
    assert len({line.index("http") for line in lines[2:]}) == 1
    assert lines[0].index("URL") == lines[2].index("http")
    assert _urls(lines) == {"weather": "http://127.0.0.1:8001", "a_much_longer_name": "http://127.0.0.1:65535"}
    assert all(line == line.rstrip() and line.isascii() for line in lines)


# -- gymhall serve, end to end ------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_serve_two_weather_servers_round_trip_and_stop(
    weather_dir: Path,
    resources_block: Callable[..., str],
    write: Callable[[Path, str], Path],
    tmp_path: Path,
    serve_processes: list[_Serve],
    signum: signal.Signals,
) -> None:
    config_path = write(
        tmp_path / "weather.yaml",
        resources_block("weather_one", "weather/app.py") + resources_block("weather_two", "weather/app.py"),
    )
    serve = _Serve([str(config_path)], cwd=tmp_path)
    serve_processes.append(serve)
    lines = serve.read_until("ready", timeout=30)
    assert "gymhall: all 2 servers ready (Ctrl-C to stop)" in lines[-1]
    urls = _urls(lines)
    assert set(urls) == {"weather_one", "weather_two"}
    assert urls["weather_one"] != urls["weather_two"]
    assert any(line.startswith("(weather_one) gymhall: serving weather_one on ") for line in lines)

    for name, url in urls.items():
        with httpx.Client(base_url=url, trust_env=False, timeout=5) as client:
            assert client.get("/").status_code == 200
            assert client.post("/seed_session", json={}).status_code == 200
            answer = client.post("/get_weather", json={"city": name})
            assert answer.status_code == 200, answer.text
            assert answer.json() == {"city": name, "weather_description": f"The weather in {name} is cold."}

    children = serve.children()
    assert len(children) == 2
    started = time.monotonic()
    if signum == signal.SIGINT:
        os.killpg(serve.process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    else:
        serve.process.send_signal(signal.SIGTERM)
    assert serve.process.wait(timeout=5) == 0
    assert time.monotonic() - started < 5
    assert _no_process_left(children)
    output = serve.drain()
    assert "all servers stopped" in output
    assert "Traceback" not in output


@pytest.mark.slow
def test_serve_reports_a_server_crashing_at_import(
    weather_dir: Path,
    resources_block: Callable[..., str],
    write: Callable[[Path, str], Path],
    tmp_path: Path,
    serve_processes: list[_Serve],
) -> None:
    write(tmp_path / "broken.py", "import sys\nraise RuntimeError('broken env: no API key configured')\n")
    config_path = write(
        tmp_path / "c.yaml",
        resources_block("weather", "weather/app.py") + resources_block("broken_env", "broken.py"),
    )
    serve = _Serve([str(config_path), "--ready-timeout", "20"], cwd=tmp_path)
    serve_processes.append(serve)
    started = time.monotonic()
    code = serve.process.wait(timeout=25)
    output = serve.drain()
    assert code == 1
    assert time.monotonic() - started < 20
    assert "gymhall: error: server 'broken_env' (broken.py) exited with code 1 before it was ready" in output
    assert "(broken_env) RuntimeError: broken env: no API key configured" in output
    assert "    RuntimeError: broken env: no API key configured" in output  # repeated in the report
    assert "Fix: correct the error in its output" in output
    assert "ready (Ctrl-C" not in output


@pytest.mark.slow
def test_serve_children_read_env_yaml_of_the_launch_directory(
    weather_dir: Path,
    resources_block: Callable[..., str],
    write: Callable[[Path, str], Path],
    tmp_path: Path,
    serve_processes: list[_Serve],
) -> None:
    # the child runs in tmp_path/weather, which has no env.yaml
    write(tmp_path / "env.yaml", "policy_api_key: sk-test-secret-123\n")
    config_path = write(
        tmp_path / "c.yaml",
        resources_block("weather", "weather/app.py", session_secret="${policy_api_key}"),  # a declared secret key
    )
    serve = _Serve(["+config_paths=[c.yaml]"], cwd=tmp_path)
    serve_processes.append(serve)
    urls = _urls(serve.read_until("ready", timeout=30))
    assert httpx.get(urls["weather"] + "/", trust_env=False, timeout=5).status_code == 200
    assert config_path.is_file()
    serve.process.send_signal(signal.SIGTERM)
    assert serve.process.wait(timeout=5) == 0
    assert "sk-test-secret-123" not in serve.drain()


@pytest.mark.slow
def test_serve_module_attr_environment(
    resources_block: Callable[..., str],
    write: Callable[[Path, str], Path],
    tmp_path: Path,
    serve_processes: list[_Serve],
) -> None:
    module_dir = tmp_path / "mods"
    module_dir.mkdir()
    write(module_dir / "echo_env.py", ECHO_ENV)
    config_path = write(tmp_path / "c.yaml", resources_block("echo", "echo_env:Echo", "other"))
    python_path = [str(module_dir), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(python_path)}
    serve = _Serve([str(config_path)], cwd=tmp_path, env=env)
    serve_processes.append(serve)
    urls = _urls(serve.read_until("ready", timeout=30))
    with httpx.Client(base_url=urls["echo"], trust_env=False, timeout=5) as client:
        assert client.get("/").status_code == 200
        assert client.post("/seed_session", json={"prefix": "> "}).status_code == 200
        answer = client.post("/echo", json={"text": "hi"})
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"text": "> hi"}
    children = serve.children()
    serve.process.send_signal(signal.SIGTERM)
    assert serve.process.wait(timeout=5) == 0
    assert _no_process_left(children)


def test_serve_mcp_exposes_every_resources_servers_tools_at_slash_mcp(
    tmp_path: Path, serve_processes: list[_Serve]
) -> None:
    serve = _Serve(["weather", "--mcp"], cwd=tmp_path)
    serve_processes.append(serve)
    urls = _urls(serve.read_until("ready", timeout=30))
    row = {"responses_create_params": {"input": "Weather in Paris?"}, "city": "Paris"}
    with httpx.Client(base_url=urls["weather_resources_server"], trust_env=False, timeout=5) as client:
        seeded = client.post("/seed_session", json=row)
        assert seeded.status_code == 200, seeded.text
        # NeMo Gym 0.7's seed metadata: where the MCP server is and the session token to send it.
        mcp = seeded.json()["mcp"]
        assert mcp["url_path"] == "/mcp" and "X-NeMo-Gym-Session-Token" in mcp["headers"]
    children = serve.children()
    serve.process.send_signal(signal.SIGTERM)
    assert serve.process.wait(timeout=5) == 0
    assert _no_process_left(children)


# -- Launcher as a library ----------------------------------------------------------------------------


@pytest.mark.slow
def test_launcher_context_manager_starts_and_stops(
    weather_dir: Path, resources_block: Callable[..., str], write: Callable[[Path, str], Path], tmp_path: Path
) -> None:
    config_path = write(tmp_path / "c.yaml", resources_block("weather", "weather/app.py"))
    out = io.StringIO()
    with Launcher(plan_servers(load_config([config_path])), out=out, err=out) as launcher:
        url = launcher.urls["weather"]
        assert httpx.get(url + "/", trust_env=False, timeout=5).status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/", trust_env=False, timeout=2)
    assert "(weather) gymhall: serving weather on" in out.getvalue()


@pytest.mark.slow
def test_launcher_reports_a_server_that_never_gets_ready(
    resources_block: Callable[..., str], write: Callable[[Path, str], Path], tmp_path: Path
) -> None:
    write(tmp_path / "silent.py", "import time\nprint('warming up', flush=True)\ntime.sleep(60)\n")
    config_path = write(tmp_path / "c.yaml", resources_block("silent", "silent.py", "other"))
    out = io.StringIO()
    launcher = Launcher(plan_servers(load_config([config_path])), ready_timeout=1.0, out=out, err=out)
    started = time.monotonic()
    with pytest.raises(ServerStartError) as caught:
        launcher.start()
    assert time.monotonic() - started < 6  # 1 s timeout + at most the stop grace
    assert caught.value.server == "silent"
    assert "did not answer GET" in str(caught.value)
    assert "--ready-timeout" in caught.value.fix
    assert caught.value.output == ["warming up"]


@pytest.mark.slow
def test_launcher_kills_a_server_that_ignores_sigterm(
    resources_block: Callable[..., str], write: Callable[[Path, str], Path], tmp_path: Path
) -> None:
    script = write(tmp_path / "stubborn.py", STUBBORN_SERVER)
    config_path = write(tmp_path / "c.yaml", resources_block("stubborn", "stubborn.py", "other"))
    out = io.StringIO()
    with Launcher(plan_servers(load_config([config_path])), stop_grace=0.5, out=out, err=out):
        (server,) = [p for p in psutil.process_iter(["cmdline"]) if str(script) in (p.info["cmdline"] or [])]
        started = time.monotonic()
    assert time.monotonic() - started < 3
    assert _no_process_left([server])
    assert "did not stop within 0.5 s; killing it" in out.getvalue()


@pytest.mark.slow
def test_launcher_run_fails_when_a_server_dies_while_running(
    weather_dir: Path, resources_block: Callable[..., str], write: Callable[[Path, str], Path], tmp_path: Path
) -> None:
    # Serves normally, then exits with code 3 a moment after start-up.
    write(
        tmp_path / "weather" / "dies.py",
        "import os, threading\nfrom app import WeatherResourcesServer\n\n"
        "threading.Timer(1.5, os._exit, args=(3,)).start()\nWeatherResourcesServer.run_webserver()\n",
    )
    config_path = write(
        tmp_path / "c.yaml",
        resources_block("steady", "weather/app.py") + resources_block("flaky", "weather/dies.py"),
    )
    out = io.StringIO()
    launcher = Launcher(plan_servers(load_config([config_path])), out=out, err=out)
    done: list[int] = []
    runner = threading.Thread(target=lambda: done.append(launcher.run()), daemon=True)
    runner.start()
    runner.join(timeout=20)
    if runner.is_alive():
        launcher.request_stop()
        runner.join(timeout=10)
        pytest.fail("Launcher.run() did not return after a server died:\n" + out.getvalue())
    assert done == [1]
    text = out.getvalue()
    assert "all 2 servers ready" in text
    assert "server 'flaky' (weather/dies.py) exited with code 3 while running" in text


STACK = """
counter:
  resources_servers:
    counter:
      entrypoint: {counter}
      domain: games
policy_model:
  responses_api_models:
    fake_model:
      entrypoint: gymhall:ModelServer
      model: fake:counter
counter_agent:
  responses_api_agents:
    simple_agent:
      entrypoint: gymhall:AgentServer
      resources_server: {{type: resources_servers, name: counter}}
      model_server: {{type: responses_api_models, name: policy_model}}
      max_steps: 4
"""


@pytest.mark.slow
def test_serve_a_whole_stack_from_one_config(
    write: Callable[[Path, str], Path], tmp_path: Path, serve_processes: list[_Serve]
) -> None:
    counter = Path(__file__).resolve().parents[2] / "examples" / "counter" / "counter.py"
    config_path = write(tmp_path / "stack.yaml", STACK.format(counter=counter))
    serve = _Serve([str(config_path)], cwd=tmp_path)
    serve_processes.append(serve)
    urls = _urls(serve.read_until("ready", timeout=60))
    assert set(urls) == {"counter", "policy_model", "counter_agent"}
    row = {"responses_create_params": {"input": "count"}, "initial_count": 5}
    # The agent reaches the model and resources servers by the ports `gymhall serve` gave them.
    answer = httpx.post(urls["counter_agent"] + "/run", json=row, trust_env=False, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json().get("reward") == 1.0, answer.text
    assert answer.json()["response"]["output"][-1]["content"][0]["text"] == "6"
    children = serve.children()
    serve.process.send_signal(signal.SIGTERM)
    assert serve.process.wait(timeout=10) == 0
    assert _no_process_left(children)
