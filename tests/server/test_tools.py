"""`@tool` and the strict schemas it records."""

from pydantic import BaseModel

from gymhall.checks.conformance import strict_schema_problems
from gymhall.server.tools import strict_tool_schema


class Event(BaseModel):
    title: str
    default: bool = False


class Create(BaseModel):
    title: str
    event: Event
    note: str | None = None


def test_properties_named_title_or_default_survive_the_strict_cleanup() -> None:
    schema = strict_tool_schema("create", Create, "Create an event.")
    parameters = schema["parameters"]
    assert set(parameters["properties"]) == {"title", "event", "note"}
    assert "title" not in parameters["properties"]["title"]  # the keyword is dropped, the name kept
    event = parameters["$defs"]["Event"]
    assert set(event["properties"]) == {"title", "default"}
    assert "default" not in event["properties"]["default"]
    assert strict_schema_problems(parameters) == []
    assert schema["strict"] is True
