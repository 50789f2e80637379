"""gymhall/envs/weather: the tool, the reward's edge cases, the dataset and a replay collection."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from gymhall import AsyncResourcesSession, Probe, ServerError, load_config
from gymhall.checks.probes import probes_for
from gymhall.collection.runs import CollectOptions, run_collect
from gymhall.envs.weather.probes import probes
from gymhall.envs.weather.server import CONDITIONS, Forecast, Weather, forecast, is_rainy, normalize_city
from gymhall.testing import client_for, function_call, function_call_output, make_response, make_row

ENV = Path(__file__).resolve().parents[2] / "gymhall" / "envs" / "weather"
DATASET = ENV / "data" / "weather.jsonl"
CONFIG = ENV / "configs" / "weather.yaml"
ROWS = [json.loads(line) for line in DATASET.read_text(encoding="utf-8").splitlines()]


def weather_row(city: str = "Lisbon", question: str = "umbrella", expected: str = "yes") -> dict[str, Any]:
    return make_row(f"A question about {city}.", city=city, question=question, expected_answer=expected)


def episode(answer: str, *cities: str) -> dict[str, Any]:
    """A response that looked up `cities` (outputs elided) and then said `answer`."""
    items: list[dict[str, Any]] = []
    for number, city in enumerate(cities):
        items += [function_call("get_weather", {"city": city}, f"c{number}"), function_call_output(f"c{number}", {})]
    return make_response(answer, output=items)


async def play(session: AsyncResourcesSession, solution: dict[str, Any]) -> dict[str, Any]:
    """Run a reference solution's tool calls on `session`, then verify its answer: what the agent would do."""
    items: list[dict[str, Any]] = []
    for number, call in enumerate(solution["tool_calls"]):
        result = await session.call(call["name"], call["arguments"])
        items += [
            function_call(call["name"], call["arguments"], f"c{number}"),
            function_call_output(f"c{number}", result),
        ]
    return await session.verify(make_response(solution["answer"], output=items))


def test_the_weather_of_a_city_is_pinned() -> None:
    # Fixed values: the weather must not depend on the process (no hash(), no unseeded randomness).
    assert forecast("Lisbon") == Forecast(
        city="Lisbon",
        conditions="windy",
        temperature_c=17,
        chance_of_rain_pct=10,
        weather_description="Windy in Lisbon, 17 °C, with a 10% chance of rain.",
    )
    assert forecast("Oslo").model_dump(include={"conditions", "temperature_c"}) == {
        "conditions": "rain",
        "temperature_c": 4,
    }


@pytest.mark.parametrize("spelling", ["lisbon", "  LISBON ", "Lisbon, Portugal", "Lisbon,PT", "ＬＩＳＢＯＮ"])
def test_spellings_of_a_city_share_its_weather(spelling: str) -> None:
    assert normalize_city(spelling) == "lisbon"
    same = forecast(spelling).model_dump(exclude={"city", "weather_description"})
    assert same == forecast("Lisbon").model_dump(exclude={"city", "weather_description"})
    assert forecast(spelling).city == spelling.strip()


def test_the_chance_of_rain_agrees_with_the_conditions() -> None:
    names = {condition.name for condition in CONDITIONS}
    for number in range(500):
        report = forecast(f"Town {number}")
        assert report.conditions in names
        assert (report.chance_of_rain_pct >= 60) == is_rainy(report.conditions)
        assert 0 <= report.chance_of_rain_pct <= 100
    # No condition's name is a word of another's, so naming the conditions is unambiguous.
    assert not any(a != b and f" {a} " in f" {b} " for a in names for b in names)


async def test_tool_listing_and_call() -> None:
    async with client_for(Weather()) as client:
        (listed,) = await client.list_tools()
        assert listed["name"] == "get_weather" and listed["strict"] is True
        assert listed["parameters"] == {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        }
        async with await client.seed_session(weather_row()) as session:
            assert await session.call("get_weather", city="Oslo") == forecast("Oslo").model_dump()


@pytest.mark.parametrize(
    ("arguments", "status", "message"),
    [
        ({"city": ""}, 400, "needs a city name"),
        ({"city": "   "}, 400, "needs a city name"),
        ({"city": "x" * 81}, 400, "81 characters"),
        ({}, 422, "city"),
        ({"city": 7}, 422, "city"),
        ({"city": "Oslo", "country": "NO"}, 422, "country"),
    ],
)
async def test_bad_tool_input_is_refused_readably(arguments: dict[str, Any], status: int, message: str) -> None:
    async with client_for(Weather()) as client:
        async with await client.seed_session(weather_row()) as session:
            with pytest.raises(ServerError) as refused:
                await session.call("get_weather", arguments)
    assert refused.value.status_code == status
    assert message in str(refused.value)


