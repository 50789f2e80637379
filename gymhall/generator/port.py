"""`gymhall port`: serve an existing domain class as a gymhall environment, without copying its logic.

    spec, project, files = port("examples/port/sliding_puzzle/sliding_puzzle.py")

`port` loads and reads the class (`gymhall.generator.domain_class`), then writes the project from the templates in
`gymhall/generator/templates/port/`: `server.py` (which imports the domain module), `pyproject.toml` declaring
every dependency the code imports, a Dockerfile, `configs/<env>.yaml`, `rollout.py`, a dataset, tests
and a README. `write_project` writes the project for a `DomainSpec` already read.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from gymhall.exceptions import port_error
from gymhall.generator.domain_class import Argument, DomainSpec, inspect_domain, load_domain, python_literal

__all__ = [
    "env_name_title",
    "env_tag",
    "port",
    "project_files",
    "write_files",
    "write_project",
]

_TEMPLATES = "gymhall.generator.templates"


def _template(name: str) -> Template:
    return Template(resources.files(_TEMPLATES).joinpath(name).read_text(encoding="utf-8"))


def _docstring(text: str, indent: str) -> str:
    """`text` as a docstring body (escaped), lines indented by `indent`."""
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"').strip() or "(undocumented)"
    if text.endswith('"'):
        text += " "
    lines = text.splitlines()
    return "\n".join([lines[0], *[(indent + line) if line.strip() else "" for line in lines[1:]]])


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def _field(argument: Argument) -> str:
    options = []
    if argument.default is not None:
        options.append(f"default={argument.default}")
    if argument.field_name != argument.name:
        options.append(f"alias={python_literal(argument.name)}")
    if argument.description:
        options.append(f"description={python_literal(argument.description)}")
    if not options:
        return f"{argument.field_name}: {argument.annotation}"
    if options == [f"default={argument.default}"]:
        return f"{argument.field_name}: {argument.annotation} = {argument.default}"
    return _wrap_call(f"{argument.field_name}: {argument.annotation} = Field", options, "    ")


def _call(target: str, arguments: Sequence[Argument], source: str) -> str:
    parts = [
        f"{source}.{a.field_name}" if a.positional_only else f"{a.name}={source}.{a.field_name}" for a in arguments
    ]
    return f"{target}({', '.join(parts)})"


def _wrap_call(head: str, parts: list[str], indent: str, width: int = 120) -> str:
    """`head(part, part)` on one line when it fits, else one part per line (ruff-format style)."""
    one_line = f"{head}({', '.join(parts)})"
    if len(indent) + len(one_line) <= width:
        return one_line
    inner = indent + "    "
    return f"{head}(\n" + "".join(f"{inner}{part},\n" for part in parts) + f"{indent})"


_ENVIRONMENT_NAMES = frozenset(name for name in ("config", "config_class", "domain", "tools", "run_webserver"))


def _server_source(spec: DomainSpec, project: Path, env_class: str) -> str:
    cls = spec.class_name
    row_class, uses_field = f"{cls}Row", False
    blocks: list[str] = []
    # Arguments models, one per tool with arguments.
    tool_methods: list[str] = []
    for action in spec.actions:
        python_name = action.name if action.name not in _ENVIRONMENT_NAMES else f"{action.name}_tool"
        decorator = "@tool" if python_name == action.name else f"@tool(name={action.name!r})"
        parameters = "self, state: Episode"
        call = _call(f"state.instance.{action.name}", action.arguments, "args")
        if action.arguments:
            model = f"{_camel(action.name)}Arguments"
            fields = [_field(a) for a in action.arguments]
            uses_field = uses_field or any("Field(" in f for f in fields)
            blocks.append(
                f"class {model}(BaseModel):\n"
                f'    """The arguments of {cls}.{action.name}."""\n\n'
                '    model_config = ConfigDict(extra="forbid", populate_by_name=True)\n\n'
                + "".join(f"    {f}\n" for f in fields)
            )
            parameters += f", args: {model}"
        tool_methods.append(
            f"    {decorator}\n"
            f"    def {python_name}({parameters}) -> Any:\n"
            f'        """{_docstring(action.description, "        ")}"""\n'
            "        with _model_errors():\n"
            f"            return _result({call})\n"
        )
    # The row: the constructor's arguments.
    row_fields = [_field(a) for a in spec.constructor]
    if spec.grader.kind == "answer":
        row_fields.append("expected_answer: str")
    uses_field = uses_field or any("Field(" in f for f in row_fields)
    row_body = "".join(f"    {f}\n" for f in row_fields) or "    pass\n"
    constructor_parts = [
        f"self.row.{a.field_name}" if a.positional_only else f"{a.name}=self.row.{a.field_name}"
        for a in spec.constructor
    ]
    construct = _wrap_call(cls, constructor_parts, "            ")
    verify = _verify_source(spec)
    # Imports.
    typing_names = sorted({"Any", *spec.typing_names})
    pydantic_names = ["BaseModel", "ConfigDict", *(["Field"] if uses_field else [])]
    domain_imports: dict[str, set[str]] = {spec.module: {cls}}
    for module, imported in spec.type_imports.items():
        domain_imports.setdefault(module, set()).update(imported)
    import_lines = [
        f"from {module} import {', '.join(sorted(names))}" for module, names in sorted(domain_imports.items())
    ]
    noqa = "  # noqa: E402 - importable once the path above is set" if spec.root is not None else ""
    domain_import = "\n".join(line + noqa for line in import_lines)
    if spec.root is not None:
        relative = Path(os.path.relpath(spec.root, project)).as_posix()
        path_block = (
            f"# The domain module lives in {relative!r}, relative to this file: importable however the server starts.\n"
            f'_DOMAIN_ROOT = str((Path(__file__).resolve().parent / "{relative}").resolve())\n'
            "if _DOMAIN_ROOT not in sys.path:\n"
            "    sys.path.insert(0, _DOMAIN_ROOT)\n\n"
        )
        path_imports = "import sys\nfrom pathlib import Path\n"
    else:
        path_block, path_imports = "", ""
    stdlib = ["import base64", "import contextlib", "import dataclasses", "import enum"]
    if spec.terminate:
        stdlib.append("import json")
    stdlib.append("from collections.abc import Iterator")
    stdlib_block = "\n".join(sorted(stdlib, key=lambda s: (s.startswith("from"), s)))
    if path_imports:
        stdlib_block = "\n".join(
            sorted([*stdlib_block.splitlines(), *path_imports.splitlines()], key=lambda s: (s.startswith("from"), s))
        )
    gymhall_names = ["BaseSeedSessionRequest", "BaseVerifyRequest", "Environment", "ToolError", "tool"]
    tools_list = ", ".join(a.name for a in spec.actions)
    return _template("port/server.py.tmpl").substitute(
        module=spec.module,
        class_name=cls,
        env_class=env_class,
        row_class=row_class,
        tools_list=tools_list,
        reward_line=spec.grader.describe(cls),
        terminate_line=(
            "\nThe trajectory must also end with a terminate(success=True) call.\n" if spec.terminate else ""
        ),
        stdlib_imports=stdlib_block,
        typing_import=f"from typing import {', '.join(typing_names)}",
        pydantic_import=f"from pydantic import {', '.join(pydantic_names)}",
        gymhall_import=f"from gymhall import {', '.join(gymhall_names)}",
        path_block=path_block,
        domain_import=domain_import,
        row_body=row_body,
        construct=construct,
        argument_models="\n\n".join(blocks) + ("\n\n" if blocks else ""),
        domain=_domain_value(spec),
        tool_methods="\n".join(tool_methods),
        verify=verify,
        terminate_helper=_TERMINATE_HELPER if spec.terminate else "",
    )


_TERMINATE_HELPER = '''

def _terminated_with_success(body: BaseVerifyRequest) -> bool:
    """Whether the trajectory's last terminate call said success=True."""
    success = False
    for item in body.response.output:
        if getattr(item, "type", None) == "function_call" and getattr(item, "name", None) == "terminate":
            try:
                success = json.loads(getattr(item, "arguments", "") or "{}").get("success") is True
            except (ValueError, AttributeError):
                success = False
    return success
