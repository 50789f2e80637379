"""gymhall.grading.sandbox: limits, isolation and clean-up of untrusted code, in each isolation mode here."""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from gymhall import ConfigError
from gymhall.grading.sandbox import Sandbox, SandboxLimits, namespaces_available, pids_cgroup_root

MODES = [
    "audit-hook",
    pytest.param(
        "namespace",
        marks=pytest.mark.skipif(
            not namespaces_available(), reason="unshare --user --net --pid does not work on this machine"
        ),
    ),
]
QUICK = SandboxLimits(wall_seconds=5, cpu_seconds=3, memory_bytes=256 * 1024 * 1024, output_bytes=64 * 1024)


@pytest.fixture(params=MODES)
def sandbox(request: pytest.FixtureRequest) -> Sandbox:
    return Sandbox(isolation=request.param, limits=QUICK)


def processes_mentioning(marker: str) -> list[int]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if marker.encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


async def test_runs_code_with_stdin_and_args(sandbox: Sandbox) -> None:
    result = await sandbox.run("import sys\nprint(input()[::-1], sys.argv[1:])", stdin=b"abc\n", args=["x"])
    assert result.ok and result.stdout == b"cba ['x']\n"
    assert result.exit_code == 0 and not result.timed_out and result.killed is None
    assert result.isolation == sandbox.network_isolation


async def test_non_zero_exit_and_exceptions_are_results(sandbox: Sandbox) -> None:
    assert (await sandbox.run("raise SystemExit(3)")).exit_code == 3
    crashed = await sandbox.run("1 / 0")
    assert crashed.exit_code == 1 and not crashed.ok and b"ZeroDivisionError" in crashed.stderr


async def test_infinite_loop_is_stopped(sandbox: Sandbox) -> None:
    limits = SandboxLimits(wall_seconds=1.5, cpu_seconds=10)
    result = await sandbox.run("while True: pass", limits=limits)
    assert result.timed_out and result.killed == "timeout" and result.exit_code == -9
    assert result.duration < 5


async def test_cpu_limit_stops_a_busy_loop_before_the_wall_timeout(sandbox: Sandbox) -> None:
    result = await sandbox.run("while True: pass", limits=SandboxLimits(wall_seconds=20, cpu_seconds=1))
    assert result.killed == "cpu_limit" and not result.timed_out and result.duration < 15


async def test_sleeping_code_hits_the_wall_timeout(sandbox: Sandbox) -> None:
    result = await sandbox.run("import time; time.sleep(60)", limits=SandboxLimits(wall_seconds=1))
    assert result.timed_out and result.duration < 5


async def test_memory_hog_gets_a_memory_error(sandbox: Sandbox) -> None:
    hog = "chunks = []\nwhile True:\n    chunks.append(bytearray(16 * 1024 * 1024))"
    result = await sandbox.run(hog)
    assert result.exit_code == 1 and b"MemoryError" in result.stderr and result.duration < 5
    assert b"MemoryError" in (await sandbox.run("x = bytearray(8 * 1024**3)")).stderr


async def test_fork_bomb_is_contained_and_nothing_is_left_running(sandbox: Sandbox) -> None:
    marker = f"gymhall-fork-bomb-{uuid.uuid4().hex}"
    bomb = (
        "import os, sys, time\n"
        "made = 0\n"
        "for _ in range(200):\n"
        "    try:\n"
        "        pid = os.fork()\n"
        "    except OSError:\n"
        "        break\n"
        "    if pid == 0:\n"
        "        time.sleep(60)\n"
        "        os._exit(0)\n"
        "    made += 1\n"
        "print(made, flush=True)\n"
        "while True:\n"
        "    try:\n"
        "        os.fork()\n"  # and now a real bomb: every child forks too
        "    except OSError:\n"
        "        time.sleep(0.01)\n"
    )
    limits = SandboxLimits(wall_seconds=2, cpu_seconds=5, max_processes=8)
    result = await sandbox.run(bomb, args=[marker], limits=limits)
    assert result.timed_out and result.duration < 5
    assert int(result.stdout.split()[0]) < 8  # the limit counts the first process too
    deadline = time.monotonic() + 5
    while processes_mentioning(marker) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert processes_mentioning(marker) == []


