"""`gymhall init`: a new environment project, from a starter domain module of one archetype.

    scaffold("my_game", archetype="game", directory=Path("envs"))

writes `envs/my_game/my_game.py`, a small domain class with no gymhall import (a number-guessing
game, a shopping-list sandbox, or a one-button screen for computer use), and ports it into the same
directory: the package `my_game_gymhall/` (server, config, dataset with reference solutions), and
pyproject.toml registering it with gymhall, tests, Dockerfile, rollout script and README. Editing the
domain module and running `gymhall port` again is how the environment grows.
"""

from __future__ import annotations

import importlib.util
import keyword
import re
import sys
from pathlib import Path

import orjson

from gymhall.config.registry import list_envs
from gymhall.exceptions import PortError, port_error
from gymhall.generator.domain_import import load_domain
from gymhall.generator.inspection import inspect_domain
from gymhall.generator.project import PROJECT_MODULES, dataset_path, project_files, write_files
from gymhall.generator.server_source import camel_case
from gymhall.generator.spec import ARCHETYPES, Archetype, DomainSpec
from gymhall.generator.templates import template, template_text

__all__ = ["ARCHETYPES", "Archetype", "scaffold"]

# Beside the project's own modules, the names of its folders and of pytest's files.
_RESERVED_NAMES = PROJECT_MODULES | {"tests", "data", "configs", "conftest", "test"}
_NAME = re.compile(r"[a-z][a-z0-9_]*")


def _check_name(name: str, own_file: Path) -> None:
    fix = "choose a lowercase Python identifier no module uses, e.g. my_puzzle"
    if not _NAME.fullmatch(name) or keyword.iskeyword(name):
        raise port_error(f"name {name!r}", "not a lowercase Python identifier (it names the domain module)", fix)
    if name in _RESERVED_NAMES:
        raise port_error(f"name {name!r}", "the project uses this name for its own files", fix)
    if any(env.id == name and env.source == "bundled" for env in list_envs()):
        # The name is the environment's id: installed, the project would be skipped in favour of the bundled one.
        raise port_error(f"name {name!r}", "a bundled environment has this id (see gymhall envs)", fix)
    found = None if name in sys.stdlib_module_names else importlib.util.find_spec(name)
    if name in sys.stdlib_module_names or (found is not None and Path(found.origin or "").resolve() != own_file):
        raise port_error(
            f"name {name!r}", "an importable module already has this name, which the domain would shadow", fix
        )


def scaffold(
    name: str,
    *,
    archetype: Archetype = "game",
    directory: Path | None = None,
    force: bool = False,
) -> tuple[DomainSpec, Path, list[Path]]:
    """Write a new environment project `name` of `archetype` under `directory`; returns spec, project, files.

    Refuses to replace files with other content unless `force`.
    """
    if archetype not in ARCHETYPES:
        raise port_error(f"--archetype {archetype}", "not an archetype", f"choose one of: {', '.join(ARCHETYPES)}")
    project = ((directory or Path.cwd()) / name).resolve()
    _check_name(name, project / f"{name}.py")
    stem = archetype.replace("-", "_")
    domain_source = template(f"init/{stem}.py.tmpl").substitute(
        class_name=camel_case(name), title=name.replace("_", " ").capitalize()
    )
    rows = [orjson.loads(line) for line in template_text(f"init/{stem}.jsonl").splitlines() if line]
    domain_file = project / f"{name}.py"
    if domain_file.exists() and domain_file.read_text(encoding="utf-8") != domain_source and not force:
        raise port_error(
            str(domain_file), "the file exists with other content", "choose another name or --dir, or --force"
        )
    project.mkdir(parents=True, exist_ok=True)
    domain_file.write_text(domain_source, encoding="utf-8")
    try:
        cls, root = load_domain(str(domain_file), again=f"run gymhall init {name} --archetype {archetype} again")
        spec = inspect_domain(cls, root=root)
    except PortError:
        domain_file.unlink()
        raise
    command = f"gymhall port {name}.py --out . --dataset {dataset_path(spec)} --force"
    contents = project_files(spec, project, rows=rows, command=command)
    return spec, project, [domain_file, *write_files(project, contents, force=force)]
