"""Read one YAML config file into a mapping, as OmegaConf would read it, with errors that name file and line.

`YamlLoader` is PyYAML's safe loader with OmegaConf's scalar rules (dates stay strings, ``1e-5`` is a
float) and duplicate keys rejected; `read_yaml_file` uses it for config files and ``env.yaml`` alike.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from gymhall.config.settings import config_error

__all__ = ["YamlLoader", "read_yaml_file"]

_MAPPING_FIX = "start the file with blocks such as 'my_env: ...'"


class YamlLoader(yaml.SafeLoader):
    """SafeLoader that, like OmegaConf's, keeps dates as strings and reads ``1e-5`` as a float.

    It also rejects duplicate keys, which plain PyYAML silently collapses to the last one.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, str | int | float | bool) and key in seen:
                mark = key_node.start_mark
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?\d[\d_]*(?:\.\d*)?[eE][-+]?\d+$"), list("-+0123456789")
)


def read_yaml_file(path: Path, *, mapping_fix: str = _MAPPING_FIX) -> dict[Any, Any]:
    """The mapping at the top of the YAML file `path` (empty for an empty file).

    Raises `ConfigError` naming the file (and line) when it cannot be read, is not valid YAML, or its
    top level is not a mapping; `mapping_fix` is the fix that last error suggests.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise config_error(f"cannot read config file ({exc})", "check the path", source=path) from exc
    try:
        data = yaml.load(text, Loader=YamlLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f" near line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = f"invalid YAML{line}: {exc.problem or exc.context}"
        raise config_error(problem, "correct the YAML syntax", source=where) from exc
    except yaml.YAMLError as exc:
        raise config_error(f"invalid YAML: {exc}", "correct the YAML syntax", source=path) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        problem = f"the top level must be a mapping of keys to values, not a {type(data).__name__}"
        raise config_error(problem, mapping_fix, source=path)
    return data
