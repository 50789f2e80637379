"""The bundled `structured_outputs` environment: NeMo Gym's row shape and rewards, formats, dataset, config."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from gymhall import AsyncResourcesClient, ServerError, load_config
from gymhall.checks.probes import probes_for
from gymhall.collection.runs import CollectOptions, run_collect
from gymhall.envs.structured_outputs.probes import FORBIDDEN_FORMATS, probes
from gymhall.envs.structured_outputs.record import first_mismatch
from gymhall.envs.structured_outputs.server import StructuredOutputs, strictify
from gymhall.testing import client_for, function_call, make_response, make_row

ENV_DIR = Path(__file__).resolve().parents[2] / "gymhall" / "envs" / "structured_outputs"
DATASET = ENV_DIR / "data" / "structured_outputs.jsonl"
CONFIG = ENV_DIR / "configs" / "structured_outputs.yaml"
ROWS = [json.loads(line) for line in DATASET.read_text(encoding="utf-8").splitlines()]

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer", "minimum": 0},
        "address": {"type": "object", "properties": {"city": {"type": "string"}, "zip": {"type": "string"}}},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["name"],  # grading makes every declared property required
}
VALID = {"name": "Ada", "age": 36, "address": {"city": "Lisbon", "zip": "1100"}, "tags": ["x"]}


@pytest.fixture
async def client() -> AsyncIterator[AsyncResourcesClient]:
    async with client_for(StructuredOutputs()) as env:
        yield env


def nemo_row(schema: Any = PERSON, schema_type: str | None = "json", **fields: Any) -> dict[str, Any]:
    """A row in the shape of NeMo Gym's structured_outputs dataset (its field names; our own content)."""
    task: dict[str, Any] = {"schema_str": schema if isinstance(schema, str) else json.dumps(schema)}
    if schema_type is not None:
        task["schema_type"] = schema_type
    return make_row(
        [{"role": "user", "content": "Describe Ada as JSON following the schema."}],
        problem_type="direct",
        schema_repr="json",
        source_record_id="test-1",
        agent_ref={"type": "responses_api_agents", "name": "structured_outputs_simple_agent"},
        **task,
        **fields,
    )


async def grade(client: AsyncResourcesClient, row: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    return await client.verify({**row, "response": response})


# --- text answers in JSON: NeMo Gym's semantics ----------------------------------------------------------


async def test_a_valid_answer_scores_one_and_the_row_is_echoed(client: AsyncResourcesClient) -> None:
    row = nemo_row()
    result = await grade(client, row, make_response(json.dumps(VALID)))
    assert (result["reward"], result["error_type"], result["error_message"]) == (1.0, None, None)
    assert result["schema_type"] == "json"
    for key in ("schema_str", "problem_type", "schema_repr", "source_record_id", "agent_ref"):
        assert result[key] == row[key]


async def test_schema_type_defaults_to_json(client: AsyncResourcesClient) -> None:
    result = await grade(client, nemo_row(schema_type=None), make_response(json.dumps(VALID)))
    assert (result["reward"], result["schema_type"]) == (1.0, "json")


@pytest.mark.parametrize(
    ("answer", "error_type"),
    [
        ("", "empty_response"),
        ("  \n", "empty_response"),
        ("```json\n" + json.dumps(VALID) + "\n```", "parse_error"),  # no fence stripping, as in NeMo Gym
        ("Here you go: " + json.dumps(VALID), "parse_error"),
        ("{'name': 'Ada'}", "parse_error"),
        (json.dumps({k: v for k, v in VALID.items() if k != "tags"}), "validation_error"),  # declared, not required
        (json.dumps({**VALID, "email": "a@b.c"}), "validation_error"),
        (json.dumps({**VALID, "address": {"city": "Lisbon", "zip": "1100", "country": "PT"}}), "validation_error"),
        (json.dumps({**VALID, "age": "36"}), "validation_error"),
        (json.dumps({**VALID, "age": -1}), "validation_error"),
        (json.dumps({**VALID, "age": True}), "validation_error"),
        (json.dumps([VALID]), "validation_error"),
    ],
    ids=[
        "empty",
        "blank",
        "code-fence",
        "prose",
        "python-literal",
        "missing-property",
        "extra-property",
        "nested-extra-property",
        "wrong-type",
        "below-minimum",
        "bool-is-not-integer",
        "array-not-object",
    ],
)
async def test_invalid_answers_score_zero_with_the_reason(
    client: AsyncResourcesClient, answer: str, error_type: str
) -> None:
    result = await grade(client, nemo_row(), make_response(answer))
    assert (result["reward"], result["error_type"]) == (0.0, error_type)
    assert result["error_message"] and len(result["error_message"]) <= 200


async def test_integral_floats_are_integers(client: AsyncResourcesClient) -> None:
    result = await grade(client, nemo_row(), make_response(json.dumps({**VALID, "age": 36.0})))
    assert result["reward"] == 1.0


async def test_the_answer_is_every_message_text_concatenated(client: AsyncResourcesClient) -> None:
    text = json.dumps(VALID)
    reasoning = {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "{not json"}]}
    second = {
        "type": "message",
        "id": "msg_2",
        "role": "assistant",
        "status": "completed",
        "content": [
            {"type": "output_text", "text": text[10:], "annotations": []},
            {"type": "refusal", "refusal": "no"},
        ],
    }
    first = make_response(text[:10])["output"][0]
    result = await grade(client, nemo_row(), make_response(output=[reasoning, first, second]))
    assert result["reward"] == 1.0


