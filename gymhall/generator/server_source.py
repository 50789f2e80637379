"""The generated project's `server.py`: a gymhall `Environment` whose tools call the domain class.

    text = server_source(spec, project / "sliding_puzzle_gymhall", "SlidingPuzzleEnvironment", default_domain(spec))

Written from `templates/port/server.py.tmpl`: one pydantic arguments model per tool with arguments,
a row model of the constructor's arguments, one `@tool` method per action, and `verify` calling the
grader. The domain module is imported, never copied; the code is ruff-clean as written.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from gymhall.generator.hints import python_literal
from gymhall.generator.spec import Argument, DomainSpec
from gymhall.generator.templates import template

__all__ = ["camel_case", "default_domain", "server_source"]

# Attributes of gymhall's `Environment` a tool method must not shadow: such tools get a `_tool` suffix.
_ENVIRONMENT_NAMES = frozenset({"config", "config_class", "domain", "tools", "run_webserver"})

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


def camel_case(name: str) -> str:
    """`snake_name` as `SnakeName`, for the names of generated classes."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def default_domain(spec: DomainSpec) -> str:
    """The config's `domain` for the spec's archetype, when `--domain` does not name one."""
    return {"game": "games", "sandbox": "agent", "computer-use": "agent"}[spec.archetype]


def server_source(spec: DomainSpec, folder: Path, env_class: str, domain: str) -> str:
    """The text of `server.py` for `spec`, written into `folder`, defining `env_class` in `domain`."""
    cls = spec.class_name
    row_class, uses_field = f"{cls}Row", False
    blocks: list[str] = []
    # Arguments models, one per tool with arguments.
    tool_methods: list[str] = []
    for action in spec.actions:
        python_name = action.name if action.name not in _ENVIRONMENT_NAMES else f"{action.name}_tool"
        decorator = "@tool" if python_name == action.name else f"@tool(name={action.name!r})"
        parameters = "self, state: Episode"
        call = f"state.instance.{action.name}({', '.join(_call_arguments(action.arguments, 'args'))})"
        if action.arguments:
            model = f"{camel_case(action.name)}Arguments"
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
    construct = _wrap_call(cls, _call_arguments(spec.constructor, "self.row"), "            ")
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
        relative = Path(os.path.relpath(spec.root, folder)).as_posix()
        top = spec.module.partition(".")[0]
        shipped = top if "." in spec.module else f"{top}.py"
        path_block = (
            f"# The domain module, imported and never copied: in the source tree it lives in {relative!r},\n"
            "# relative to this file; an installed wheel ships it beside this file. Importable however the\n"
            "# server starts.\n"
            "_HERE = Path(__file__).resolve().parent\n"
            f'_DOMAIN_ROOT = str(_HERE if (_HERE / "{shipped}").exists() else (_HERE / "{relative}").resolve())\n'
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
    return template("port/server.py.tmpl").substitute(
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
        domain=domain,
        tool_methods="\n".join(tool_methods),
        verify=_verify_source(spec),
        terminate_helper=_TERMINATE_HELPER if spec.terminate else "",
    )


def _docstring(text: str, indent: str) -> str:
    """`text` as a docstring body (escaped), lines indented by `indent`."""
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"').strip() or "(undocumented)"
    if text.endswith('"'):
        text += " "
    lines = text.splitlines()
    return "\n".join([lines[0], *[(indent + line) if line.strip() else "" for line in lines[1:]]])


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


def _call_arguments(arguments: Sequence[Argument], source: str) -> list[str]:
    """The arguments of a call passing each of `arguments` from the model `source`, by name unless positional."""
    return [f"{source}.{a.field_name}" if a.positional_only else f"{a.name}={source}.{a.field_name}" for a in arguments]


def _wrap_call(head: str, parts: list[str], indent: str, width: int = 120) -> str:
    """`head(part, part)` on one line when it fits, else one part per line (ruff-format style)."""
    one_line = f"{head}({', '.join(parts)})"
    if len(indent) + len(one_line) <= width:
        return one_line
    inner = indent + "    "
    return f"{head}(\n" + "".join(f"{inner}{part},\n" for part in parts) + f"{indent})"


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
