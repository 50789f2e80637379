"""The layer contracts of ARCHITECTURE.md hold, and `lint-imports` fails on a forbidden import."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": str(LINT_IMPORTS.parent), "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_package_keeps_every_layer_contract() -> None:
    done = _lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("wire/responses.py", "import gymhall.server.sessions", "The wire contract imports nothing of gymhall"),
        ("server/app.py", "import gymhall.client.resources", "A resources server never calls out"),
        ("stack/launcher.py", "import rich.table", "Only the CLI imports Typer and Rich"),
        ("envs/weather/server.py", "import gymhall.server.tools", "Bundled environments use the public API"),
        ("config/settings.py", "import gymhall.collection.pool", "Layers: each subpackage imports only"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(tmp_path: Path, module: str, line: str, contract: str) -> None:
    shutil.copytree(ROOT / "gymhall", tmp_path / "gymhall", ignore=shutil.ignore_patterns("__pycache__", "data"))
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (tmp_path / ".importlinter").write_text(_ini(config))
    target = tmp_path / "gymhall" / module
    target.write_text(target.read_text() + f"\n{line}  # noqa\n")
    done = _lint(tmp_path)
    assert done.returncode == 1, done.stdout
    broken = [row for row in done.stdout.splitlines() if row.endswith("BROKEN")]
    assert any(row.startswith(contract) for row in broken), done.stdout


def _ini(config: dict[str, object]) -> str:
    """The pyproject's [tool.importlinter] as the INI file `lint-imports` reads from a directory."""
    lines = ["[importlinter]", f"root_package = {config['root_package']}"]
    lines.append(f"include_external_packages = {config['include_external_packages']}")
    contracts = config["contracts"]
    assert isinstance(contracts, list)
    for number, contract in enumerate(contracts):
        lines.append(f"\n[importlinter:contract:{number}]")
        for key, value in contract.items():
            if isinstance(value, list):
                lines.append(f"{key} =\n" + "\n".join(f"    {item}" for item in value))
            else:
                lines.append(f"{key} = {value}")
    return "\n".join(lines) + "\n"
