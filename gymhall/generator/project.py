"""The project `gymhall port` writes for a `DomainSpec`: every file's text, and writing them out.

    written = write_project(spec, Path("games/gymhall"))

The files come from the templates in `gymhall/generator/templates/port/`. The environment itself is a
package, `<env>_gymhall/`, holding `server.py` (which imports the domain module), `configs/<env>.yaml`
and the dataset `data/<env>.jsonl`: laid out as a bundled environment's folder, so that the entry
point `pyproject.toml` registers (group `gymhall.environments`) makes `pip install` of the project
show it in `gymhall envs`. Beside the package: `pyproject.toml` (every dependency the code imports;
the wheel ships the domain module beside `server.py`), a Dockerfile, `rollout.py`, tests and a README.
Files with other content are not replaced without `force`.
"""

from __future__ import annotations

import ast
import copy
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gymhall.exceptions import port_error
from gymhall.generator.server_source import default_domain, server_source
from gymhall.generator.spec import Action, DomainSpec
from gymhall.generator.templates import template

__all__ = [
    "PROJECT_MODULES",
    "dataset_path",
    "env_name_title",
    "env_tag",
    "package_name",
    "project_files",
    "write_files",
    "write_project",
]

PROJECT_MODULES = frozenset({"server", "rollout", "gymhall"})
"""Module names a domain module cannot take: the project's own modules, and gymhall itself."""


@dataclass
class _Files:
    """The files of a project to write, by path relative to the project."""

    contents: dict[str, str] = field(default_factory=dict)

    def add(self, path: str, text: str) -> None:
        self.contents[path] = text if text.endswith("\n") else text + "\n"


def project_files(
    spec: DomainSpec,
    project: Path,
    *,
    rows: Sequence[Mapping[str, Any]] | None = None,
    domain: str | None = None,
    command: str = "",
) -> dict[str, str]:
    """The text of every file of the project for `spec`, by path relative to `project`."""
    from gymhall import __version__

    project = project.resolve()
    env = spec.env_name
    package = package_name(spec)
    env_class = f"{spec.class_name}Environment"
    domain = domain or default_domain(spec)
    files = _Files()
    files.add(f"{package}/__init__.py", template("port/__init__.py.tmpl").substitute(env=env))
    files.add(f"{package}/server.py", server_source(spec, project / package, env_class, domain))
    requirements = [f"gymhall>={__version__}", "pydantic>=2.7", *spec.dependencies]
    description = f"{spec.class_name} ({spec.module}) served as a gymhall environment."
    files.add(
        "pyproject.toml",
        template("port/pyproject.toml.tmpl").substitute(
            name=f"{env.replace('_', '-')}-gymhall",
            description=json.dumps(description),
            dependencies="".join(f"    {json.dumps(r)},\n" for r in requirements),
            env=env,
            package=package,
            shipped=_shipped_domain(spec, project, package),
        ),
    )
    context = Path(os.path.commonpath([project, *(p.parent for p in spec.local_files)])) if spec.local_files else None
    files.add("Dockerfile", _dockerfile(spec, project, context))
    config_description = f"{spec.class_name} from {spec.module}; tools: {', '.join(a.name for a in spec.actions)}"
    files.add(
        f"{package}/configs/{env}.yaml",
        template("port/config.yaml.tmpl").substitute(
            env=env,
            package=package,
            domain=domain,
            description=json.dumps(config_description + "; reward: " + spec.grader.describe(spec.class_name)),
        ),
    )
    files.add(
        "rollout.py",
        template("port/rollout.py.tmpl").substitute(env=env, package=package, class_name=spec.class_name),
    )
    dataset = rows if rows is not None else _starter_rows(spec)
    files.add(dataset_path(spec), "".join(json.dumps(dict(row)) + "\n" for row in dataset))
    files.add(
        "tests/test_server.py",
        template("port/test_server.py.tmpl").substitute(
            env=env,
            package=package,
            env_class=env_class,
            class_name=spec.class_name,
            tool_names=json.dumps(sorted(a.name for a in spec.actions)),
        ),
    )
    files.add("README.md", _readme(spec, project, context, env_class, command))
    return files.contents


