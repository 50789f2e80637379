"""gymhall/envs/workplace: the tools on a seeded world, verify's reward rules, the dataset and its generator."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from gymhall import ServerError, SessionNotFound, build_app, load_config
from gymhall.checks.probes import probes_for
from gymhall.collection.runs import CollectOptions, run_collect
from gymhall.envs.workplace.arguments import MAX_LENGTHS
from gymhall.envs.workplace.probes import READ_ONLY_TOOLS, probes
from gymhall.envs.workplace.records import created_id
from gymhall.envs.workplace.server import Workplace, WorkplaceConfig
from gymhall.envs.workplace.world import generate_world, open_database, snapshot
from gymhall.testing import client_for, function_call, function_call_output, make_response, make_row

ENV_DIR = Path(__file__).resolve().parents[2] / "gymhall" / "envs" / "workplace"
CONFIG = ENV_DIR / "configs" / "workplace.yaml"
DATASET = ENV_DIR / "data" / "workplace.jsonl"
SEED = 7  # a world whose contents the tests below name (see generate_world(7))
NEW_CONTACT, NEW_EMAIL, SECOND_EMAIL = (
    created_id(SEED, "contacts", 0),
    created_id(SEED, "emails", 0),
    created_id(SEED, "emails", 1),
)
NEW_EVENT, SECOND_EVENT = created_id(SEED, "events", 0), created_id(SEED, "events", 1)
TOOLS = [
    "find_contact",
    "add_contact",
    "update_contact",
    "search_emails",
    "read_email",
    "send_email",
    "reply_email",
    "delete_email",
    "list_events",
    "create_event",
    "cancel_event",
    "reschedule_event",
]


def rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in DATASET.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
async def client() -> AsyncIterator[Any]:
    async with client_for(Workplace()) as client:
        yield client


@pytest.fixture
async def session(client: Any) -> AsyncIterator[Any]:
    async with await client.seed_session(make_row("task", world_seed=SEED)) as session:
        yield session


def episode(calls: list[tuple[str, dict[str, Any], Any]], answer: str) -> dict[str, Any]:
    """A response: each (tool, arguments, result) as a call and its output, then the final answer."""
    output: list[dict[str, Any]] = []
    for number, (name, arguments, result) in enumerate(calls):
        output += [function_call(name, arguments, f"c{number}"), function_call_output(f"c{number}", result)]
    return make_response(answer, output=output)


def verify_body(
    ground_truth: list[tuple[str, dict[str, Any]]], expected_answer: str, seed: int = SEED
) -> dict[str, Any]:
    return make_row(
        "task",
        world_seed=seed,
        ground_truth=[{"name": name, "arguments": json.dumps(args)} for name, args in ground_truth],
        expected_answer=expected_answer,
    )


async def play(client: Any, row: dict[str, Any], solution: dict[str, Any]) -> dict[str, Any]:
    """Play `solution` (reference_solution shaped) on a new session of `row` and verify it."""
    async with await client.seed_session(row) as session:
        calls = []
        for call in solution["tool_calls"]:
            try:
                result = await session.call(call["name"], call["arguments"])
            except ServerError as exc:
                result = str(exc)
            calls.append((call["name"], call["arguments"], result))
        return await session.verify(episode(calls, solution["answer"]))


# Tools


async def test_tools_are_the_twelve_strict_tools_with_every_property_required(client: Any) -> None:
    tools = await client.list_tools()
    assert [t["name"] for t in tools] == TOOLS
    for t in tools:
        parameters = t["parameters"]
        assert t["strict"] is True and parameters["additionalProperties"] is False
        assert sorted(parameters["required"]) == sorted(parameters["properties"]), t["name"]


async def test_find_contact_matches_names_and_addresses_case_insensitively(session: Any) -> None:
    found = await session.call("find_contact", name="FELIX")
    assert [c["id"] for c in found["contacts"]] == ["CT-3001"]
    assert found["contacts"][0] == {
        "id": "CT-3001",
        "name": "Felix Okafor",
        "email": "felix.okafor@brightline.example",
        "phone": "+1-555-0128",
        "company": "Brightline Logistics",
        "title": "Product Manager",
    }
    by_domain = await session.call("find_contact", name="@harborfinch")
    assert len(by_domain["contacts"]) == 3
    assert await session.call("find_contact", name="nobody") == {"contacts": []}


async def test_add_and_update_contact(session: Any) -> None:
    added = await session.call("add_contact", name="Wren Calloway", email="Wren.Calloway@x.example", phone="555")
    assert added == {
        "id": NEW_CONTACT,
        "name": "Wren Calloway",
        "email": "wren.calloway@x.example",
        "phone": "555",
        "company": "",
        "title": "",
    }
    updated = await session.call(
        "update_contact", contact_id="ct-3002", email=None, phone="+1-555-0199", job_title=None
    )
    assert updated["phone"] == "+1-555-0199" and updated["email"] == "ingrid.castillo@lumenworks.example"
    retitled = await session.call("update_contact", contact_id="CT-3002", email=None, phone=None, job_title="CFO")
    assert retitled["title"] == "CFO" and retitled["phone"] == "+1-555-0199"


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("find_contact", {"name": "  "}, "name must not be empty"),
        ("add_contact", {"name": "A", "email": "felix.okafor@brightline.example", "phone": "1"}, "already belongs"),
        ("add_contact", {"name": "A", "email": "not-an-address", "phone": "1"}, "is not an email address"),
        ("update_contact", {"contact_id": "CT-9999", "email": None, "phone": "1", "job_title": None}, "no contact"),
        ("update_contact", {"contact_id": "CT-3001", "email": None, "phone": None, "job_title": None}, "Nothing"),
        (
            "update_contact",
            {"contact_id": "CT-3001", "email": "clara.valdez@fernwood.example", "phone": None, "job_title": None},
            "already belongs to contact CT-3012",
        ),
        ("read_email", {"email_id": "EM-0001"}, "Use search_emails"),
        ("send_email", {"to": [], "subject": "s", "body": "b"}, "at least one"),
        ("send_email", {"to": ["a@b.example"], "subject": "", "body": "b"}, "subject must not be empty"),
        ("reply_email", {"email_id": "EM-1001", "body": "hi"}, "reply to inbox emails only"),
        ("delete_email", {"email_id": "nope"}, "no email"),
        ("list_events", {"date": "13/05/2024"}, "use YYYY-MM-DD"),
        ("list_events", {"date": "2024-02-30"}, "use YYYY-MM-DD"),
        (
            "create_event",
            {"event_title": "T", "date": "2024-05-16", "start": "9:00", "end": "10:00", "attendees": []},
            "24-hour HH:MM",
        ),
        (
            "create_event",
            {"event_title": "T", "date": "2024-05-16", "start": "11:00", "end": "10:00", "attendees": []},
            "must end after it starts",
        ),
        (
            "create_event",
            {"event_title": "T", "date": "2024-05-16", "start": "12:15", "end": "12:45", "attendees": []},
            "overlaps EV-2006 'Hiring sync' (12:00-12:30)",
        ),
        ("cancel_event", {"event_id": "EV-1"}, "Use list_events"),
        (
            "reschedule_event",
            {"event_id": "EV-2005", "date": "2024-05-16", "start": "12:00", "end": "13:00"},
            "overlaps EV-2006",
        ),
    ],
)
async def test_bad_input_is_a_readable_400(session: Any, tool: str, arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ServerError, match="status 400") as raised:
        await session.call(tool, arguments)
    assert raised.value.status_code == 400
    assert message in str(raised.value)


async def test_arguments_of_the_wrong_shape_are_a_422(session: Any) -> None:
    for arguments in ({"name": 3}, {"name": "a", "extra": 1}, {}):
        with pytest.raises(ServerError) as raised:
            await session.call("find_contact", arguments)
        assert raised.value.status_code == 422
    with pytest.raises(ServerError) as raised:
        await session.call("search_emails", query="", folder="spam")
    assert raised.value.status_code == 422


async def test_a_refused_call_changes_nothing(session: Any) -> None:
    with pytest.raises(ServerError):
        await session.call("add_contact", name="Dup", email="felix.okafor@brightline.example", phone="1")
    added = await session.call("add_contact", name="New", email="new@x.example", phone="1")
    assert added["id"] == NEW_CONTACT  # the refused call did not use up an id


async def test_search_read_send_reply_and_delete_email(session: Any) -> None:
    budget = await session.call("search_emails", query="BUDGET", folder="inbox")
    assert [e["id"] for e in budget["emails"]] == ["EM-1010", "EM-1002"] and budget["total"] == 2
    assert (await session.call("search_emails", query="", folder="sent"))["total"] == 3
    assert (await session.call("search_emails", query="", folder="all"))["total"] == 16
    email = await session.call("read_email", email_id="em-1010")
    assert email["from"] == "leila.hargreave@lumenworks.example" and "Q2 budget review" in email["body"]

    sent = await session.call("send_email", to=["B@Y.example", "a@x.example", "b@y.example"], subject="Hi", body="Yo")
    assert sent["id"] == NEW_EMAIL and sent["to"] == ["a@x.example", "b@y.example"]
    assert sent["from"] == "alex.morgan@lumenworks.example" and sent["sent_at"] == "2024-05-13 08:30"
    reply = await session.call("reply_email", email_id="EM-1010", body="Thanks")
    assert reply["subject"] == "Re: Q2 budget review" and reply["in_reply_to"] == "EM-1010"
    assert reply["to"] == ["leila.hargreave@lumenworks.example"] and reply["id"] == SECOND_EMAIL

    deleted = await session.call("delete_email", email_id="EM-1010")
    assert deleted["deleted"]["subject"] == "Q2 budget review"
    with pytest.raises(ServerError, match="no email"):
        await session.call("read_email", email_id="EM-1010")
    assert (await session.call("search_emails", query="", folder="all"))["total"] == 17


async def test_calendar_create_cancel_and_reschedule(session: Any) -> None:
    day = await session.call("list_events", date="2024-05-16")
    assert [e["start"] for e in day["events"]] == ["09:30", "12:00", "13:00", "15:00", "16:00"]

    created = await session.call(
        "create_event",
        event_title="Pricing review",
        date="2024-05-16",
        start="10:00",
        end="11:00",
        attendees=["Felix.Okafor@brightline.example"],
    )
    assert created == {
        "id": NEW_EVENT,
        "title": "Pricing review",
        "date": "2024-05-16",
        "start": "10:00",
        "end": "11:00",
        "attendees": ["felix.okafor@brightline.example"],
        "status": "confirmed",
    }
    # Back to back is not an overlap; moving an event onto its own slot is allowed.
    moved = await session.call("reschedule_event", event_id="EV-2006", date="2024-05-16", start="11:30", end="12:30")
    assert (moved["start"], moved["end"]) == ("11:30", "12:30")
    cancelled = await session.call("cancel_event", event_id="EV-2007")
    assert cancelled["status"] == "cancelled"
    # A cancelled event frees its slot, cannot be cancelled twice nor moved.
    await session.call("create_event", event_title="X", date="2024-05-16", start="13:00", end="14:00", attendees=[])
    with pytest.raises(ServerError, match="already cancelled"):
        await session.call("cancel_event", event_id="EV-2007")
    with pytest.raises(ServerError, match="is cancelled"):
        await session.call("reschedule_event", event_id="EV-2007", date="2024-05-17", start="13:00", end="14:00")
    statuses = [(e["id"], e["status"]) for e in (await session.call("list_events", date="2024-05-16"))["events"]]
    assert ("EV-2007", "cancelled") in statuses and len(statuses) == 7


async def test_sessions_of_one_world_are_independent(client: Any) -> None:
    row = make_row("task", world_seed=SEED)
    async with await client.seed_session(row) as first, await client.seed_session(row) as second:
        await first.call("delete_email", email_id="EM-1010")
        assert (await second.call("read_email", email_id="EM-1010"))["id"] == "EM-1010"
        assert (await first.call("add_contact", name="A", email="a@x.example", phone="1"))["id"] == NEW_CONTACT
        assert (await second.call("add_contact", name="B", email="b@x.example", phone="1"))["id"] == NEW_CONTACT


def test_world_is_a_pure_function_of_the_seed() -> None:
    first = generate_world(123)
    generate_world.cache_clear()
    again = generate_world(123)
    assert first == again and first is not again
    assert generate_world(124) != first
    assert len(first.contacts) == 12 and len(first.emails) == 16 and len(first.events) == 10
    assert len({c.name.split()[0] for c in first.contacts}) == 12  # names are unambiguous
    db = open_database(first)
    assert snapshot(db) == snapshot(open_database(again))


async def test_closing_a_session_closes_its_database() -> None:
    env = Workplace()
    state = env.new_state(SEED)
    await env.on_session_close(state)
    await env.on_session_close(state)  # twice is fine
    with pytest.raises(sqlite3.ProgrammingError):
        state.db.execute("SELECT 1")
    with pytest.raises(SessionNotFound):  # a call that raced the close is refused, not a crash
        env.find_contact(state, name="felix")


# Verify


async def test_verify_rewards_matching_state_and_a_grounded_answer(client: Any) -> None:
    ground_truth = [("find_contact", {"name": "Felix Okafor"})]
    body = verify_body(ground_truth, "+1-555-0128")
    async with await client.seed_session(body) as session:
        found = await session.call("find_contact", name="felix")
        good = episode([("find_contact", {"name": "felix"}, found)], "Felix's number is +1-555-0128.")
        result = await session.verify(good)
        assert result["reward"] == 1.0
        assert {k: result[k] for k in ("state_match", "answer_match", "answer_grounded", "tool_calls")} == {
            "state_match": 1.0,
            "answer_match": 1.0,
            "answer_grounded": 1.0,
            "tool_calls": 1.0,
        }
        assert result["expected_answer"] == "+1-555-0128"  # the row is echoed
        for wrong in ("+1-555-01280", "+1-555-0127", "", "I could not find it."):
            bad = await session.verify(episode([], wrong))
            assert bad["reward"] == 0.0 and bad["answer_match"] == 0.0, wrong


async def test_a_right_answer_the_tools_never_showed_scores_zero(client: Any) -> None:
    body = verify_body([("find_contact", {"name": "Felix Okafor"})], "+1-555-0128")
    async with await client.seed_session(body) as session:
        await session.call("find_contact", name="Clara")  # a lookup that does not show Felix's number
        result = await session.verify(make_response("It is +1-555-0128."))
    assert result["reward"] == 0.0
    assert (result["answer_match"], result["answer_grounded"], result["state_match"]) == (1.0, 0.0, 1.0)


async def test_verify_compares_the_database_and_counts_differing_rows(client: Any) -> None:
    ground_truth = [("cancel_event", {"event_id": "EV-2007"})]
    body = verify_body(ground_truth, "EV-2007")
    async with await client.seed_session(body) as session:
        cancelled = await session.call("cancel_event", event_id="EV-2007")
        answer = episode([("cancel_event", {"event_id": "EV-2007"}, cancelled)], "Cancelled EV-2007.")
        assert (await session.verify(answer))["reward"] == 1.0
        await session.call("delete_email", email_id="EM-1003")  # a change the task did not ask for
        result = await session.verify(answer)
    assert result["reward"] == 0.0 and result["state_match"] == 0.0 and result["differing_rows"] == 1.0


async def test_state_comparison_ignores_ids_order_case_and_spacing(client: Any) -> None:
    first = {"event_title": "Kickoff", "date": "2024-05-14", "start": "09:00", "end": "09:30", "attendees": []}
    second = {"event_title": "Debrief", "date": "2024-05-14", "start": "10:00", "end": "10:30", "attendees": []}
    body = verify_body([("create_event", first), ("create_event", second)], SECOND_EVENT)
    async with await client.seed_session(body) as session:
        b = await session.call("create_event", {**second, "event_title": "  DEBRIEF "})
        a = await session.call("create_event", first)
        answer = episode(
            [("create_event", second, b), ("create_event", first, a)], f"Created {NEW_EVENT} and {SECOND_EVENT}."
        )
        result = await session.verify(answer)
    assert result["state_match"] == 1.0 and result["reward"] == 1.0


async def test_verify_has_no_side_effects(client: Any) -> None:
    body = verify_body([("delete_email", {"email_id": "EM-1003"})], "EM-1003")
    async with await client.seed_session(body) as session:
        deleted = await session.call("delete_email", email_id="EM-1003")
        answer = episode([("delete_email", {"email_id": "EM-1003"}, deleted)], "Deleted EM-1003.")
        rewards = [(await session.verify(answer))["reward"] for _ in range(3)]
        assert rewards == [1.0, 1.0, 1.0]
        assert (await session.call("search_emails", query="", folder="all"))["total"] == 15


async def test_verify_without_a_session_replays_the_responses_calls() -> None:
    body = verify_body([("cancel_event", {"event_id": "EV-2007"})], "EV-2007")
    cancel = ("cancel_event", {"event_id": "EV-2007"}, "{}")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(build_app(Workplace())), base_url="http://t") as http:
        good = await http.post("/verify", json={**body, "response": episode([cancel], "Cancelled EV-2007.")})
        assert good.status_code == 200, good.text
        assert good.json()["reward"] == 1.0
        dropped = await http.post("/verify", json={**body, "response": episode([], "Cancelled EV-2007.")})
        assert dropped.json()["reward"] == 0.0 and dropped.json()["differing_rows"] == 2.0
        # Calls the tools refuse, or that do not parse, are counted as errors and change nothing.
        junk = make_response(
            "Cancelled EV-2007.",
            output=[
                function_call("cancel_event", {"event_id": "EV-2007"}, "a"),
                function_call("cancel_event", {"event_id": "EV-2007"}, "b"),
                function_call("cancel_event", "{not json", "c"),
                function_call("no_such_tool", {}, "d"),
            ],
        )
        replayed = (await http.post("/verify", json={**body, "response": junk})).json()
        assert replayed["reward"] == 1.0 and (replayed["tool_calls"], replayed["tool_errors"]) == (4.0, 3.0)


async def test_a_ground_truth_that_does_not_apply_is_a_422(client: Any) -> None:
    body = verify_body([("cancel_event", {"event_id": "EV-9999"})], "EV-9999")
    async with await client.seed_session(body) as session:
        with pytest.raises(ServerError) as raised:
            await session.verify(make_response("x"))
    assert raised.value.status_code == 422
    assert "ground_truth call 1 (cancel_event) does not apply to world 7" in str(raised.value)


async def test_an_answer_naming_other_candidates_scores_zero_but_the_events_own_end_time_is_fine(client: Any) -> None:
    # The lookup "when does Hiring sync (EV-2006, 12:00-12:30) start": other events that day start at 09:30...
    body = {**verify_body([("list_events", {"date": "2024-05-16"})], "12:00"), "distractors": ["09:30", "13:00"]}
    async with await client.seed_session(body) as session:
        listed = await session.call("list_events", date="2024-05-16")
        calls = [("list_events", {"date": "2024-05-16"}, listed)]
        own_end = await session.verify(episode(calls, "Hiring sync runs from 12:00 to 12:30."))
        hedged = await session.verify(episode(calls, "It starts at 09:30, 12:00 or 13:00."))
    assert own_end["reward"] == 1.0 and own_end["answer_hedged"] == 0.0
    assert hedged["reward"] == 0.0 and (hedged["answer_match"], hedged["answer_hedged"]) == (0.0, 1.0)


async def test_created_ids_differ_between_worlds_and_repeat_within_one(client: Any) -> None:
    firsts = {created_id(seed, "events", 0) for seed in range(100)}
    assert len(firsts) > 80 and "EV-2011" not in firsts
    assert all(2100 <= int(i.split("-")[1]) < 3000 for i in firsts)  # never a world event's id (EV-2001...)
    event = {"event_title": "T", "date": "2024-05-14", "start": "07:00", "end": "07:30", "attendees": []}
    ids = []
    for seed in (SEED, SEED, SEED + 1):
        async with await client.seed_session(make_row("t", world_seed=seed)) as session:
            ids.append((await session.call("create_event", event))["id"])
    assert ids[0] == ids[1] == NEW_EVENT != ids[2]
    # In the dataset, the rows that create something expect ids that vary from row to row.
    created = [r["expected_answer"] for r in rows() if "hard-coded id" in {p.name for p in probes(r)}]
    assert len(created) >= 200 and len(set(created)) > 0.8 * len(created)


def _window_opening(row: dict[str, Any]) -> str:
    found = re.search(r"between (\d\d:\d\d) and 17:00", row["responses_create_params"]["input"][1]["content"])
    assert found is not None, row["id"]
    return found.group(1)


async def test_earliest_slot_rows_never_answer_the_window_opening(client: Any) -> None:
    earliest = [r for r in rows() if r["category"].endswith(("earliest_slot", "reschedule_earliest"))]
    starts = [json.loads(r["ground_truth"][-1]["arguments"])["start"] for r in earliest]
    assert len(earliest) == 66 and len(set(starts)) >= 8 and starts.count("09:00") < 5
    for row, start in zip(earliest, starts, strict=True):
        opening = _window_opening(row)
        assert start > opening, row["id"]
        # The opening is taken: booking it without listing the day is refused.
        arguments = {**json.loads(row["ground_truth"][-1]["arguments"]), "start": opening}
        arguments["end"] = max(arguments["end"], f"{int(opening[:2]) + 1:02d}{opening[2:]}")
        async with await client.seed_session(row) as session:
            with pytest.raises(ServerError, match="overlaps") as refused:
                await session.call(row["ground_truth"][-1]["name"], arguments)
        assert refused.value.status_code == 400


def test_every_string_argument_has_a_documented_max_length() -> None:
    readme = (ENV_DIR / "README.md").read_text(encoding="utf-8")
    for spec in Workplace.tools():
        for name, schema in spec.schema()["parameters"]["properties"].items():
            for option in schema.get("anyOf", [schema]):
                if option.get("type") == "string" and "enum" not in option:
                    assert option.get("maxLength") in MAX_LENGTHS.values(), (spec.name, name)
                if option.get("type") == "array":
                    assert option["maxItems"] == MAX_LENGTHS["addresses"], (spec.name, name)
                    assert option["items"]["maxLength"] == MAX_LENGTHS["email"], (spec.name, name)
    for kind, limit in MAX_LENGTHS.items():
        assert f"| {kind} | {limit} |" in readme, kind


@pytest.mark.parametrize(
    ("tool", "arguments", "field"),
    [
        ("send_email", {"to": ["a@x.example"], "subject": "s" * 201, "body": "b"}, "subject"),
        ("send_email", {"to": ["a@x.example"], "subject": "s", "body": "b" * 5001}, "body"),
        ("send_email", {"to": ["a@x.example"] * 51, "subject": "s", "body": "b"}, "to"),
        ("reply_email", {"email_id": "EM-1010", "body": "b" * 5001}, "body"),
        ("add_contact", {"name": "n" * 101, "email": "a@x.example", "phone": "1"}, "name"),
        ("add_contact", {"name": "n", "email": "a" * 250 + "@x.example", "phone": "1"}, "email"),
        (
            "update_contact",
            {"contact_id": "CT-3001", "email": None, "phone": None, "job_title": "t" * 201},
            "job_title",
        ),
        (
            "create_event",
            {"event_title": "t" * 201, "date": "2024-05-14", "start": "07:00", "end": "07:30", "attendees": []},
            "event_title",
        ),
        ("search_emails", {"query": "q" * 201, "folder": "all"}, "query"),
        ("find_contact", {"name": "n" * 101}, "name"),
    ],
)
async def test_an_over_long_argument_is_a_422_naming_it_and_nothing_is_stored(
    session: Any, tool: str, arguments: dict[str, Any], field: str
) -> None:
    before = [await session.call("search_emails", query="", folder="all"), await session.call("find_contact", name="@")]
    with pytest.raises(ServerError) as refused:
        await session.call(tool, arguments)
    assert refused.value.status_code == 422
    assert field in str(refused.value) and "at most" in str(refused.value)
    after = [await session.call("search_emails", query="", folder="all"), await session.call("find_contact", name="@")]
    assert after == before
    events = await session.call("list_events", date="2024-05-14")
    assert all(not e["title"].startswith("ttt") for e in events["events"])
    # The same arguments at the limit are accepted.
    assert len("s" * MAX_LENGTHS["subject"]) == 200


# Dataset


def test_dataset_rows_have_the_documented_fields() -> None:
    data = rows()
    server_tools = [spec.schema() for spec in Workplace.tools()]
    categories: dict[str, int] = {}
    tiers: dict[str, int] = {}
    for index, row in enumerate(data):
        assert row["id"] == index and row["environment_name"] == "workplace"
        categories[row["category"]] = categories.get(row["category"], 0) + 1
        params = row["responses_create_params"]
        assert [m["role"] for m in params["input"]] == ["system", "user"]
        assert "Use the tools" in params["input"][0]["content"]
        assert params["tools"] == server_tools
        solution = row["reference_solution"]
        truth = [{"name": c["name"], "arguments": json.loads(c["arguments"])} for c in row["ground_truth"]]
        assert truth == solution["tool_calls"]
        assert row["expected_answer"] in solution["answer"]
        assert row["expected_answer"] not in row["distractors"]
        assert not any(other in solution["answer"] for other in row["distractors"])
        tiers[row["difficulty"]] = tiers.get(row["difficulty"], 0) + 1
    assert len(data) >= 500 and len(categories) == 16 and set(categories.values()) == {33}
    assert sorted(tiers) == ["easy", "hard", "medium"] and min(tiers.values()) >= 100, tiers


# Every generic probe and the environment's own on a fixed sample: 5 rows of each of the 16 families
# (rows 0-15, 128-143, ...), about 1,000 verified episodes; all rows would take a minute on 2 cores.
PROBE_SAMPLE_STRIDE = 128


async def test_every_reference_solution_scores_one() -> None:
    async with client_for(Workplace()) as client:
        results = await asyncio.gather(*(play(client, row, row["reference_solution"]) for row in rows()))
    assert [row["id"] for row, result in zip(rows(), results, strict=True) if result["reward"] != 1.0] == []


async def test_every_probe_scores_below_or_the_same_as_the_reference_as_it_expects() -> None:
    sample = [row for row in rows() if row["id"] % PROBE_SAMPLE_STRIDE < 16]
    assert {row["category"] for row in sample} == {row["category"] for row in rows()}

    async def misgraded(client: Any, row: dict[str, Any]) -> list[tuple[int, str, float]]:
        reference = row["reference_solution"]
        expected = (await play(client, row, reference))["reward"]
        wrong = []
        for probe in probes_for(row, probes(row)):
            reward = (await play(client, row, probe.solution(reference)))["reward"]
            if not (reward < expected if probe.expect == "below" else reward == expected):
                wrong.append((row["id"], probe.name, reward))
        return wrong

    async with client_for(Workplace()) as client:
        found = await asyncio.gather(*(misgraded(client, row) for row in sample))
    assert [item for items in found for item in items] == []


def test_every_own_probe_applies_where_it_should() -> None:
    for row in rows():
        names = {probe.name for probe in probes(row)}
        changes = any(c["name"] not in READ_ONLY_TOOLS for c in row["reference_solution"]["tool_calls"])
        assert ("read-only calls only" in names) == changes, row["id"]
        # Only a lookup of a day's only event has no other candidate.
        alone = row["category"] == "workplace_calendar_lookup" and not row["distractors"]
        assert {"every candidate listed", "a candidate instead of the answer"} <= names or alone, row["id"]
        if row["category"].endswith("earliest_slot") or row["category"].endswith("reschedule_earliest"):
            assert "window opening booked blind" in names, row["id"]
        if row["category"].endswith(("_send", "_reply", "_create", "_add", "accept_meeting", "earliest_slot")):
            assert "hard-coded id" in names, row["id"]


def test_generate_py_reproduces_the_dataset_byte_for_byte(
    tmp_path: Path, import_file: Callable[[Path, str], ModuleType]
) -> None:
    generator = import_file(ENV_DIR / "data" / "generate.py", "gymhall_workplace_generate")
    assert generator.render(generator.build_rows()) == DATASET.read_bytes()
    assert generator.main(["--check"]) == 0
    assert generator.main(["--check", "--output", str(tmp_path / "missing.jsonl")]) == 1


# Config and collection


def test_config_names_the_environment_and_its_settings() -> None:
    config = load_config([CONFIG], env_file=None)
    (instance,) = config.of_kind("resources_servers")
    assert instance.name == "workplace_resources_server"
    assert instance.implementation == "workplace"
    assert instance.settings["entrypoint"] == "gymhall.envs.workplace.server:Workplace"
    settings = instance.config_model(WorkplaceConfig)
    assert settings.domain == "agent" and settings.max_results == 20


async def test_max_results_caps_searches_and_listings() -> None:
    env = Workplace(WorkplaceConfig(name="workplace", max_results=2))
    async with client_for(env) as client, await client.seed_session(make_row("t", world_seed=SEED)) as session:
        everything = await session.call("search_emails", query="", folder="all")
        assert len(everything["emails"]) == 2 and everything["total"] == 16
        assert len((await session.call("find_contact", name="a"))["contacts"]) == 2
        assert len((await session.call("list_events", date="2024-05-16"))["events"]) == 2


async def test_collect_with_the_replay_model_scores_every_row(tmp_path: Path) -> None:
    output = tmp_path / "workplace.jsonl"
    options = CollectOptions(input=DATASET, output=output, model="replay", configs=[str(CONFIG)])
    stats = await run_collect(options)
    lines = [json.loads(line) for line in output.read_text().splitlines()]
    assert stats.total == len(lines) == len(rows())
    assert all(line["status"] == "ok" and line["reward"] == 1.0 for line in lines)
    metrics = json.loads((tmp_path / "workplace_metrics.json").read_text())
    assert metrics["key_metrics"]["mean/reward"] == 1.0


def test_readme_documents_every_tool_and_field() -> None:
    readme = (ENV_DIR / "README.md").read_text(encoding="utf-8")
    for name in [*TOOLS, "world_seed", "ground_truth", "expected_answer", "reference_solution", "max_results"]:
        assert f"`{name}`" in readme, name
    for command in (
        "gymhall serve workplace",
        "gymhall collect --env workplace --model replay",
        "gymhall check workplace",
    ):
        assert command in readme