async def test_a_message_split_across_turns_with_tool_calls_between(client: AsyncResourcesClient) -> None:
    # Function calls are ignored in text mode; only message text counts.
    response = make_response(json.dumps(VALID), output=[function_call("lookup", {"q": "Ada"})])
    assert (await grade(client, nemo_row(), response))["reward"] == 1.0


@pytest.mark.parametrize(
    ("schema", "error_type"),
    [("{not json", "schema_error"), ({"type": "strin"}, "validation_error"), ({"minimum": "zero"}, "validation_error")],
    ids=["not-json", "unknown-type", "bad-keyword-value"],
)
async def test_broken_schemas_score_zero(client: AsyncResourcesClient, schema: Any, error_type: str) -> None:
    result = await grade(client, nemo_row(schema), make_response(json.dumps(VALID)))
    assert (result["reward"], result["error_type"]) == (0.0, error_type)


async def test_an_empty_answer_is_reported_before_a_broken_schema(client: AsyncResourcesClient) -> None:
    result = await grade(client, nemo_row("{not json"), make_response(""))
    assert result["error_type"] == "empty_response"


async def test_strictify_repairs_a_sloppy_top_level_and_leaves_lists_alone(client: AsyncResourcesClient) -> None:
    # additionalProperties "false" (a string) and required as a mapping are invalid JSON Schema; strictify
    # overwrites both wherever `properties` is, as NeMo Gym does, so such rows still grade.
    sloppy = {"type": "object", "additionalProperties": "false", "required": {"x": ["a"]}, "properties": {"a": {}}}
    assert (await grade(client, nemo_row(sloppy), make_response('{"a": 1}')))["reward"] == 1.0
    # Object schemas inside anyOf are not made strict: extra properties pass there.
    union = {"anyOf": [{"type": "object", "properties": {"a": {"type": "integer"}}}]}
    assert (await grade(client, nemo_row(union), make_response('{"a": 1, "b": 2}')))["reward"] == 1.0


def test_strictify_in_place() -> None:
    schema: dict[str, Any] = {"type": "array", "items": {"properties": {"a": {}, "b": {"properties": {"c": {}}}}}}
    strictify(schema)
    assert schema["items"]["required"] == ["a", "b"]
    assert schema["items"]["additionalProperties"] is False
    assert schema["items"]["properties"]["b"]["required"] == ["c"]
    assert "required" not in schema


async def test_formats_are_not_asserted_but_patterns_and_enums_are(client: AsyncResourcesClient) -> None:
    schema = {
        "type": "object",
        "properties": {
            "day": {"type": "string", "format": "date"},
            "code": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "size": {"enum": ["S", "M", "L"]},
        },
    }
    ok = await grade(client, nemo_row(schema), make_response('{"day": "someday", "code": "LIS", "size": "M"}'))
    assert ok["reward"] == 1.0
    for bad in ('{"day": "x", "code": "lis", "size": "M"}', '{"day": "x", "code": "LIS", "size": "XL"}'):
        assert (await grade(client, nemo_row(schema), make_response(bad)))["error_type"] == "validation_error"