async def test_the_tool_needs_a_live_session() -> None:
    async with client_for(Weather()) as client:
        session = await client.seed_session(weather_row())
        await session.close()
        with pytest.raises(ServerError, match="404"):
            await session.call("get_weather", city="Oslo")


@pytest.mark.parametrize(
    ("question", "expected", "answer", "reward"),
    [
        ("umbrella", "yes", "Yes, take one: rain all day.", 1.0),
        ("umbrella", "yes", "**YES** - it's raining.", 1.0),
        ("umbrella", "no", "No. Clear skies.", 1.0),
        ("umbrella", "no", "Yes, take one.", 0.0),
        ("umbrella", "yes", "Take an umbrella: yes.", 0.0),  # the first word must be the verdict
        ("umbrella", "yes", "Yesterday it rained.", 0.0),
        ("umbrella", "yes", "Yes or no: it depends.", 0.0),  # both verdicts
        ("umbrella", "yes", "Yes. No. Hard to say.", 0.0),
        ("umbrella", "yes", "Yes, take one: no sun today.", 1.0),  # "no" inside the reason is no verdict
        ("umbrella", "yes", "Yes, take one. No need for sunglasses.", 1.0),  # nor a sentence opening with it
        ("umbrella", "yes", "Yes, take one.\nNo, on second thoughts.", 0.0),
        ("temperature", "14", "It is 14 °C in Lisbon.", 1.0),
        ("temperature", "14", "14.0°C", 1.0),
        ("temperature", "-3", "It is −3 °C, bring gloves.", 1.0),
        ("temperature", "-3", "It is -3 degrees.", 1.0),
        ("temperature", "14", "It is 57 °F (14 °C).", 1.0),  # Fahrenheit first: the °C figure counts
        ("temperature", "14", "It is 14°C (57°F), with a 10% chance of rain.", 1.0),
        ("temperature", "14", "It is 14 °C at 3 pm.", 1.0),  # a bare number beside a °C one is no temperature
        ("temperature", "14", "It is 57 °F.", 0.0),  # the row asks for °C
        ("temperature", "14", "It is not 14 °C.", 0.0),  # the right figure negated
        ("temperature", "14", "It is 14 °C, 15 °C or 16 °C.", 0.0),  # several figures
        ("temperature", "14", "Mild.", 0.0),
        ("conditions", "drizzle", "Light DRIZZLE, 9 °C.", 1.0),
        ("conditions", "partly cloudy", "It is partly\n cloudy.", 1.0),
        ("conditions", "rain", "Rain is coming.", 1.0),
        ("conditions", "rain", "Rainy and grey.", 1.0),  # the condition's adjective
        ("conditions", "fog", "Foggy this morning.", 1.0),
        ("conditions", "partly cloudy", "Partly-cloudy, 12 °C.", 1.0),
        ("conditions", "clear skies", "Sunny and clear.", 1.0),
        ("conditions", "clear skies", "Clear skies in Lisbon, 17 °C, with a 10% chance of rain.", 1.0),  # a chance
        ("conditions", "clear skies", "No rain today, just clear skies.", 1.0),  # a negated other condition
        ("conditions", "clear skies", "Clear skies and a light wind.", 1.0),  # wind is not "windy"
        ("conditions", "thunderstorm", "Thunderstorms with heavy rain and wind.", 1.0),  # what storms bring
        ("conditions", "rain", "Rain, with thunderstorms later.", 0.0),  # a condition the row does not have
        ("conditions", "clear skies", "Not clear skies today: it's overcast.", 0.0),  # the right one negated
        ("conditions", "clear skies", "It isn't clear skies in Lisbon.", 0.0),
        ("conditions", "clear skies", ", ".join(c.name for c in CONDITIONS), 0.0),  # every condition listed
        ("conditions", "rain", "Raindrops keep falling.", 0.0),  # whole words only
        ("umbrella", "yes", "", 0.0),
    ],
)
async def test_reward_reads_the_fact_from_the_final_answer(
    question: str, expected: str, answer: str, reward: float
) -> None:
    row = weather_row(question=question, expected=expected)
    async with client_for(Weather()) as client:
        verified = await client.verify({**row, "response": episode(answer, "Lisbon")})
    assert verified["reward"] == reward
    assert verified["looked_up_city"] is True
    assert verified["answer_correct"] is (reward == 1.0)