async def test_network_is_unreachable_even_on_loopback(sandbox: Sandbox) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        code = (
            "import socket\n"
            "try:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
            "    print('connected')\n"
            "except Exception as exc:\n"
            "    print('refused', type(exc).__name__)\n"
        )
        result = await sandbox.run(code)
        assert result.stdout.startswith(b"refused"), result
        with pytest.raises(BlockingIOError):
            listener.accept()


async def test_environment_is_minimal_and_workdir_is_removed(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GYMHALL_TEST_SECRET", "s3cret")
    code = "import os\nopen('note.txt', 'w').write('x')\nprint(os.getcwd())\nprint(sorted(os.environ))"
    result = await sandbox.run(code, files={"helper.py": "VALUE = 7\n"})
    workdir, names = result.text().splitlines()
    assert "GYMHALL_TEST_SECRET" not in names and "s3cret" not in result.text()
    assert not Path(workdir).exists()
    assert (
        await sandbox.run("import helper; print(helper.VALUE)", files={"helper.py": "VALUE = 7\n"})
    ).stdout == b"7\n"


async def test_isolated_mode_ignores_site_packages(sandbox: Sandbox) -> None:
    result = await sandbox.run("import sys; print(sys.flags.isolated, sys.flags.no_site)\nimport pydantic")
    assert result.stdout == b"1 1\n" and b"ModuleNotFoundError" in result.stderr


async def test_output_is_capped(sandbox: Sandbox) -> None:
    result = await sandbox.run("while True: print('x' * 1000)", limits=SandboxLimits(output_bytes=10_000))
    assert result.killed == "output_limit" and len(result.stdout) == 10_000 and result.duration < 5


async def test_file_size_is_limited(sandbox: Sandbox) -> None:
    code = (
        "try:\n    open('big', 'wb').write(b'x' * 2_000_000)\nexcept OSError as exc:\n    print('refused', exc.errno)"
    )
    result = await sandbox.run(code, limits=SandboxLimits(file_size_bytes=1_000_000))
    assert result.stdout.startswith(b"refused")


async def test_pool_size_bounds_concurrent_runs() -> None:
    sandbox = Sandbox(pool_size=1, limits=QUICK)
    started = time.monotonic()
    results = await asyncio.gather(*(sandbox.run("import time; time.sleep(0.3)") for _ in range(3)))
    assert all(r.ok for r in results)
    assert time.monotonic() - started >= 0.9  # one at a time


async def test_event_loop_keeps_running_during_a_run() -> None:
    sandbox = Sandbox(limits=QUICK)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.02)
            ticks += 1

    ticker = asyncio.create_task(tick())
    await sandbox.run("import time; time.sleep(0.5)")
    ticker.cancel()
    assert ticks >= 10


async def test_cancelling_a_run_kills_it() -> None:
    marker = f"gymhall-cancel-{uuid.uuid4().hex}"
    sandbox = Sandbox(limits=SandboxLimits(wall_seconds=30))
    task = asyncio.create_task(sandbox.run("import time; time.sleep(30)", args=[marker]))
    while not processes_mentioning(marker):
        await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    deadline = time.monotonic() + 5
    while processes_mentioning(marker) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert processes_mentioning(marker) == []


def test_reports_its_isolation() -> None:
    described = Sandbox().describe()
    assert described["network_isolation"] in ("namespace", "audit-hook")
    assert described["process_limit"] in ("rlimit", "cgroup", "audit-hook")
    assert Sandbox(isolation="audit-hook").network_isolation == "audit-hook"


def test_refuses_bad_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="pool_size"):
        Sandbox(pool_size=0)
    with pytest.raises(ValueError, match="cpu_seconds"):
        SandboxLimits(cpu_seconds=0)
    monkeypatch.setattr("gymhall.grading.sandbox.namespaces_available", lambda python: False)
    with pytest.raises(ConfigError, match="isolation='auto'"):
        _ = Sandbox(isolation="namespace").network_isolation


async def test_files_must_stay_inside_the_workdir() -> None:
    with pytest.raises(ValueError, match="outside the working directory"):
        await Sandbox().run("pass", files={"../escape.py": "x"})


# -- attacks (issue 11): each contained in every isolation mode this machine has --------------------