async def test_a_ref_to_nowhere_is_a_validation_error_not_a_crash(client: AsyncResourcesClient) -> None:
    schema = {"type": "object", "properties": {"a": {"$ref": "https://example.invalid/schema.json"}}}
    result = await grade(client, nemo_row(schema), make_response('{"a": 1}'))
    assert (result["reward"], result["error_type"]) == (0.0, "validation_error")


# --- other formats -------------------------------------------------------------------------------------

CSV_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer"},
            "score": {"type": "number"},
            "active": {"type": "boolean"},
            "note": {"type": ["string", "null"]},
            "rank": {"type": ["integer", "null"]},
        },
    },
}


@pytest.mark.parametrize(
    ("schema_type", "answer", "reward", "error_type"),
    [
        ("yaml", "name: Ada\nage: 36\naddress:\n  city: Lisbon\n  zip: '1100'\ntags: [x]\n", 1.0, None),
        ("yaml", "name: Ada\nage: 36\naddress: {city: Lisbon, zip: 1100}\ntags: [x]\n", 0.0, "validation_error"),
        ("yaml", "name: [Ada\n", 0.0, "parse_error"),
        ("toml", 'name = "Ada"\nage = 36\ntags = ["x"]\n[address]\ncity = "Lisbon"\nzip = "1100"\n', 1.0, None),
        ("toml", 'name = "Ada"\nage = 36\ntags = ["x"]\n', 0.0, "validation_error"),
        ("toml", "name = Ada\n", 0.0, "parse_error"),
    ],
)
async def test_yaml_and_toml(
    client: AsyncResourcesClient, schema_type: str, answer: str, reward: float, error_type: str | None
) -> None:
    result = await grade(client, nemo_row(schema_type=schema_type), make_response(answer))
    assert (result["reward"], result["error_type"], result["schema_type"]) == (reward, error_type, schema_type)


@pytest.mark.parametrize(
    ("answer", "reward"),
    [
        ("name,age,score,active,note,rank\nAda,36,9.5,true,,\nBo,7,1,0,hi,3\n", 1.0),  # cells coerced by type
        ("name,age,score,active,note,rank\nAda,36,9.5,yes,,\n", 0.0),  # "yes" is not a boolean
        ("name,age,score,active,note,rank\nAda,36.0,9.5,true,,\n", 0.0),  # "36.0" is not an integer
        ("name,age,score,active,note\nAda,36,9.5,true,\n", 0.0),  # a column missing
        ("name,age,score,active,note,rank,extra\nAda,36,9.5,true,,,x\n", 0.0),  # a column too many
        ("name,age,score,active,note,rank\nAda,36,9.5,true,,,surplus\n", 0.0),  # a cell without a column
    ],
    ids=["valid", "bad-boolean", "bad-integer", "missing-column", "extra-column", "extra-cell"],
)
async def test_csv_rows_are_coerced_to_the_schema_types(
    client: AsyncResourcesClient, answer: str, reward: float
) -> None:
    result = await grade(client, nemo_row(CSV_SCHEMA, "csv"), make_response(answer))
    assert result["reward"] == reward
    assert result["error_type"] == (None if reward else "validation_error")


async def test_csv_against_a_schema_without_column_types(client: AsyncResourcesClient) -> None:
    result = await grade(client, nemo_row({"type": "array", "items": True}, "csv"), make_response("a\n1\n"))
    assert (result["reward"], result["error_type"]) == (0.0, "validation_error")


async def test_xml_is_refused_with_a_clear_422(client: AsyncResourcesClient) -> None:
    with pytest.raises(ServerError) as refused:
        await grade(client, nemo_row(schema_type="xml"), make_response("<name>Ada</name>"))
    assert refused.value.status_code == 422
    assert "schema_type" in json.dumps(refused.value.body)


# --- tool-call answers (NeMo Gym's v4 rows) ---------------------------------------------------------------


def tool_row(**fields: Any) -> dict[str, Any]:
    return nemo_row(response_mode="tool_call", tool_choice="auto", parallel_tool_calls=False, **fields)


