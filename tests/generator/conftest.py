"""Fixtures shared by the generator tests: domain modules in temporary files, the worked examples, ported."""

from __future__ import annotations

import importlib.util
import shutil
import site
import subprocess
import sys
import textwrap
import venv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import gymhall
from gymhall.generator.domain_import import load_domain
from gymhall.generator.inspection import inspect_domain
from gymhall.generator.port import port
from gymhall.generator.spec import DomainSpec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "port"
WORKED: dict[str, dict[str, Any]] = {
    "sliding_puzzle": {},
    "ledger": {"verify_method": "reconciled"},
    "desktop": {},
}


def _write_module(directory: Path, name: str, source: str) -> Path:
    path = directory / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    return path


@pytest.fixture(scope="session")
def port_examples() -> Path:
    """`examples/port`: the worked examples, one folder each with its domain module and dataset."""
    return EXAMPLES


@pytest.fixture(scope="session")
def worked_options() -> dict[str, dict[str, Any]]:
    """The `port` options of each worked example, by name."""
    return WORKED


@pytest.fixture(scope="session")
def write_module() -> Callable[[Path, str, str], Path]:
    """`write_module(directory, name, source)`: `directory/name.py` holding `source` (dedented)."""
    return _write_module


@pytest.fixture(scope="session")
def read_spec() -> Callable[..., DomainSpec]:
    """`read_spec(directory, name, source, **options)`: the `DomainSpec` of the class in a new module."""

    def read(directory: Path, name: str, source: str, **options: Any) -> DomainSpec:
        cls, root = load_domain(str(_write_module(directory, name, source)))
        return inspect_domain(cls, root=root, **options)

    return read


@pytest.fixture(scope="session")
def load_server() -> Callable[[Path, str], Any]:
    """`load_server(project, name)`: a written project's `<env>_gymhall/server.py`, imported as module `name`."""

    def load(project: Path, name: str) -> Any:
        (server,) = project.glob("*_gymhall/server.py")
        spec = importlib.util.spec_from_file_location(name, server)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture(scope="session")
def fresh_venv() -> Callable[[Path], Path]:
    """`fresh_venv(directory)`: a new virtualenv there that sees gymhall and its dependencies, nothing else; its python.

    `--system-site-packages` would expose the base interpreter's packages, not this virtualenv's, so a
    .pth file names this interpreter's site-packages and gymhall's source directory instead.
    """

    def create(directory: Path) -> Path:
        venv.EnvBuilder(with_pip=False, symlinks=True).create(directory)
        python = directory / "bin" / "python"
        purelib = subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        source = Path(gymhall.__file__).resolve().parent.parent
        paths = [str(source), *site.getsitepackages()]
        (Path(purelib) / "gymhall_tests_parent.pth").write_text("\n".join(paths) + "\n")
        return python

    return create


@pytest.fixture(params=sorted(WORKED))
def worked(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path]:
    """A worked example copied to a temporary directory and ported: its name and its project."""
    name = request.param
    shutil.copy(EXAMPLES / name / f"{name}.py", tmp_path)
    _, project, _ = port(
        str(tmp_path / f"{name}.py"), dataset=EXAMPLES / name / "data" / "example.jsonl", **WORKED[name]
    )
    return name, project