@pytest.mark.parametrize(
    ("cities", "reward"),
    [
        ((), 0.0),
        (("Porto",), 0.0),
        (("Porto", "lisbon, portugal"), 1.0),
        (("  LISBON",), 1.0),
    ],
)
async def test_reward_needs_a_lookup_of_the_asked_city(cities: tuple[str, ...], reward: float) -> None:
    async with client_for(Weather()) as client:
        verified = await client.verify({**weather_row(), "response": episode("Yes, take one.", *cities)})
    assert verified["reward"] == reward
    assert verified["answer_correct"] is True


async def test_a_call_with_unreadable_arguments_is_no_lookup() -> None:
    output = [function_call("get_weather", "{not json", "c1"), function_call("get_weather", '["Lisbon"]', "c2")]
    async with client_for(Weather()) as client:
        verified = await client.verify({**weather_row(), "response": make_response("Yes.", output=output)})
    assert verified["reward"] == 0.0 and verified["looked_up_city"] is False


async def test_only_the_last_assistant_message_is_the_answer() -> None:
    output = [
        {**make_response("No idea yet, let me check.")["output"][0], "id": "msg_1"},
        function_call("get_weather", {"city": "Lisbon"}, "c1"),
        function_call_output("c1", {}),
    ]
    async with client_for(Weather()) as client:
        verified = await client.verify({**weather_row(), "response": make_response("Yes, take one.", output=output)})
        unanswered = await client.verify({**weather_row(), "response": make_response(output=output[1:])})
    assert verified["reward"] == 1.0
    assert unanswered["reward"] == 0.0


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (make_row("hi"), "city"),
        (weather_row(question="wind"), "question"),
        (weather_row(question="umbrella", expected="maybe"), "'yes' or 'no'"),
        (weather_row(question="temperature", expected="warm"), "is a number"),
        (weather_row(question="warmer"), "needs other_city"),
        (weather_row(question="above"), "needs threshold"),
    ],
)
async def test_verify_refuses_rows_it_cannot_grade(row: dict[str, Any], problem: str) -> None:
    async with client_for(Weather()) as client:
        with pytest.raises(ServerError, match="422") as refused:
            await client.verify({**row, "response": episode("Yes.", "Lisbon")})
    assert problem in str(refused.value)


def test_the_dataset_is_what_the_generator_writes(import_file: Callable[[Path, str], ModuleType]) -> None:
    generator = import_file(ENV / "data" / "generate.py", "gymhall_weather_generate")
    assert generator.render(generator.build_rows()) == DATASET.read_bytes()


def expected_answer(question: str, report: Forecast, other: Forecast, threshold: int | None) -> str:
    """The right answer to `question`, worked out here from the forecasts (not by the generator's code)."""
    if question == "temperature":
        return str(report.temperature_c)
    if question == "conditions":
        return report.conditions
    yes = {
        "umbrella": is_rainy(report.conditions),
        "above": threshold is not None and report.temperature_c > threshold,
        "warmer": report.temperature_c > other.temperature_c,
        "umbrella_either": is_rainy(report.conditions) or is_rainy(other.conditions),
    }[question]
    return "yes" if yes else "no"


def test_the_dataset_rows() -> None:
    assert len(ROWS) >= 500
    prompts = [row["responses_create_params"]["input"][0]["content"] for row in ROWS]
    assert len(set(prompts)) == len(ROWS)
    tools = [spec.schema() for spec in Weather.tools()]
    for row, prompt in zip(ROWS, prompts, strict=True):
        report = forecast(row["city"])
        other = forecast(row.get("other_city") or row["city"])
        expected = expected_answer(row["question"], report, other, row.get("threshold"))
        assert row["expected_answer"] == expected
        assert row["responses_create_params"]["tools"] == tools
        assert "get_weather" in prompt and row["city"] in prompt and row.get("other_city", "") in prompt
        if row["question"] == "warmer":
            assert report.temperature_c != other.temperature_c
        if row["question"] == "above":
            assert row["threshold"] != report.temperature_c and f"{row['threshold']} °C" in prompt
        called = [call["arguments"]["city"] for call in row["reference_solution"]["tool_calls"]]
        assert called == [row["city"], *([row["other_city"]] if "other_city" in row else [])]
    assert {row["question"] for row in ROWS} == {
        "umbrella",
        "temperature",
        "conditions",
        "above",
        "warmer",
        "umbrella_either",
    }
    tiers = Counter(row["difficulty"] for row in ROWS)
    assert set(tiers) == {"easy", "medium", "hard"} and min(tiers.values()) >= 150
    # Yes and no are equally often right, so a constant verdict scores half.
    verdicts = Counter(row["expected_answer"] for row in ROWS if row["expected_answer"] in ("yes", "no"))
    assert verdicts["yes"] == verdicts["no"]
    assert len({row["expected_answer"] for row in ROWS if row["question"] == "conditions"}) == len(CONDITIONS)