def calls(*items: tuple[str, Any]) -> dict[str, Any]:
    output = [function_call(name, args, f"c{i}") for i, (name, args) in enumerate(items)]
    return make_response(output=output)


@pytest.mark.parametrize(
    ("row", "response", "reward", "error_type"),
    [
        (tool_row(tool_name="submit"), calls(("submit", VALID)), 1.0, None),
        (tool_row(), calls(("anything", VALID)), 1.0, None),
        (
            tool_row(tool_name="submit", tool_payload_key="extraction"),
            calls(("submit", {"extraction": VALID})),
            1.0,
            None,
        ),
        (tool_row(tool_name="submit"), calls(("other", VALID)), 0.0, "wrong_tool_name"),
        (tool_row(tool_name="submit"), make_response(json.dumps(VALID)), 0.0, "missing_tool_call"),
        (tool_row(tool_name="submit"), calls(("submit", VALID), ("submit", VALID)), 0.0, "multiple_tool_calls"),
        (tool_row(tool_name="submit"), calls(("submit", "{not json")), 0.0, "tool_arguments_parse_error"),
        (tool_row(tool_payload_key="extraction"), calls(("submit", VALID)), 0.0, "missing_tool_payload_key"),
        (tool_row(tool_name="submit"), calls(("submit", {**VALID, "age": "old"})), 0.0, "validation_error"),
        (tool_row(schema="{oops"), calls(("submit", VALID)), 0.0, "schema_error"),
    ],
    ids=[
        "named",
        "any-name",
        "payload-key",
        "wrong-name",
        "no-call",
        "two-calls",
        "bad-json",
        "no-payload-key",
        "invalid-payload",
        "bad-schema",
    ],
)
async def test_tool_call_mode(
    client: AsyncResourcesClient, row: dict[str, Any], response: dict[str, Any], reward: float, error_type: str | None
) -> None:
    result = await grade(client, row, response)
    assert (result["reward"], result["error_type"]) == (reward, error_type)


async def test_tool_call_mode_reports_an_api_error(client: AsyncResourcesClient) -> None:
    response = {**calls(("submit", VALID)), "error": {"code": "server_error", "message": "upstream failed"}}
    result = await grade(client, tool_row(), response)
    assert (result["reward"], result["error_type"]) == (0.0, "api_error")
    assert "upstream failed" in result["error_message"]


# --- sessions: verify is stateless ------------------------------------------------------------------------


async def test_verify_works_with_and_without_a_session(client: AsyncResourcesClient) -> None:
    response = make_response(json.dumps(VALID))
    assert (await grade(client, nemo_row(), response))["reward"] == 1.0
    async with await client.seed_session(nemo_row()) as session:
        rewards = [(await session.verify(response))["reward"] for _ in range(2)]
    assert rewards == [1.0, 1.0]
    assert await client.list_tools() == []


async def test_a_row_without_a_schema_is_a_422(client: AsyncResourcesClient) -> None:
    with pytest.raises(ServerError) as refused:
        await client.verify({**make_row("hi"), "response": make_response("{}")})
    assert refused.value.status_code == 422
    assert "schema_str" in json.dumps(refused.value.body)


# --- the dataset, the generator and the config ---------------------------------------------------------


