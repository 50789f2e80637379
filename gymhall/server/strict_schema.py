"""The strict form of a JSON schema that OpenAI's function calling requires (`"strict": true`).

In strict mode every object closes (`additionalProperties: false`) and lists every property as
required (an optional argument is one whose schema admits null), and a `$ref` carries no sibling
keywords. This is the conversion the OpenAI SDK's `pydantic_function_tool` applies, written here so
that a resources server does not import the SDK (about 0.5 s and 20 MB) to answer `GET /tools`;
`tests/server/test_strict_schema.py` checks it gives the SDK's answer for every bundled tool.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

__all__ = ["strict_json_schema"]


def strict_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """`model`'s JSON schema in strict form."""
    schema = model.model_json_schema()
    return _strict(schema, schema, "#")


def _strict(node: Any, root: dict[str, Any], where: str) -> dict[str, Any]:
    if not isinstance(node, dict):
        raise TypeError(f"{where}: a JSON schema must be an object, not {node!r}")
    for key in ("$defs", "definitions"):
        named = node.get(key)
        if isinstance(named, dict):
            for name, sub in named.items():
                _strict(sub, root, f"{where}/{key}/{name}")
    if node.get("type") == "object":
        node.setdefault("additionalProperties", False)
    properties = node.get("properties")
    if isinstance(properties, dict):
        node["required"] = list(properties)
        node["properties"] = {k: _strict(v, root, f"{where}/properties/{k}") for k, v in properties.items()}
    if isinstance(node.get("items"), dict):
        node["items"] = _strict(node["items"], root, f"{where}/items")
    if isinstance(node.get("anyOf"), list):
        node["anyOf"] = [_strict(v, root, f"{where}/anyOf/{i}") for i, v in enumerate(node["anyOf"])]
    all_of = node.get("allOf")
    if isinstance(all_of, list):
        if len(all_of) == 1:  # a lone allOf is how pydantic attaches keywords to a $ref: fold it in
            node.update(_strict(all_of[0], root, f"{where}/allOf/0"))
            del node["allOf"]
        else:
            node["allOf"] = [_strict(v, root, f"{where}/allOf/{i}") for i, v in enumerate(all_of)]
    if "default" in node and node["default"] is None:  # null is already admitted: the default says nothing more
        del node["default"]
    ref = node.get("$ref")
    if isinstance(ref, str) and len(node) > 1:
        # Strict mode refuses keywords beside a $ref: inline its target, the node's own keywords winning.
        inlined = {**_target(root, ref), **node}
        del inlined["$ref"]
        node.clear()
        node.update(inlined)
        return _strict(node, root, where)
    return node


def _target(root: dict[str, Any], ref: str) -> dict[str, Any]:
    if not ref.startswith("#/"):
        raise ValueError(f"$ref {ref!r}: only references inside the schema (#/...) are supported")
    found: Any = root
    for key in ref[2:].split("/"):
        found = found.get(key) if isinstance(found, dict) else None
    if not isinstance(found, dict):
        raise ValueError(f"$ref {ref!r} does not name an object of the schema")
    return found