'''


def _verify_source(spec: DomainSpec) -> str:
    grader, lines = spec.grader, []
    if spec.terminate:
        lines += ["        if not _terminated_with_success(body):", "            return 0.0"]
    if grader.kind == "answer":
        lines.append("        return float(body.response.output_text.strip() == state.row.expected_answer.strip())")
    else:
        access = f"state.instance.{grader.name}" + ("" if grader.is_property else "()")
        if grader.kind == "success":
            lines.append(f"        return 1.0 if {access} else 0.0")
        else:
            lines.append(f"        return float({access})")
    return "\n".join(lines)


def _domain_value(spec: DomainSpec) -> str:
    return {"game": "games", "sandbox": "agent", "computer-use": "agent"}[spec.archetype]


@dataclass
class _Files:
    """The files of a project to write, by path relative to the project."""

    contents: dict[str, str] = field(default_factory=dict)

    def add(self, path: str, text: str) -> None:
        self.contents[path] = text if text.endswith("\n") else text + "\n"


def _starter_rows(spec: DomainSpec) -> list[dict[str, Any]]:
    tools = ", ".join(a.name for a in spec.actions)
    prompt = f"{spec.summary or spec.class_name} Use the tools ({tools}) to complete the task, then answer."
    row: dict[str, Any] = {"responses_create_params": {"input": [{"role": "user", "content": prompt}]}}
    for argument in spec.constructor:
        if argument.default is None:
            row[argument.name] = None
    if spec.grader.kind == "answer":
        row["expected_answer"] = ""
    row["reference_solution"] = {"tool_calls": [], "answer": ""}
    return [row]


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
    env_class = f"{spec.class_name}Environment"
    files = _Files()
    server = _server_source(spec, project, env_class)
    if domain is not None:
        server = server.replace(f'domain = "{_domain_value(spec)}"', f'domain = "{domain}"', 1)
    files.add("server.py", server)
    requirements = [f"gymhall>={__version__}", "pydantic>=2.7", *spec.dependencies]
    description = f"{spec.class_name} ({spec.module}) served as a gymhall environment."
    files.add(
        "pyproject.toml",
        _template("port/pyproject.toml.tmpl").substitute(
            name=f"{env.replace('_', '-')}-gymhall",
            description=json.dumps(description),
            dependencies="".join(f"    {json.dumps(r)},\n" for r in requirements),
        ),
    )
    context = Path(os.path.commonpath([project, *(p.parent for p in spec.local_files)])) if spec.local_files else None
    files.add("Dockerfile", _dockerfile(spec, project, context))
    config_description = f"{spec.class_name} from {spec.module}; tools: {', '.join(a.name for a in spec.actions)}"
    files.add(
        f"configs/{env}.yaml",
        _template("port/config.yaml.tmpl").substitute(
            env=env,
            domain=domain or _domain_value(spec),
            description=json.dumps(config_description + "; reward: " + spec.grader.describe(spec.class_name)),
        ),
    )
    files.add("rollout.py", _template("port/rollout.py.tmpl").substitute(env=env, class_name=spec.class_name))
    dataset = rows if rows is not None else _starter_rows(spec)
    files.add("data/example.jsonl", "".join(json.dumps(dict(row)) + "\n" for row in dataset))
    files.add(
        "tests/test_server.py",
        _template("port/test_server.py.tmpl").substitute(
            env=env,
            env_class=env_class,
            class_name=spec.class_name,
            tool_names=json.dumps(sorted(a.name for a in spec.actions)),
        ),
    )
    files.add("README.md", _readme(spec, project, context, env_class, command))
    return files.contents


def _dockerfile(spec: DomainSpec, project: Path, context: Path | None) -> str:
    if context is None:  # an installed domain package: the image only needs the project
        context = project
    in_context = Path(os.path.relpath(project, context)).as_posix()
    if in_context == ".":
        copies = ["COPY . ./"]
    else:
        copies = [f"COPY {Path(os.path.relpath(p, context)).as_posix()} ./" for p in spec.local_files]
        copies.append(f"COPY {in_context}/ ./{in_context}/")
    pyproject = "pyproject.toml" if in_context == "." else f"{in_context}/pyproject.toml"
    return _template("port/Dockerfile.tmpl").substitute(
        env=env_tag(spec),
        pyproject=pyproject,
        copies="\n".join(copies),
        workdir="/app" if in_context == "." else f"/app/{in_context}",
        dockerfile="Dockerfile" if in_context == "." else f"{in_context}/Dockerfile",
        context_note="the project directory" if in_context == "." else f"the directory holding {in_context}/",
    )


def env_tag(spec: DomainSpec) -> str:
    """The image tag the README and Dockerfile suggest."""
    return f"{spec.env_name.replace('_', '-')}-gymhall"


def _readme(spec: DomainSpec, project: Path, context: Path | None, env_class: str, command: str) -> str:
    rows = []
    for action in spec.actions:
        arguments = ", ".join(f"{a.name}: {a.annotation}" for a in action.arguments)
        summary = action.description.partition("\n")[0] or "(undocumented)"
        rows.append(f"| `{action.name}({arguments})` | {summary.replace('|', '/')} |")
    row_fields = ", ".join(f"`{a.name}`" for a in spec.constructor) or "none"
    in_context = Path(os.path.relpath(project, context or project)).as_posix()
    build = (
        f"docker build -t {env_tag(spec)} ."
        if in_context == "."
        else f"docker build -f {in_context}/Dockerfile -t {env_tag(spec)} ."
    )
    context_dir = "this directory" if in_context == "." else f"the directory above `{in_context}/`"
    return _template("port/README.md.tmpl").substitute(
        env=env_name_title(spec),
        env_name=spec.env_name,
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


def env_name_title(spec: DomainSpec) -> str:
    """A title for the README: the environment's name in words."""
    return spec.env_name.replace("_", " ").title()


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


def port(
    target: str,
    *,
    out: Path | None = None,
    dataset: Path | None = None,
    verify_method: str | None = None,
    reward_method: str | None = None,
    exclude: Iterable[str] = (),
    domain: str | None = None,
    force: bool = False,
) -> tuple[DomainSpec, Path, list[Path]]:
    """`gymhall port`: load `target`, read it, write its project; returns the spec, the project and the files.

    The project goes to `out`, by default a `gymhall/` folder beside the domain module.
    """
    from gymhall.config.settings import Domain
    from gymhall.rollouts.datasets import read_rows

    if domain is not None and domain not in {d.value for d in Domain}:
        allowed = ", ".join(d.value for d in Domain)
        raise port_error(f"--domain {domain}", "not a domain gymhall knows", f"use one of: {allowed}")
    cls, root = load_domain(target)
    spec = inspect_domain(cls, root=root, verify_method=verify_method, reward_method=reward_method, exclude=exclude)
    if spec.env_name in ("server", "rollout", "gymhall"):
        raise port_error(
            spec.module, f"a domain module named {spec.env_name!r} would clash with the project's own", "rename it"
        )
    if out is None:
        module_file = sys.modules[cls.__module__].__file__
        out = (Path(module_file).resolve().parent if module_file else Path.cwd()) / "gymhall"
    rows = read_rows(dataset) if dataset is not None else None
    flags = [f"--out {out}"]
    if dataset is not None:
        flags.append(f"--dataset {dataset}")
    if verify_method:
        flags.append(f"--verify-method {verify_method}")
    if reward_method:
        flags.append(f"--reward-method {reward_method}")
    flags.extend(f"--exclude {name}" for name in exclude)
    command = f"gymhall port {target} {' '.join(flags)} --force"
    written = write_project(spec, out, rows=rows, domain=domain, force=force, command=command)
    return spec, out.resolve(), written
