"""`gymhall validate`: the gates a generated (or any) environment project must pass, in order.

    report = validate_project(Path("examples/port/sliding_puzzle/gymhall"), echo=print)
    assert report.passed

1. import: the config's entrypoint imports in a fresh interpreter and defines one server class,
   every third-party module the project's code imports is declared in its pyproject.toml, and a
   packaged project (`gymhall port`'s layout: a package folder holding configs/) registers that
   package under the entry-point group `gymhall.environments` with an id no bundled environment has;
2. server: it starts as a real subprocess on a free loopback port and answers `GET /` (it is
   stopped after the last gate);
3. smoke: `POST /seed_session` with the dataset's first row issues a session, and the first tool
   of that row's reference solution answers;
4. rollout: gymhall's agent with the replay model plays the first row to a reward of 1.0;
5. conformance: `gymhall.checks.conformance.check_environment` over every row with a reference solution.

Each gate passes or fails with a reason and a fix; a gate whose prerequisite (the gate before it) failed
is skipped, so one fault shows as one failure.
"""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from gymhall.exceptions import GymhallError
from gymhall.generator.dependencies import undeclared_imports

__all__ = ["GATES", "GateResult", "ValidationReport", "validate_project"]

Status = Literal["passed", "failed", "skipped"]

GATES = ("import", "server", "smoke", "rollout", "conformance")
_NEEDS = {"server": "import", "smoke": "server", "rollout": "smoke", "conformance": "rollout"}
_IMPORT_TIMEOUT_S = 60.0

# Run in a fresh interpreter from the project directory: load the config, import the entrypoint,
# build the app. Prints the class and its tools; an exception's traceback goes to stderr.
_IMPORT_SCRIPT = """
import sys
from gymhall.config.loading import load_config
from gymhall.server.entrypoints import build_server_app, load_server_class
instance = load_config([sys.argv[1]]).of_kind("resources_servers")[0]
cls = load_server_class(instance)
app = build_server_app(instance)
print(cls.__name__, len(cls.tools()) if hasattr(cls, "tools") else "its")
"""


@dataclass(frozen=True)
class GateResult:
    """One gate's outcome: passed, failed (with the fix) or skipped (with the gate it needs)."""

    name: str
    status: Status
    reason: str
    fix: str = ""
    details: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        """The gate as printed: a status line, then detail lines and the fix."""
        mark = {"passed": "pass", "failed": "FAIL", "skipped": "skip"}[self.status]
        out = [f"[{mark}] {self.name}: {self.reason}"]
        out += [f"         {line}" for line in self.details]
        if self.fix:
            out.append(f"         fix: {self.fix}")
        return out