def write_files(project: Path, contents: Mapping[str, str], *, force: bool = False) -> list[Path]:
    """Write `contents` under `project`; refuses to replace a file whose text differs unless `force`."""
    clashes = [
        path
        for path, text in contents.items()
        if (project / path).exists() and (project / path).read_text(encoding="utf-8") != text
    ]
    if clashes and not force:
        shown = ", ".join(sorted(clashes)[:5])
        raise port_error(
            str(project),
            f"{len(clashes)} file(s) exist with other content ({shown})",
            "choose another --out, or pass --force to replace them",
        )
    written = []
    for path, text in contents.items():
        target = project / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def write_project(
    spec: DomainSpec,
    project: Path,
    *,
    rows: Sequence[Mapping[str, Any]] | None = None,
    domain: str | None = None,
    force: bool = False,
    command: str = "",
) -> list[Path]:
    """Write the project for `spec` into `project`; returns the files written."""
    return write_files(project, project_files(spec, project, rows=rows, domain=domain, command=command), force=force)


def package_name(spec: DomainSpec) -> str:
    """The environment's package in the project: `<env>_gymhall`, which the entry point names."""
    return f"{spec.env_name}_gymhall"


def dataset_path(spec: DomainSpec) -> str:
    """The dataset's path in the project: where the registry looks (`<package>/data/<env>.jsonl`)."""
    return f"{package_name(spec)}/data/{spec.env_name}.jsonl"


def _shipped_domain(spec: DomainSpec, project: Path, package: str) -> str:
    """pyproject.toml's table shipping the domain module (and the siblings it imports) in the wheel.

    The domain stays where it is, imported rather than copied; a wheel cannot reach outside itself, so it
    ships the module's top-level file (or package folder) beside `server.py`, where the server looks first.
    An installed domain (no root) is a dependency instead, and needs no table.
    """
    if spec.root is None or not spec.local_files:
        return ""
    tops = sorted({Path(os.path.relpath(path, spec.root)).parts[0] for path in spec.local_files})
    lines = [
        f"{json.dumps(Path(os.path.relpath(spec.root / top, project)).as_posix())} = {json.dumps(f'{package}/{top}')}"
        for top in tops
        if top != ".."
    ]
    return (
        "\n# The domain module, which server.py imports from where it lives: the wheel ships it beside\n"
        "# server.py (pip install -e . reads it in place). Build the wheel from this directory.\n"
        "[tool.hatch.build.targets.wheel.force-include]\n" + "".join(line + "\n" for line in lines)
    )


def env_tag(spec: DomainSpec) -> str:
    """The image tag the README and Dockerfile suggest."""
    return f"{spec.env_name.replace('_', '-')}-gymhall"


def env_name_title(spec: DomainSpec) -> str:
    """A title for the README: the environment's name in words."""
    return spec.env_name.replace("_", " ").title()


def _starter_rows(spec: DomainSpec) -> list[dict[str, Any]]:
    tools = ", ".join(a.name for a in spec.actions)
    prompt = f"{spec.summary or spec.class_name} Use the tools ({tools}) to complete the task, then answer."
    row: dict[str, Any] = {"responses_create_params": {"input": [{"role": "user", "content": prompt}]}}
    for argument in spec.constructor:
        if argument.default is None:
            row[argument.name] = None
    if spec.grader.kind == "answer":
        row["expected_answer"] = ""
    # One call of the first tool, so that the project's tests that need a call run; the author replaces it.
    calls = [{"name": action.name, "arguments": _placeholder_arguments(action)} for action in spec.actions[:1]]
    row["reference_solution"] = {"tool_calls": calls, "answer": ""}
    return [row]


# A placeholder for a required argument, by its annotation's outer type; None for the others.
_PLACEHOLDERS: dict[str, Any] = {"int": 0, "float": 0.0, "str": "", "bool": False, "list": [], "dict": {}}