async def test_cannot_write_the_cgroup_filesystem(sandbox: Sandbox) -> None:
    # Raising its own pids.max, or moving itself to the root cgroup, would undo the fork-bomb limit.
    root = pids_cgroup_root() or Path("/sys/fs/cgroup/pids")
    code = (
        "import glob, os\n"
        f"targets = glob.glob({str(root)!r} + '/gymhall-sandbox-*/pids.max')\n"
        f"moves = [{str(root)!r} + '/cgroup.procs', '/sys/fs/cgroup/pids/cgroup.procs']\n"
        "moves.append('/sys/fs/cgroup/cgroup.procs')\n"
        "for path, text in [(t, 'max') for t in targets] + [(m, str(os.getpid())) for m in moves]:\n"
        "    try:\n"
        "        with open(path, 'w') as f:\n"
        "            f.write(text)\n"
        "        print('wrote', path)\n"
        "    except OSError as exc:\n"
        "        print('refused', path, type(exc).__name__)\n"
    )
    result = await sandbox.run(code)
    assert result.ok, result
    assert b"wrote" not in result.stdout, result.stdout


async def test_filesystem_unix_sockets_are_unreachable(sandbox: Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "host.sock"
    tmp_path.chmod(0o755)
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))
        path.chmod(0o777)
        listener.listen()
        listener.setblocking(False)
        code = (
            "import socket\n"
            "try:\n"
            "    s = socket.socket(socket.AF_UNIX)\n"
            f"    s.connect({str(path)!r})\n"
            "    print('connected')\n"
            "except Exception as exc:\n"
            "    print('refused', type(exc).__name__)\n"
        )
        result = await sandbox.run(code)
        assert result.stdout.startswith(b"refused"), result
        with pytest.raises(BlockingIOError):
            listener.accept()


async def test_host_files_are_out_of_reach(sandbox: Sandbox) -> None:
    import gymhall

    outside = Path(tempfile.gettempdir()) / f"gymhall-escape-{uuid.uuid4().hex}"
    readable = ["/etc/shadow", gymhall.__file__, f"/proc/{os.getpid()}/cmdline"]  # the server's source and process
    code = (
        "import os\n"
        f"for path in {readable!r}:\n"
        "    try:\n"
        "        data = open(path, 'rb').read()\n"
        "        print('read', path, b'pytest' in data or b'gymhall' in data or b'root:' in data)\n"
        "    except OSError as exc:\n"
        "        print('refused', path, type(exc).__name__)\n"
        "try:\n"
        f"    open({str(outside)!r}, 'wb').write(b'x' * 1000)\n"
        "except OSError as exc:\n"
        "    print('refused', type(exc).__name__)\n"
        "print('uid', os.getuid())\n"
    )
    result = await sandbox.run(code)
    assert result.ok, result
    lines = result.text().splitlines()
    assert not [line for line in lines if line.startswith("read") and line.endswith("True")], lines
    assert not outside.exists()  # refused, or written to the sandbox's private /tmp, gone with it
    if os.geteuid() == 0 and sandbox.describe()["user"] == "nobody":
        assert "uid 65534" in lines  # unprivileged: owns nothing of the host's


@pytest.mark.skipif(not namespaces_available(), reason="the private tmpfs needs a mount namespace")
async def test_writable_space_is_private_and_size_limited() -> None:
    sandbox = Sandbox(isolation="namespace", limits=SandboxLimits(disk_bytes=4 * 1024 * 1024))
    code = (
        "written = 0\n"
        "try:\n"
        "    for i in range(100):\n"
        "        with open(f'f{i}', 'wb') as f:\n"
        "            f.write(b'x' * 1024 * 1024)\n"
        "        written += 1\n"
        "except OSError as exc:\n"
        "    print('full', written, exc.errno)\n"
    )
    result = await sandbox.run(code)
    assert result.stdout.startswith(b"full") and int(result.stdout.split()[1]) < 5, result


async def test_child_interpreters_get_no_network_either(sandbox: Sandbox) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        probe = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2); print('connected')"
        code = (
            "import os, subprocess, sys\n"
            "try:\n"
            f"    print(subprocess.run([sys.executable, '-c', {probe!r}], capture_output=True).stdout)\n"
            "except Exception as exc:\n"
            "    print('refused', type(exc).__name__)\n"
            "try:\n"
            f"    os.system(sys.executable + ' -c \"' + {probe!r} + '\"')\n"
            "except Exception as exc:\n"
            "    print('refused', type(exc).__name__)\n"
        )
        result = await sandbox.run(code)
        assert b"connected" not in result.stdout.replace(b"b''", b""), result
        with pytest.raises(BlockingIOError):
            listener.accept()