@dataclass
class ValidationReport:
    """Every gate's result, in order."""

    project: Path
    results: list[GateResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether every gate passed."""
        return bool(self.results) and all(r.status == "passed" for r in self.results)

    def result(self, name: str) -> GateResult:
        """The result of gate `name`."""
        return next(r for r in self.results if r.name == name)


@dataclass(frozen=True)
class _Project:
    directory: Path
    config: Path
    dataset: Path
    entrypoint: Path | None
    package: Path | None = None
    """The package folder holding configs/ (`gymhall port`'s layout), None when configs/ is the project's own."""


class _GateFailed(Exception):
    def __init__(self, reason: str, fix: str, details: Sequence[str] = ()) -> None:
        super().__init__(reason)
        self.reason, self.fix, self.details = reason, fix, tuple(details)


def _configs(directory: Path) -> tuple[list[Path], Path | None]:
    """The configs of a project: its own configs/*.yaml, else those of the one package folder holding configs/."""
    own = sorted((directory / "configs").glob("*.yaml"))
    if own:
        return own, None
    packages = sorted(
        folder
        for folder in directory.iterdir()
        if folder.is_dir() and (folder / "__init__.py").is_file() and (folder / "configs").is_dir()
    )
    if len(packages) != 1:
        return [], None
    return sorted((packages[0] / "configs").glob("*.yaml")), packages[0]


def _find_project(directory: Path) -> _Project:
    configs, package = _configs(directory) if directory.is_dir() else ([], None)
    if len(configs) != 1:
        found = ", ".join(p.name for p in configs) or "none"
        raise _GateFailed(
            f"{directory} must hold exactly one configs/*.yaml, or one package folder with one (found {found})",
            "run validate on a directory written by `gymhall port` or `gymhall init`",
        )
    import yaml

    data = yaml.safe_load(configs[0].read_text()) or {}
    entry, dataset = None, None
    for block in data.values() if isinstance(data, dict) else ():
        for server in (block or {}).get("resources_servers", {}).values() if isinstance(block, dict) else ():
            if isinstance(server, dict):
                entry, dataset = server.get("entrypoint"), server.get("dataset")
    home = configs[0].parent.parent  # where the registry resolves the entrypoint and the dataset
    entrypoint = home / entry if isinstance(entry, str) and entry.endswith(".py") else None
    if isinstance(dataset, str):
        data_file = home / dataset
    elif package is not None:
        data_file = home / "data" / f"{configs[0].stem}.jsonl"  # the registry's default
    else:
        data_file = home / "data" / "example.jsonl"
    return _Project(directory, configs[0], data_file, entrypoint, package)


def _gate_import(project: _Project) -> str:
    try:
        done = subprocess.run(
            [sys.executable, "-c", _IMPORT_SCRIPT, str(project.config)],
            cwd=project.directory,
            capture_output=True,
            text=True,
            timeout=_IMPORT_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        raise _GateFailed(
            f"importing the server took more than {_IMPORT_TIMEOUT_S:g} s",
            "move slow work out of module import (e.g. into seed_session)",
        ) from None
    if done.returncode != 0:
        tail = [line for line in done.stderr.strip().splitlines() if line.strip()][-6:]
        last = tail[-1] if tail else f"exit code {done.returncode}"
        fix = f"run `python -c 'import server'` in {project.package or project.directory} and correct the error"
        if "ModuleNotFoundError" in last:
            module = last.rpartition("No module named ")[2].strip("'\"")
            fix = f"declare the distribution providing {module!r} in pyproject.toml and install it (pip install -e .)"
        raise _GateFailed(f"the server does not import: {last}", fix, tail[:-1])
    name, _, count = done.stdout.strip().rpartition("\n")[2].partition(" ")
    missing = undeclared_imports(project.directory, project.entrypoint)
    if missing:
        raise _GateFailed(
            f"pyproject.toml does not declare what the code imports: {', '.join(missing)}",
            "add those distributions to [project] dependencies (a fresh install would fail with 'No module named')",
        )
    registered = _registration(project)
    return (
        f"{project.entrypoint.name if project.entrypoint else 'the entrypoint'} defines {name} with {count} tool(s)"
        + registered
    )


def _registration(project: _Project) -> str:
    """For a packaged project: that pyproject.toml registers the package under `gymhall.environments`."""
    from gymhall.config.registry import ENTRY_POINT_GROUP, list_envs

    if project.package is None:
        return ""
    package, env_id = project.package.name, project.config.stem
    pyproject = project.directory / "pyproject.toml"
    metadata = tomllib.loads(pyproject.read_text()).get("project", {}) if pyproject.is_file() else {}
    entries = metadata.get("entry-points", {}).get(ENTRY_POINT_GROUP, {})
    if package not in entries.values():
        raise _GateFailed(
            f"pyproject.toml does not register {package}/ under the entry-point group {ENTRY_POINT_GROUP!r}, "
            "so installing the project adds no environment",
            f'add [project.entry-points."{ENTRY_POINT_GROUP}"] {env_id} = "{package}" to pyproject.toml',
        )
    if any(env.id == env_id and env.source == "bundled" for env in list_envs()):
        raise _GateFailed(
            f"a bundled environment is named {env_id!r}: gymhall would skip this one once installed",
            f"rename configs/{env_id}.yaml and its resources server block (or port a module of another name)",
        )
    return f"; pyproject.toml registers {package} ({ENTRY_POINT_GROUP})"


def _rows(project: _Project) -> list[dict[str, Any]]:
    from gymhall.collection.datasets import read_rows

    if not project.dataset.is_file():
        raise _GateFailed(f"{project.dataset} does not exist", "add the dataset, its rows with reference solutions")
    rows = read_rows(project.dataset)
    if not rows:
        raise _GateFailed(f"{project.dataset} has no rows", "add at least one row with a reference_solution")
    return rows


def _first_call(row: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    solution = row.get("reference_solution")
    calls = solution.get("tool_calls") if isinstance(solution, Mapping) else None
    if not calls:
        return None
    first = calls[0][0] if isinstance(calls[0], list) else calls[0]
    return str(first.get("name", "")), dict(first.get("arguments") or {})


async def _gate_smoke(url: str, row: Mapping[str, Any]) -> str:
    from gymhall.client.resources import AsyncResourcesClient
    from gymhall.exceptions import ServerError

    async with AsyncResourcesClient(url, timeout=30.0) as client:
        try:
            tools = [tool["name"] for tool in await client.list_tools()]
            session = await client.seed_session(row)
        except ServerError as exc:
            fix = "see the server's log (run it alone: python server.py)"
            if exc.status_code == 422:
                fix = "give the dataset's row 0 the fields seed_session reads (the constructor's arguments)"
            raise _GateFailed(str(exc), fix) from None
        async with session:
            if session.handle is None and not session.cookies:
                raise _GateFailed("POST /seed_session issued no session (no handle, no cookie)", "serve with gymhall")
            call = _first_call(row)
            if call is None:
                raise _GateFailed(
                    "row 0 has no reference_solution.tool_calls, so no tool can be tried",
                    "add reference_solution: {tool_calls: [{name, arguments}], answer} to the dataset's rows",
                )
            started = time.monotonic()
            try:
                await session.call(*call)
            except ServerError as exc:
                raise _GateFailed(
                    f"tool {call[0]!r} (row 0's first call) failed: {exc}",
                    "correct row 0's reference solution, or the tool",
                ) from None
            took = (time.monotonic() - started) * 1000
    return f"GET /tools lists {len(tools)} tool(s); seed_session issued a session; {call[0]} answered in {took:.0f} ms"


async def _gate_rollout(url: str, row: Mapping[str, Any]) -> str:
    from gymhall.client.resources import AsyncResourcesClient
    from gymhall.collection.agent import Agent
    from gymhall.models.replay import ReplayModel

    async with AsyncResourcesClient(url, timeout=30.0) as client:
        line = await Agent(client, ReplayModel(), max_steps=64, timeout_s=60.0).run(dict(row))
    if line.get("status") != "ok":
        failure = line.get("failure") or {}
        raise _GateFailed(
            f"the rollout of row 0 failed at {failure.get('stage')}: {failure.get('error')}",
            "correct row 0's reference_solution, or the server (see its log)",
        )
    reward = float(line["reward"])
    if reward != 1.0:
        raise _GateFailed(
            f"row 0's reference solution scored {reward:g}, not 1.0",
            "correct row 0's reference_solution in the dataset, or the method verify grades with",
        )
    return f"the replay model played row 0 in {line.get('steps')} model calls; reward 1.0"


async def _gate_conformance(url: str, rows: Sequence[Mapping[str, Any]]) -> tuple[str, list[str], bool]:
    from gymhall.client.resources import AsyncResourcesClient

    try:
        from gymhall.checks.conformance import check_environment
    except ImportError as exc:  # built beside this module; absent in a partial checkout
        raise _GateFailed(f"the conformance checks are not available ({exc})", "install a complete gymhall") from None
    async with AsyncResourcesClient(url, timeout=60.0) as client:
        checks = await check_environment(client, rows)
    lines = [f"{'ok  ' if c.passed else 'FAIL'} {c.name}: {c.reason}" for c in checks]
    failed = [c for c in checks if not c.passed]
    if failed:
        fixes = "; ".join(dict.fromkeys(f"{c.name}: {c.fix}" for c in failed if c.fix))
        raise _GateFailed(f"{len(failed)} of {len(checks)} checks failed", fixes or "see the checks above", lines)
    return f"{len(checks)} of {len(checks)} checks passed", lines, True


def validate_project(
    directory: Path, *, echo: Callable[[str], None] | None = None, ready_timeout: float = 30.0
) -> ValidationReport:
    """Run every gate on the project in `directory`, printing each result through `echo` as it comes."""
    from gymhall.config.loading import load_config
    from gymhall.stack.launcher import Launcher
    from gymhall.stack.plan import plan_servers

    directory = directory.resolve()
    report = ValidationReport(directory)

    def record(result: GateResult) -> None:
        report.results.append(result)
        if echo is not None:
            for line in result.lines():
                echo(line)

    def passed(name: str) -> bool:
        return any(r.name == name and r.status == "passed" for r in report.results)

    def run(name: str, gate: Callable[[], str | tuple[str, list[str], bool]]) -> None:
        needed = _NEEDS.get(name)
        if needed is not None and not passed(needed):
            record(GateResult(name, "skipped", f"skipped: needs {needed}"))
            return
        try:
            outcome = gate()
        except _GateFailed as exc:
            record(GateResult(name, "failed", exc.reason, exc.fix, exc.details))
        except (GymhallError, OSError) as exc:
            record(GateResult(name, "failed", f"{type(exc).__name__}: {exc}", "correct the problem named above"))
        else:
            reason, details = (outcome, []) if isinstance(outcome, str) else (outcome[0], outcome[1])
            record(GateResult(name, "passed", reason, details=tuple(details)))

    try:
        project = _find_project(directory)
    except _GateFailed as exc:
        record(GateResult("import", "failed", exc.reason, exc.fix))
        for name in GATES[1:]:
            record(GateResult(name, "skipped", f"skipped: needs {_NEEDS[name]}"))
        return report
    run("import", lambda: _gate_import(project))
    output = io.StringIO()
    launcher: Launcher | None = None
    url = ""

    def start() -> str:
        nonlocal launcher, url
        plans = plan_servers(load_config([str(project.config)]))
        launcher = Launcher(plans, ready_timeout=ready_timeout, stop_grace=3.0, out=output, err=output)
        started = time.monotonic()
        try:
            launcher.start()
        except GymhallError as exc:
            launcher = None
            tail = [line for line in output.getvalue().splitlines() if line.strip()][-8:]
            problem = getattr(exc, "problem", str(exc))
            fix = getattr(exc, "fix", "run the server alone (python server.py) and read its output")
            raise _GateFailed(str(problem), str(fix), tail) from None
        url = plans[0].url
        return f"{plans[0].name} answered GET / on {url} after {time.monotonic() - started:.1f} s"

    try:
        run("server", start)
        rows: list[dict[str, Any]] = []
        if passed("server"):
            try:
                rows = _rows(project)
            except _GateFailed as exc:
                record(GateResult("smoke", "failed", exc.reason, exc.fix))
        if not any(r.name == "smoke" for r in report.results):
            run("smoke", lambda: asyncio.run(_gate_smoke(url, rows[0])))
        run("rollout", lambda: asyncio.run(_gate_rollout(url, rows[0])))
        run("conformance", lambda: asyncio.run(_gate_conformance(url, rows)))
    finally:
        if launcher is not None:
            launcher.stop()
    return report
