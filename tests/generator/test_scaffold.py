"""`gymhall init`: a starter project per archetype, its checks in process, and the command line."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from gymhall.exceptions import PortError
from gymhall.generator.dependencies import imported_modules
from gymhall.generator.scaffold import ARCHETYPES, scaffold

pytestmark = pytest.mark.usefixtures("isolated_imports")


@pytest.mark.parametrize("archetype", ARCHETYPES)
async def test_init_writes_a_project_that_passes_the_conformance_checks(
    tmp_path: Path, archetype: str, load_server: Callable[[Path, str], Any]
) -> None:
    from gymhall.checks.conformance import check_environment
    from gymhall.collection.datasets import read_rows
    from gymhall.testing import client_for

    name = f"starter_{archetype.replace('-', '_')}"
    spec, project, files = scaffold(name, archetype=archetype, directory=tmp_path)  # type: ignore[arg-type]
    assert project == tmp_path / name
    package = f"{name}_gymhall"
    expected = {f"{name}.py", "pyproject.toml", "Dockerfile", "rollout.py", "README.md", "tests/test_server.py"}
    expected |= {f"{package}/{file}" for file in ("__init__.py", "server.py", f"configs/{name}.yaml")}
    assert expected | {f"{package}/data/{name}.jsonl"} == {p.relative_to(project).as_posix() for p in files}
    assert "gymhall" not in imported_modules(project / f"{name}.py")  # the domain stays plain Python
    assert spec.archetype == archetype
    server = load_server(project, f"{project.name}_init_server")
    env_class = getattr(server, f"{spec.class_name}Environment")
    async with client_for(env_class()) as client:
        results = await check_environment(client, read_rows(project / package / "data" / f"{name}.jsonl"))
    assert [r for r in results if not r.passed] == []


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("My-Game", "not a lowercase Python identifier"),
        ("class", "not a lowercase Python identifier"),
        ("json", "an importable module already has this name"),
        ("server", "the project uses this name"),
        ("weather", "a bundled environment has this id"),
    ],
)
def test_init_refuses_names_that_cannot_be_a_domain_module(tmp_path: Path, name: str, problem: str) -> None:
    with pytest.raises(PortError, match=problem):
        scaffold(name, directory=tmp_path)


def test_init_refuses_an_unknown_archetype_and_an_edited_project(tmp_path: Path) -> None:
    with pytest.raises(PortError, match="game, sandbox, computer-use"):
        scaffold("starter_x", archetype="board", directory=tmp_path)  # type: ignore[arg-type]
    scaffold("starter_y", directory=tmp_path)
    (tmp_path / "starter_y" / "starter_y.py").write_text("# mine\n")
    with pytest.raises(PortError, match="--force"):
        scaffold("starter_y", directory=tmp_path)


def _cli() -> typer.Typer:
    from gymhall.cli.generator import init_command, port_command, validate_command

    app = typer.Typer()
    app.command("init")(init_command)
    app.command("port")(port_command)
    app.command("validate")(validate_command)
    return app


def test_the_commands_report_what_they_wrote_and_fail_with_the_fix(tmp_path: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(_cli(), ["init", "starter_cli", "--archetype", "sandbox", "--dir", str(tmp_path)])
    assert done.exit_code == 0, done.output
    assert "server.py" in done.output and "gymhall validate ." in done.output
    refused = runner.invoke(_cli(), ["init", "json", "--dir", str(tmp_path)])
    assert refused.exit_code == 2 and "Fix:" in refused.output
    ported = runner.invoke(
        _cli(), ["port", str(tmp_path / "starter_cli" / "starter_cli.py"), "--out", str(tmp_path / "p")]
    )
    assert ported.exit_code == 0, ported.output
    assert "placeholder row" in ported.output
    missing = runner.invoke(_cli(), ["validate", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "not a directory" in missing.output


@pytest.mark.parametrize("archetype", ARCHETYPES)
def test_the_generated_readme_says_what_a_plain_gymhall_install_needs(tmp_path: Path, archetype: str) -> None:
    name = f"plain_{archetype.replace('-', '_')}"
    _, project, files = scaffold(name, archetype=archetype, directory=tmp_path)  # type: ignore[arg-type]
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    test_extra = pyproject["optional-dependencies"]["test"]
    declared = {r.partition(">")[0].lower() for r in [*pyproject["dependencies"], *test_extra]}
    # pytest comes from the project's own test extra: `pip install -e .` of gymhall alone does not bring it.
    assert [r for r in test_extra if r.startswith("pytest")], test_extra
    for module in third_party_imports(project / "tests" / "test_server.py"):
        assert module in declared | {"gymhall"}, f"tests/test_server.py imports {module!r}, not declared"
    if archetype == "computer-use":
        assert any(r.startswith("pillow") for r in pyproject["dependencies"])
    readme = (project / "README.md").read_text()
    install = "pip install -e '.[test]'"
    assert install in readme and readme.index(install) < readme.index("\npytest ")
    for path in files:  # the user ran `gymhall init`: nothing tells them to port "again"
        assert "gymhall port` again" not in path.read_text() and "port again" not in path.read_text()


def third_party_imports(path: Path) -> set[str]:
    from gymhall.generator.dependencies import third_party

    return third_party(imported_modules(path))


def test_init_tells_what_to_run_next_and_names_a_missing_package(tmp_path: Path) -> None:
    done = CliRunner().invoke(_cli(), ["init", "starter_next", "--dir", str(tmp_path)])
    assert done.exit_code == 0, done.output
    assert f"next: cd {tmp_path / 'starter_next'} && pip install -e '.[test]' && pytest && gymhall validate ." in (
        done.output
    )
    # Pillow absent, as on a plain `pip install gymhall`: a None entry makes `import PIL` fail as if uninstalled.
    code = "import sys; sys.modules['PIL'] = None; from gymhall.cli import main; sys.argv[1:] = {!r}; main()".format(
        ["init", "screen", "--archetype", "computer-use", "--dir", str(tmp_path)]
    )
    refused = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2, refused.stderr
    fix = "Fix: pip install pillow (it provides 'PIL'), then run gymhall init screen --archetype computer-use again"
    assert fix in refused.stderr
    assert "port again" not in refused.stderr
    assert not (tmp_path / "screen" / "screen.py").exists()  # nothing half-written is left to trip the next try
