"""An MCP tool's `inputSchema` as an OpenAI strict-mode tool schema, and the model's arguments back.

Strict mode wants every object closed (`additionalProperties: false`) with every property required.
So an optional property becomes required and nullable (a null is dropped before the MCP call), `oneOf`
becomes `anyOf`, `$ref`s are inlined, and the keywords strict mode refuses (`title`, `default`, ...) go.
What strict mode cannot say at all, a free-form object (no `properties`, or `additionalProperties`
other than false) or a recursive `$ref`, travels as a string holding JSON text: the model writes the
object as JSON, and it is parsed before the call. Every MCP tool is thus served in strict mode.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["JSON_TEXT_NOTE", "from_model_arguments", "strict_input_schema"]

JSON_TEXT_NOTE = "(a JSON object, written as JSON text)"
_DROPPED = frozenset({"title", "default", "examples", "$schema", "$id", "$comment", "readOnly", "writeOnly"})
_MAX_REF_DEPTH = 8


def _resolve(schema: Any, root: Mapping[str, Any], depth: int = 0) -> Any:
    """`schema` with a top-level `$ref` into `root`'s `$defs` followed (None when it is recursive or unknown)."""
    while isinstance(schema, Mapping) and "$ref" in schema:
        if depth > _MAX_REF_DEPTH:
            return None
        ref = str(schema["$ref"])
        name = ref.rsplit("/", 1)[-1]
        defs = root.get("$defs") or root.get("definitions") or {}
        if not ref.startswith("#/") or name not in defs:
            return None
        schema = {**defs[name], **{k: v for k, v in schema.items() if k != "$ref"}}
        depth += 1
    return schema


def _free_form(schema: Mapping[str, Any]) -> bool:
    if schema.get("type") != "object" and "properties" not in schema:
        return False
    extra = schema.get("additionalProperties", False if schema.get("properties") else True)
    return extra is not False or not schema.get("properties")


def _json_text(schema: Mapping[str, Any] | None) -> dict[str, Any]:
    described = str((schema or {}).get("description") or "").strip()
    return {"type": "string", "description": f"{described} {JSON_TEXT_NOTE}".strip()}


def _convert(schema: Any, root: Mapping[str, Any], depth: int) -> dict[str, Any]:
    resolved = _resolve(schema, root, depth)
    if not isinstance(resolved, Mapping):
        return _json_text(schema if isinstance(schema, Mapping) else None)
    if _free_form(resolved):
        return _json_text(resolved)
    out: dict[str, Any] = {k: v for k, v in resolved.items() if k not in _DROPPED and k not in ("$defs", "definitions")}
    nested = depth + 1
    if "properties" in resolved:
        required = set(resolved.get("required") or [])
        properties: dict[str, Any] = {}
        for name, sub in dict(resolved["properties"]).items():
            converted = _convert(sub, root, nested)
            nullable = {"type": "null"} in converted.get("anyOf", []) or "null" in converted.get("type", [])
            properties[name] = converted if name in required or nullable else {"anyOf": [converted, {"type": "null"}]}
        out.update(type="object", properties=properties, required=list(properties), additionalProperties=False)
    if "items" in resolved and isinstance(resolved["items"], Mapping):
        out["items"] = _convert(resolved["items"], root, nested)
    for key in ("anyOf", "oneOf"):
        if key in resolved:
            out.pop(key)
            out["anyOf"] = [_convert(option, root, nested) for option in resolved[key]]
    if "allOf" in resolved:
        out.pop("allOf")
        if len(resolved["allOf"]) == 1:
            out.update(_convert(resolved["allOf"][0], root, nested))
        else:
            return _json_text(resolved)
    return out


def strict_input_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The strict-mode `parameters` of an MCP tool whose `inputSchema` is `schema` (see the module docstring)."""
    top = {**schema, "type": "object"}
    top.setdefault("properties", {})
    if not top["properties"]:  # no arguments: strict mode takes an empty closed object
        return {"type": "object", "properties": {}, "required": [], "additionalProperties": False}
    top["additionalProperties"] = False  # the top level is the argument list: its names are all there is
    return _convert(top, schema, 0)


def _decode(schema: Any, value: Any, root: Mapping[str, Any], depth: int) -> Any:
    resolved = _resolve(schema, root, depth)
    if not isinstance(resolved, Mapping) or _free_form(resolved):
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value
    if isinstance(value, dict) and "properties" in resolved:
        required = set(resolved.get("required") or [])
        properties = dict(resolved["properties"])
        return {
            name: _decode(properties.get(name, {}), item, root, depth + 1)
            for name, item in value.items()
            if not (item is None and name not in required)
        }
    if isinstance(value, list) and isinstance(resolved.get("items"), Mapping):
        return [_decode(resolved["items"], item, root, depth + 1) for item in value]
    return value


def from_model_arguments(schema: Mapping[str, Any], arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The MCP call's arguments from the model's strict ones: nulls of optional properties dropped, JSON text parsed."""
    top = {**schema, "type": "object", "additionalProperties": False}
    top.setdefault("properties", {})
    decoded = _decode(top, dict(arguments), schema, 0)
    return dict(decoded) if isinstance(decoded, dict) else {}