def _walk(schema: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(schema, dict):
        found.append(schema)
        for value in schema.values():
            found += _walk(value)
    elif isinstance(schema, list):
        for value in schema:
            found += _walk(value)
    return found


def test_dataset_rows_are_varied_and_in_nemo_gyms_shape() -> None:
    assert len(ROWS) >= 50
    keywords: set[str] = set()
    nested_objects = 0
    for row in ROWS:
        assert row["schema_type"] == "json"
        assert row["reference_solution"]["tool_calls"] == []
        messages = row["responses_create_params"]["input"]
        assert messages[-1]["role"] == "user" and "<document>" in messages[-1]["content"]
        assert row["schema_str"] in "\n".join(m["content"] for m in messages)  # the model sees the schema
        nodes = _walk(json.loads(row["schema_str"]))
        keywords |= {key for node in nodes for key in node}
        nested_objects += sum(1 for node in nodes[1:] if node.get("type") == "object")
    assert {"enum", "pattern", "minimum", "maximum", "exclusiveMinimum", "minItems", "uniqueItems", "anyOf"} <= keywords
    assert nested_objects > 0
    assert len({row["schema_str"] for row in ROWS}) >= 10
    assert len({row["instruction_layout"] for row in ROWS}) == 3


def corruptions(answer: str, schema_str: str) -> list[str]:
    """Wrong answers made from a right one: reversed, emptied, fenced, a property dropped, one added."""
    record = json.loads(answer)
    first = next(iter(record))
    dropped = {k: v for k, v in record.items() if k != first}
    return [answer[::-1], "", f"```json\n{answer}\n```", json.dumps(dropped), json.dumps({**record, "extra": 1})]


async def test_every_reference_answer_scores_one_and_corruptions_zero(client: AsyncResourcesClient) -> None:
    for row in ROWS:
        answer = row["reference_solution"]["answer"]
        assert (await grade(client, row, make_response(answer)))["reward"] == 1.0, row["source_record_id"]
        for wrong in corruptions(answer, row["schema_str"]):
            assert (await grade(client, row, make_response(wrong)))["reward"] == 0.0, (row["source_record_id"], wrong)


def test_the_generator_reproduces_the_dataset_byte_for_byte(import_file: Callable[[Path, str], ModuleType]) -> None:
    generator = import_file(ENV_DIR / "data" / "generate.py", "gymhall_structured_outputs_generate")
    assert generator.render(generator.build_rows()).encode("utf-8") == DATASET.read_bytes()


def test_config() -> None:
    config = load_config([CONFIG], env_file=None)
    (instance,) = config.of_kind("resources_servers")
    assert (instance.name, instance.implementation) == ("structured_outputs_resources_server", "structured_outputs")
    assert instance.settings["entrypoint"] == "gymhall.envs.structured_outputs.server:StructuredOutputs"
    assert instance.settings["domain"] == "instruction_following"


async def test_collect_with_replay_scores_one_on_every_row(tmp_path: Path) -> None:
    options = CollectOptions(input=DATASET, output=tmp_path / "out.jsonl", configs=[str(CONFIG)])
    stats = await run_collect(options)
    assert (stats.ok, stats.failed, stats.mean_reward) == (len(ROWS), 0, 1.0)


# --- extraction rows: the values are graded against the record the document was written from -------


def _row(family: str) -> dict[str, Any]:
    return next(row for row in ROWS if row["source_record_id"].startswith(f"{family}-"))


async def test_a_made_up_record_valid_for_the_schema_scores_zero(client: AsyncResourcesClient) -> None:
    row = _row("employee")
    made_up = {
        "employee_id": "E12345",
        "full_name": "Jane Doe",
        "department": "engineering",
        "start_date": "2020-01-01",
        "salary_band": 5,
        "remote": True,
        "skills": ["python"],
        "manager": None,
    }
    result = await grade(client, row, make_response(json.dumps(made_up)))
    assert (result["reward"], result["error_type"]) == (0.0, "value_mismatch")
    assert result["error_message"].startswith("$.employee_id: expected")
    # The same answer on the same row without its expected record is graded as NeMo Gym grades it.
    bare = {key: value for key, value in row.items() if key != "expected_record"}
    assert (await grade(client, bare, make_response(json.dumps(made_up))))["reward"] == 1.0


async def test_the_schema_echoed_scores_zero(client: AsyncResourcesClient) -> None:
    row = _row("flight")
    result = await grade(client, row, make_response(row["schema_str"]))
    assert (result["reward"], result["error_type"]) == (0.0, "validation_error")


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda r: r.update(salary_band=r["salary_band"] % 10 + 1), "$.salary_band"),
        (lambda r: r.update(remote=not r["remote"]), "$.remote"),
        (
            lambda r: r.update(start_date=r["start_date"][:-1] + str((int(r["start_date"][-1]) + 1) % 10)),
            "$.start_date",
        ),
    ],
    ids=["number", "boolean", "date"],
)
async def test_one_value_changed_scores_zero(
    client: AsyncResourcesClient, change: Callable[[dict[str, Any]], None], where: str
) -> None:
    row = _row("employee")
    record = copy.deepcopy(row["expected_record"])
    change(record)
    result = await grade(client, row, make_response(json.dumps(record)))
    assert (result["reward"], result["error_type"]) == (0.0, "value_mismatch")
    assert result["error_message"].startswith(where)


