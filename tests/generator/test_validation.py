"""`gymhall validate`: each gate's pass, failure (reason and fix) and skip; the whole path, end to end."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from gymhall.generator.port import port
from gymhall.generator.scaffold import ARCHETYPES, scaffold
from gymhall.generator.validation import GATES, GateResult, validate_project

pytestmark = pytest.mark.usefixtures("isolated_imports")


def _statuses(results: list[GateResult]) -> dict[str, str]:
    return {r.name: r.status for r in results}


def test_a_directory_without_a_config_fails_the_first_gate_and_skips_the_rest(tmp_path: Path) -> None:
    printed: list[str] = []
    report = validate_project(tmp_path, echo=printed.append)
    assert _statuses(report.results) == dict(zip(GATES, ["failed"] + ["skipped"] * 4, strict=True))
    assert "configs/*.yaml" in report.result("import").reason and report.result("import").fix
    assert printed[0].startswith("[FAIL] import:") and "[skip] server: skipped: needs import" in printed


def test_a_server_that_does_not_import_names_the_missing_module(tmp_path: Path) -> None:
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "broken.yaml").write_text(
        "broken_resources_server:\n  resources_servers:\n    broken:\n"
        "      entrypoint: server.py\n      domain: other\n"
    )
    (tmp_path / "server.py").write_text("import no_such_module_for_gymhall_tests\n")
    report = validate_project(tmp_path)
    failed = report.result("import")
    assert failed.status == "failed" and "No module named 'no_such_module_for_gymhall_tests'" in failed.reason
    assert "pyproject.toml" in failed.fix
    assert report.result("server").reason == "skipped: needs import"


def test_an_undeclared_dependency_fails_the_import_gate(tmp_path: Path, port_examples: Path) -> None:
    shutil.copy(port_examples / "desktop" / "desktop.py", tmp_path)
    _, project, _ = port(str(tmp_path / "desktop.py"), dataset=port_examples / "desktop" / "data" / "example.jsonl")
    pyproject = project / "pyproject.toml"
    pyproject.write_text("\n".join(line for line in pyproject.read_text().splitlines() if "pillow" not in line))
    failed = validate_project(project).result("import")
    assert failed.status == "failed" and "PIL" in failed.reason and "dependencies" in failed.fix


def test_a_packaged_project_must_register_its_package_under_an_id_of_its_own(
    tmp_path: Path, write_module: Callable[[Path, str, str], Path]
) -> None:
    project = scaffold("unlisted", directory=tmp_path)[1]
    pyproject = project / "pyproject.toml"
    written = pyproject.read_text()
    entry = '[project.entry-points."gymhall.environments"]\nunlisted = "unlisted_gymhall"\n'
    assert entry in written
    pyproject.write_text(written.replace(entry, ""))
    failed = _only_failed(validate_project(project), "import")
    assert "does not register unlisted_gymhall/ under the entry-point group 'gymhall.environments'" in failed.reason
    assert failed.fix == f"add {entry.replace(chr(10), ' ', 1).strip()} to pyproject.toml"

    # A ported module named as a bundled environment: installed, gymhall would skip it.
    domain = write_module(tmp_path, "weather", "class Weather:\n    def look(self) -> str: ...\n")
    failed = _only_failed(validate_project(port(str(domain))[1]), "import")
    assert failed.reason == "a bundled environment is named 'weather': gymhall would skip this one once installed"


def test_gate_lines_show_the_status_the_reason_and_the_fix() -> None:
    lines = GateResult("smoke", "failed", "seed_session answered 500", "see the log", ("detail",)).lines()
    assert lines == [
        "[FAIL] smoke: seed_session answered 500",
        "         detail",
        "         fix: see the log",
    ]


@pytest.mark.slow
def test_worked_examples_and_init_projects_pass_every_gate_and_their_own_tests_in_a_fresh_venv(
    tmp_path: Path,
    port_examples: Path,
    worked_options: dict[str, dict[str, Any]],
    fresh_venv: Callable[[Path], Path],
) -> None:
    started = time.monotonic()
    projects = []
    for name, options in worked_options.items():
        home = tmp_path / name
        home.mkdir()
        shutil.copy(port_examples / name / f"{name}.py", home)
        dataset = port_examples / name / "data" / "example.jsonl"
        projects.append(port(str(home / f"{name}.py"), dataset=dataset, **options)[1])
    for archetype in ARCHETYPES:
        projects.append(scaffold(f"init_{archetype.replace('-', '_')}", archetype=archetype, directory=tmp_path)[1])  # type: ignore[arg-type]

    with ThreadPoolExecutor(max_workers=3) as pool:
        reports = list(pool.map(validate_project, projects))
    for report in reports:
        failures = [line for r in report.results if r.status != "passed" for line in r.lines()]
        assert report.passed, f"{report.project}:\n" + "\n".join(failures)

    python = fresh_venv(tmp_path / "venv")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--import-mode=importlib"]
        + [str(project / "tests") for project in projects],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "failed" not in done.stdout
    assert time.monotonic() - started < 90


def _game_project(tmp_path: Path, edit_rows: Any) -> Path:
    """`gymhall init`'s game starter with its dataset's rows changed by `edit_rows(rows)`."""
    import orjson

    project = scaffold("guesses", archetype="game", directory=tmp_path)[1]
    dataset = project / "guesses_gymhall" / "data" / "guesses.jsonl"
    rows = [orjson.loads(line) for line in dataset.read_text().splitlines() if line.strip()]
    edit_rows(rows)
    dataset.write_text("".join(orjson.dumps(row).decode() + "\n" for row in rows))
    return project


def _only_failed(report: Any, gate: str) -> GateResult:
    statuses = _statuses(report.results)
    at = GATES.index(gate)
    assert list(statuses.values())[:at] == ["passed"] * at, statuses
    failed = report.result(gate)
    assert failed.status == "failed" and failed.reason and failed.fix
    for later in GATES[at + 1 :]:
        assert report.result(later).reason == f"skipped: needs {GATES[GATES.index(later) - 1]}"
    return failed


def _first_call_out_of_range(rows: list[dict[str, Any]]) -> None:
    rows[0]["reference_solution"]["tool_calls"][0]["arguments"] = {"number": 500}


def _row_0_unsolved(rows: list[dict[str, Any]]) -> None:
    rows[0]["reference_solution"]["tool_calls"] = rows[0]["reference_solution"]["tool_calls"][:1]


def _row_1_unsolved(rows: list[dict[str, Any]]) -> None:
    rows[1]["reference_solution"]["tool_calls"] = rows[1]["reference_solution"]["tool_calls"][:1]


def test_a_first_tool_call_the_tool_refuses_fails_the_smoke_gate(tmp_path: Path) -> None:
    failed = _only_failed(validate_project(_game_project(tmp_path, _first_call_out_of_range)), "smoke")
    assert failed.reason.startswith("tool 'guess' (row 0's first call) failed")
    assert "reference solution" in failed.fix


def test_a_row_0_solution_that_does_not_solve_fails_the_rollout_gate(tmp_path: Path) -> None:
    failed = _only_failed(validate_project(_game_project(tmp_path, _row_0_unsolved)), "rollout")
    assert failed.reason == "row 0's reference solution scored 0, not 1.0"
    assert "reference_solution" in failed.fix


def test_a_later_row_that_does_not_solve_fails_the_conformance_gate(tmp_path: Path) -> None:
    failed = _only_failed(validate_project(_game_project(tmp_path, _row_1_unsolved)), "conformance")
    assert failed.reason.endswith("checks failed")
    assert "reference solutions score 1.0: correct the reference_solution" in failed.fix
    assert any(line.startswith("FAIL reference solutions score 1.0: 1 of") for line in failed.details)


def _server_main(project: Path, main: str) -> None:
    """Replaces what `python server.py` runs; importing it (the import gate) is unchanged."""
    server = project / "guesses_gymhall" / "server.py"
    source = server.read_text()
    assert source.count("    GuessesEnvironment.run_webserver()\n") == 1
    server.write_text(source.replace("    GuessesEnvironment.run_webserver()\n", main))


def test_a_server_that_exits_on_start_fails_the_server_gate(tmp_path: Path) -> None:
    project = _game_project(tmp_path, lambda rows: None)
    _server_main(project, '    print("no port for guesses today", flush=True)\n    raise SystemExit(3)\n')
    failed = _only_failed(validate_project(project), "server")
    assert failed.reason == "server 'guesses_resources_server' (server.py) exited with code 3 before it was ready"
    assert failed.fix.startswith("correct the error in its output; to run it alone:") and "server.py" in failed.fix
    assert "no port for guesses today" in "\n".join(failed.details)


def test_a_server_that_never_answers_get_fails_the_server_gate(tmp_path: Path) -> None:
    project = _game_project(tmp_path, lambda rows: None)
    _server_main(project, "    import time\n\n    time.sleep(60)\n")
    failed = _only_failed(validate_project(project, ready_timeout=2.0), "server")
    assert failed.reason.startswith("server 'guesses_resources_server' did not answer GET http://")
    assert failed.reason.endswith("/ with 200 within 2 s")
    assert "raise --ready-timeout" in failed.fix


# Found by the mutation run (bench/README.md, "Mutation testing"): no test printed a passed gate.


def test_each_gate_status_prints_its_mark_then_details_and_fix() -> None:
    assert GateResult("import", "passed", "the package imports").lines() == ["[pass] import: the package imports"]
    assert GateResult("rollouts", "skipped", "needs import").lines() == ["[skip] rollouts: needs import"]
    failed = GateResult("import", "failed", "no module x", fix="declare x", details=("line 1",)).lines()
    assert failed == ["[FAIL] import: no module x", "         line 1", "         fix: declare x"]