def test_hand_written_rows_are_appended(import_file: Callable[[Path, str], ModuleType], tmp_path: Path) -> None:
    generator = import_file(ENV / "data" / "generate.py", "gymhall_weather_generate_extra")
    generated = generator.build_rows()
    mine = {**weather_row("Timbuktu", "temperature", str(forecast("Timbuktu").temperature_c)), "difficulty": "easy"}
    generator.EXTRA = tmp_path / "extra.jsonl"
    generator.EXTRA.write_text(json.dumps(mine) + "\n", encoding="utf-8")
    assert generator.build_rows() == [*generated, mine]


@pytest.mark.parametrize(
    ("question", "fields", "cities", "answer", "reward"),
    [
        ("above", {"threshold": 15}, ("Lisbon",), "Yes: it is 17 °C.", 1.0),
        ("above", {"threshold": 15}, ("Lisbon",), "Yes or no, hard to say.", 0.0),
        ("warmer", {"other_city": "Oslo"}, ("Lisbon", "Oslo"), "Yes: 17 °C against 4 °C.", 1.0),
        ("warmer", {"other_city": "Oslo"}, ("Lisbon",), "Yes: 17 °C against 4 °C.", 0.0),  # Oslo never looked up
        ("umbrella_either", {"other_city": "Oslo"}, ("oslo", "Lisbon, Portugal"), "Yes, for Oslo.", 1.0),
        ("umbrella_either", {"other_city": "Oslo"}, ("Oslo", "Lisbon"), "No.", 0.0),
    ],
)
async def test_two_city_and_threshold_questions(
    question: str, fields: dict[str, Any], cities: tuple[str, ...], answer: str, reward: float
) -> None:
    row = {**weather_row(question=question, expected="yes"), **fields}
    async with client_for(Weather()) as client:
        verified = await client.verify({**row, "response": episode(answer, *cities)})
    assert verified["reward"] == reward


async def test_every_reference_solution_scores_one_and_its_corruptions_do_not() -> None:
    async with client_for(Weather()) as client:
        for row in ROWS:
            solution = row["reference_solution"]
            rewards = []
            for attempt in [solution, {**solution, "answer": ""}, {**solution, "tool_calls": []}]:
                async with await client.seed_session(row) as session:
                    rewards.append((await play(session, attempt))["reward"])
            assert rewards == [1.0, 0.0, 0.0], row["city"]


async def test_every_probe_keeps_its_rule_on_every_row() -> None:
    # What `gymhall check` plays: each hack scores below the reference, each variant what it scores.
    plays = [(row, None) for row in ROWS] + [(row, p) for row in ROWS for p in probes_for(row, probes(row))]
    gate = asyncio.Semaphore(16)

    async def score(client: Any, row: dict[str, Any], probe: Probe | None) -> float:
        solution = probe.solution(row["reference_solution"]) if probe else row["reference_solution"]
        async with gate, await client.seed_session(row) as session:
            return float((await play(session, solution))["reward"])

    async with client_for(Weather()) as client:
        rewards = await asyncio.gather(*(score(client, row, probe) for row, probe in plays))
    assert all(reward == 1.0 for (_, probe), reward in zip(plays, rewards, strict=True) if probe is None)
    broken = [
        f"{probe.name} ({probe.expect}) scored {reward} on {row['city']}: {probe.answer!r}"
        for (row, probe), reward in zip(plays, rewards, strict=True)
        if probe is not None and (reward >= 1.0 if probe.expect == "below" else reward != 1.0)
    ]
    assert broken == []
    names = {probe.name for _, probe in plays if probe is not None}
    assert {"every condition listed", "right condition negated beside a wrong one", "Fahrenheit first"} <= names


def test_config() -> None:
    config = load_config([CONFIG], env_file=None)
    (instance,) = config.of_kind("resources_servers")
    assert instance.name == "weather_resources_server" and instance.implementation == "weather"
    assert instance.settings["domain"] == "agent"
    assert instance.settings["entrypoint"] == "gymhall.envs.weather.server:Weather"
    assert instance.settings["probes"] == "gymhall.envs.weather.probes:probes"


async def test_replay_collection_scores_one(tmp_path: Path) -> None:
    output = tmp_path / "weather.jsonl"
    options = CollectOptions(input=DATASET, output=output, model="replay", configs=[str(CONFIG)])
    stats = await run_collect(options)
    lines = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert stats.total == stats.ok == len(ROWS) == len(lines) and stats.mean_reward == 1.0
    assert all(line["status"] == "ok" and line["reward"] == 1.0 for line in lines)