async def test_values_compare_as_a_careful_grader_compares_them(client: AsyncResourcesClient) -> None:
    row = next(
        r for r in ROWS if r["source_record_id"].startswith("product-") and len(r["expected_record"]["tags"]) > 1
    )
    record = copy.deepcopy(row["expected_record"])
    record["name"] = "  " + record["name"].upper() + ". "  # case, padding and a final full stop aside
    record["tags"] = record["tags"][::-1]  # uniqueItems: a set, in any order
    record["price"]["amount"] = float(record["price"]["amount"])
    record["stock"] = float(record["stock"])  # 12.0 is the integer 12
    assert (await grade(client, row, make_response(json.dumps(record))))["reward"] == 1.0


def test_first_mismatch_orders_lists_unless_the_schema_makes_them_sets() -> None:
    ordered = {"type": "array", "items": {"type": "string"}}
    assert first_mismatch(["a", "b"], ["b", "a"], ordered) == "$[0]: expected 'a', got 'b'"
    assert first_mismatch(["a", "b"], ["B", "a"], {**ordered, "uniqueItems": True}) is None
    assert (
        first_mismatch(["a", "a"], ["a", "b"], {**ordered, "uniqueItems": True})
        == "$[1]: 'a' is not in the answer's items"
    )
    assert first_mismatch({"x": 1}, {"x": True}) == "$.x: expected 1, got True"
    assert first_mismatch({"x": None}, {"x": 0}) == "$.x: expected None, got 0"
    assert first_mismatch({"x": 1}, {"x": 1, "y": 2}) == "$.y: not in the document's record"


def test_the_schema_shown_to_the_model_is_the_schema_graded() -> None:
    # Issue 17: HR rows showed `required: [employee_id, full_name, department]` and an object without
    # `required` for the manager, yet grading required every property. Every shown schema is now strict.
    for row in ROWS:
        shown = json.loads(row["schema_str"])
        graded = copy.deepcopy(shown)
        strictify(graded)
        assert graded == shown, row["source_record_id"]


def test_rows_carry_a_difficulty_and_the_expected_record() -> None:
    assert len(ROWS) >= 500
    tiers = {tier: sum(row["difficulty"] == tier for row in ROWS) for tier in ("easy", "medium", "hard")}
    assert sum(tiers.values()) == len(ROWS) and min(tiers.values()) >= 150
    for row in ROWS:
        assert json.loads(row["reference_solution"]["answer"]) == row["expected_record"], row["source_record_id"]
        text = "\n".join(m["content"] for m in row["responses_create_params"]["input"])
        if row["difficulty"] == "hard":  # the target among other records, named by its key
            assert "holds several records" in text and "\n---\n" in text


async def test_every_probe_of_every_row_keeps_its_rule(client: AsyncResourcesClient) -> None:
    # Every row's generic and own probes, verified as the agent's final message: each hack below the
    # reference's 1.0, each variant exactly 1.0. About 6 000 verifies in process.
    plays = [(row, probe) for row in ROWS for probe in probes_for(row, probes(row))]

    async def score(row: dict[str, Any], answer: str) -> float:
        return float((await grade(client, row, make_response(answer)))["reward"])

    references = await asyncio.gather(*(score(row, row["reference_solution"]["answer"]) for row in ROWS))
    assert references == [1.0] * len(ROWS)
    rewards = await asyncio.gather(
        *(score(row, probe.solution(row["reference_solution"])["answer"]) for row, probe in plays)
    )
    broken = [
        (row["source_record_id"], probe.name, reward)
        for (row, probe), reward in zip(plays, rewards, strict=True)
        if (reward >= 1.0 if probe.expect == "below" else reward != 1.0)
    ]
    assert broken == []
    names = {probe.name for _, probe in plays}
    assert {
        "made-up record",
        "one value changed",
        "schema echoed",
        "sets in another order",
        *FORBIDDEN_FORMATS,
    } <= names
    assert sum(probe.name == "one value changed" for _, probe in plays) == len(ROWS)