def _placeholder(annotation: str) -> Any:
    """A value of the type `annotation` (Python source) names: a Literal's first choice, a zero, or None."""
    try:
        tree = ast.parse(annotation, mode="eval").body
    except SyntaxError:
        return None
    outer = tree.value if isinstance(tree, ast.Subscript) else tree
    name = outer.attr if isinstance(outer, ast.Attribute) else getattr(outer, "id", "")
    if name == "Literal" and isinstance(tree, ast.Subscript):
        choices = tree.slice.elts if isinstance(tree.slice, ast.Tuple) else [tree.slice]
        return choices[0].value if isinstance(choices[0], ast.Constant) else None
    return copy.deepcopy(_PLACEHOLDERS.get(name))


def _placeholder_arguments(action: Action) -> dict[str, Any]:
    """Arguments for the starter row's one tool call: each literal default, else a placeholder.

    The call is there so that the project's own tests that need a tool call (sessions do not share
    state, doing nothing scores below 1) run from the start; the author replaces it with a real solution.
    """
    arguments: dict[str, Any] = {}
    for argument in action.arguments:
        if argument.default is None:
            arguments[argument.name] = _placeholder(argument.annotation)
            continue
        try:
            arguments[argument.name] = ast.literal_eval(argument.default)
        except (ValueError, TypeError, SyntaxError):
            pass  # not a literal: the tool's own default applies
    return arguments


def _in_context(project: Path, context: Path | None) -> str:
    """The project's directory relative to the image's build context (`.` when it is the context)."""
    return Path(os.path.relpath(project, context or project)).as_posix()


def _dockerfile(spec: DomainSpec, project: Path, context: Path | None) -> str:
    if context is None:  # an installed domain package: the image only needs the project
        context = project
    in_context = _in_context(project, context)
    if in_context == ".":
        copies = ["COPY . ./"]
    else:
        # At the same relative places as in the source tree: pyproject.toml's force-include paths point there.
        copies = []
        for path in spec.local_files:
            relative = Path(os.path.relpath(path, context)).as_posix()
            copies.append(f"COPY {relative} ./{relative}")
        copies.append(f"COPY {in_context}/ ./{in_context}/")
    return template("port/Dockerfile.tmpl").substitute(
        env=env_tag(spec),
        copies="\n".join(copies),
        install="." if in_context == "." else f"./{in_context}",
        package=package_name(spec),
        dockerfile="Dockerfile" if in_context == "." else f"{in_context}/Dockerfile",
        context_note="the project directory" if in_context == "." else f"the directory holding {in_context}/",
    )


def _readme(spec: DomainSpec, project: Path, context: Path | None, env_class: str, command: str) -> str:
    rows = []
    for action in spec.actions:
        arguments = ", ".join(f"{a.name}: {a.annotation}" for a in action.arguments)
        summary = action.description.partition("\n")[0] or "(undocumented)"
        rows.append(f"| `{action.name}({arguments})` | {summary.replace('|', '/')} |")
    row_fields = ", ".join(f"`{a.name}`" for a in spec.constructor) or "none"
    in_context = _in_context(project, context)
    build = (
        f"docker build -t {env_tag(spec)} ."
        if in_context == "."
        else f"docker build -f {in_context}/Dockerfile -t {env_tag(spec)} ."
    )
    context_dir = "this directory" if in_context == "." else f"the directory above `{in_context}/`"
    return template("port/README.md.tmpl").substitute(
        env=env_name_title(spec),
        env_name=spec.env_name,
        package=package_name(spec),
        dataset=dataset_path(spec),
        class_name=spec.class_name,
        module=spec.module,
        env_class=env_class,
        summary=spec.summary or f"{spec.class_name} served as a gymhall environment.",
        tool_rows="\n".join(rows),
        row_fields=row_fields,
        reward=spec.grader.describe(spec.class_name)
        + (", and only if the trajectory ends with terminate(success=True)" if spec.terminate else ""),
        build=build,
        context_dir=context_dir,
        tag=env_tag(spec),
        command=command or f"gymhall port {spec.module}:{spec.class_name} --force",
        dependencies=", ".join(spec.dependencies) or "none beyond gymhall",
    )