async def test_each_input_runs_in_a_child_holding_only_that_input(sandbox: Sandbox) -> None:
    secrets = [f"hidden-{i}-{uuid.uuid4().hex}".encode() for i in range(3)]
    code = (
        "import gc, sys\n"
        "mine = sys.stdin.buffer.read()\n"
        "seen = {o for o in gc.get_objects() if isinstance(o, (str, bytes))}\n"
        "for f in [sys._getframe()]:\n"
        "    while f:\n"
        "        seen.update(str(v) for v in f.f_locals.values())\n"
        "        f = f.f_back\n"
        "others = [s for s in seen if ('hidden-' in str(s)) and mine.decode() not in str(s)]\n"
        "print(len(others))\n"
    )
    results = await sandbox.run_each(code, secrets)
    assert [r.stdout for r in results] == [b"0\n"] * 3, results


async def test_one_wall_budget_is_enforced_from_outside(sandbox: Sandbox) -> None:
    stubborn = (
        "import signal, time\n"
        "for s in (signal.SIGALRM, signal.SIGTERM, signal.SIGINT):\n"
        "    signal.signal(s, signal.SIG_IGN)\n"
        "time.sleep(60)\n"
    )
    started = time.monotonic()
    results = await sandbox.run_each(
        stubborn, [b""] * 5, limits=SandboxLimits(wall_seconds=0.5, cpu_seconds=5), budget_seconds=1.2
    )
    assert time.monotonic() - started < 4
    assert all(r.killed == "timeout" for r in results) and 1 <= len(results) <= 3, results


async def test_killing_the_server_stops_its_sandboxes_and_the_next_server_sweeps_up(sandbox: Sandbox) -> None:
    import subprocess
    import sys

    from gymhall.grading.isolation import LEFTOVER_PREFIX, sweep_leftovers

    marker = f"gymhall-orphan-{uuid.uuid4().hex}"
    script = (
        "import asyncio, sys\n"
        "from gymhall.grading.sandbox import Sandbox, SandboxLimits\n"
        f"sandbox = Sandbox(isolation={sandbox.network_isolation!r}, limits=SandboxLimits(wall_seconds=60))\n"
        "print('ready', flush=True)\n"
        f"asyncio.run(sandbox.run('import time; time.sleep(60)', args=[{marker!r}, '0'], ))\n"
    )
    server = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    try:
        assert server.stdout is not None and server.stdout.readline() == b"ready\n"
        deadline = time.monotonic() + 20
        while len(processes_mentioning(marker)) < 2 and time.monotonic() < deadline:  # supervisor and code
            await asyncio.sleep(0.05)
        assert processes_mentioning(marker), "the sandboxed code never started"
    finally:
        server.kill()  # SIGKILL: no clean-up of its own runs
        server.wait(10)
    deadline = time.monotonic() + 5
    while processes_mentioning(marker) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert processes_mentioning(marker) == [], "the sandbox outlived the server that started it"
    roots = [Path(tempfile.gettempdir()), *filter(None, [pids_cgroup_root()])]
    left = [path for root in roots for path in root.glob(f"{LEFTOVER_PREFIX}{server.pid}-*")]
    assert left, "the killed server left nothing behind to sweep (its working directory at least)"
    assert sweep_leftovers.__wrapped__() >= len(left)
    assert not any(path.exists() for path in left)


async def test_the_rollouts_time_left_bounds_a_run_below_its_own_budget() -> None:
    from gymhall.wire.deadline import rollout_deadline

    sandbox = Sandbox(limits=SandboxLimits(wall_seconds=20, cpu_seconds=20))
    started = time.monotonic()
    with rollout_deadline(time.monotonic() + 1.0):
        result = await sandbox.run("import time; time.sleep(15)")
    assert result.killed == "timeout" and time.monotonic() - started < 5


# A boundary found by the mutation run (bench/README.md, "Mutation testing").


def test_an_output_limit_of_zero_is_allowed_and_a_negative_one_refused() -> None:
    assert SandboxLimits(output_bytes=0).output_bytes == 0  # any output at all kills the run
    with pytest.raises(ValueError, match="output_bytes must be >= 0, not -1"):
        SandboxLimits(output_bytes=-1)
    with pytest.raises(ValueError, match="cpu_seconds must be positive, not 0"):
        SandboxLimits(cpu_seconds=0)
