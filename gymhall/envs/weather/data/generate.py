"""Write `weather.jsonl`: questions about one or two cities' weather, each with its reference solution.

    python gymhall/envs/weather/data/generate.py

Three tiers: easy rows ask one city's umbrella, temperature or conditions; medium rows ask whether
one city is above a temperature, or its conditions in words that name none; hard rows ask about two
cities (is the first warmer, will either need an umbrella), so both must be looked up. Yes/no answers
are balanced. Hand-written rows go in `extra.jsonl` (one row per line, same fields) and are
appended unchanged. Deterministic: a fixed seed chooses cities and wording, and each answer comes
from the environment's own `forecast`, so re-running rewrites the same bytes.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from gymhall.envs.weather.server import Weather, forecast, is_rainy

SEED = 20240601
HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "weather.jsonl"
EXTRA = HERE / "extra.jsonl"  # hand-written rows, appended as they are
PER_QUESTION = 90  # rows per question kind: six kinds, 540 rows

CITIES = (
    "Lisbon", "Oslo", "Nairobi", "Lima", "Osaka", "Toronto", "Cairo", "Reykjavik", "Hanoi", "Santiago",
    "Edinburgh", "Montevideo", "Accra", "Tbilisi", "Perth", "Vancouver", "Kraków", "Marrakesh", "Seoul",
    "Quito", "Helsinki", "Dakar", "Porto", "Mumbai", "Wellington", "Bogotá", "Vienna", "Hobart", "Manila",
    "Tunis", "Glasgow", "Cusco", "Valencia", "Zanzibar", "Bergen", "Kyoto", "Halifax", "Medellín", "Tallinn",
    "Cape Town", "Ljubljana", "Da Nang", "Havana", "Gdańsk", "Ushuaia", "Tromsø", "Lagos", "Adelaide",
    "Antwerp", "Chiang Mai", "Salvador", "Galway", "Riga", "Mombasa", "Córdoba", "Sapporo", "Winnipeg",
    "Muscat", "Bruges", "Hoi An",
    "Auckland", "Brisbane", "Darwin", "Dunedin", "Suva", "Apia", "Nouméa", "Jakarta", "Surabaya", "Cebu",
    "Taipei", "Busan", "Fukuoka", "Nagoya", "Ulaanbaatar", "Almaty", "Bishkek", "Tashkent", "Baku",
    "Yerevan", "Ankara", "Izmir", "Beirut", "Amman", "Doha", "Kuwait City", "Shiraz", "Karachi", "Lahore",
    "Kathmandu", "Thimphu", "Dhaka", "Colombo", "Chennai", "Kochi", "Pune", "Jaipur", "Yangon", "Vientiane",
    "Phnom Penh", "Kuala Lumpur", "Penang", "Addis Ababa", "Kampala", "Kigali", "Lusaka", "Harare",
    "Windhoek", "Gaborone", "Maputo", "Durban", "Antananarivo", "Port Louis", "Abidjan", "Bamako", "Niamey",
    "Khartoum", "Asmara", "Djibouti", "Alexandria", "Tripoli", "Algiers", "Oran", "Fez", "Seville", "Bilbao",
    "Lyon", "Marseille", "Nantes", "Geneva", "Basel", "Turin", "Naples", "Palermo", "Split", "Sarajevo",
    "Skopje", "Sofia", "Bucharest", "Chișinău", "Lviv", "Vilnius", "Minsk", "Tampere", "Uppsala", "Aarhus",
    "Malmö", "Cork", "Belfast", "Cardiff", "Leeds", "Nuuk", "Anchorage", "Juneau", "Calgary", "Quebec City",
    "Boise", "Tucson", "Santa Fe", "Memphis", "Savannah", "Mérida", "Oaxaca", "Antigua", "San José",
    "Panama City", "Cartagena", "Arequipa", "La Paz", "Asunción", "Rosario", "Valparaíso", "Recife",
    "Belém", "Manaus", "Paramaribo", "Nassau", "Kingston",
)  # fmt: skip

PROMPTS: dict[str, tuple[str, ...]] = {
    "umbrella": (
        "Should I take an umbrella in {city} today? Check with the get_weather tool, then start your reply "
        "with Yes or No.",
        "I'm heading out in {city}. Do I need an umbrella? Use the get_weather tool and begin your answer "
        "with Yes or No.",
    ),
    "temperature": (
        "What is the temperature in {city} right now? Use the get_weather tool and reply with the temperature in °C.",
        "How warm is it in {city} today? Look it up with the get_weather tool and answer with the temperature "
        "in degrees Celsius.",
    ),
    "conditions": (
        "What's the weather like in {city} today? Use the get_weather tool and tell me the conditions.",
        "Describe today's conditions in {city}; look them up with the get_weather tool first.",
        "I'm deciding what to wear in {city}. What is the sky doing today? Check with the get_weather tool "
        "and name the conditions.",
        "Will the view be good from the hills above {city} today? Use the get_weather tool and tell me the "
        "conditions there.",
    ),
    "above": (
        "Is it above {threshold} °C in {city} right now? Check with the get_weather tool, then start your "
        "reply with Yes or No.",
        "I only go swimming when it is warmer than {threshold} °C. Is it, in {city} today? Use the get_weather "
        "tool and begin your answer with Yes or No.",
    ),
    "warmer": (
        "Is it warmer in {city} than in {other_city} today? Look both up with the get_weather tool, then "
        "start your reply with Yes or No.",
        "I can spend the day in {city} or in {other_city}. Is {city} the warmer of the two today? Use the "
        "get_weather tool for each and begin your answer with Yes or No.",
    ),
    "umbrella_either": (
        "I'm in {city} this morning and {other_city} this afternoon. Will I need an umbrella in either? "
        "Check both with the get_weather tool, then start your reply with Yes or No.",
        "Do I need to pack an umbrella for a day split between {city} and {other_city}? Use the get_weather "
        "tool for both cities and begin your answer with Yes or No.",
    ),
}
TIERS = {
    "umbrella": "easy",
    "temperature": "easy",
    "conditions": "medium",
    "above": "medium",
    "warmer": "hard",
    "umbrella_either": "hard",
}
QUESTIONS = tuple(PROMPTS)


def _verdict(yes: bool, reason: str) -> tuple[str, str]:
    return ("yes", f"Yes: {reason}") if yes else ("no", f"No: {reason}")


def _answer(question: str, city: str, other: str | None, threshold: int | None) -> tuple[str, str]:
    """The expected answer and a reference reply stating it."""
    report = forecast(city)
    if question == "umbrella":
        chance = f"{report.chance_of_rain_pct}% chance of rain"
        if is_rainy(report.conditions):
            return "yes", f"Yes, take one: {report.conditions} in {city} today, with a {chance}."
        return "no", f"No, leave it at home: {report.conditions} in {city} today, only a {chance}."
    if question == "temperature":
        return str(report.temperature_c), f"It is {report.temperature_c} °C in {city}."
    if question == "conditions":
        return report.conditions, f"{city} has {report.conditions} today."
    if question == "above":
        assert threshold is not None
        return _verdict(report.temperature_c > threshold, f"{city} is at {report.temperature_c} °C today.")
    assert other is not None
    second = forecast(other)
    if question == "warmer":
        reason = f"{city} is at {report.temperature_c} °C and {other} at {second.temperature_c} °C."
        return _verdict(report.temperature_c > second.temperature_c, reason)
    reason = f"{report.conditions} in {city}, {second.conditions} in {other}."
    return _verdict(is_rainy(report.conditions) or is_rainy(second.conditions), reason)


def _draw(rng: random.Random, question: str, want_yes: bool) -> tuple[str, str | None, int | None]:
    """A city (and a second city, or a threshold) whose answer is `want_yes`: the yes/no answers are balanced."""
    while True:
        city, other = rng.sample(CITIES, 2)
        threshold = None
        if question == "above":
            temperature = forecast(city).temperature_c
            threshold = temperature + rng.randint(1, 5) * (-1 if want_yes else 1)
            return city, None, threshold
        if question == "warmer" and forecast(city).temperature_c == forecast(other).temperature_c:
            continue  # a tie has no right answer
        if question == "umbrella":
            if is_rainy(forecast(city).conditions) == want_yes:
                return city, None, None
            continue
        if question not in ("warmer", "umbrella_either"):
            return city, None, None
        if (_answer(question, city, other, None)[0] == "yes") == want_yes:
            return city, other, None


def build_rows() -> list[dict[str, Any]]:
    """The dataset's rows, in order: generated ones, then those of `extra.jsonl`."""
    rng = random.Random(SEED)
    tools = [spec.schema() for spec in Weather.tools()]
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for question in QUESTIONS:
        cities = list(CITIES)
        rng.shuffle(cities)
        made = 0
        while made < PER_QUESTION:
            if question in ("temperature", "conditions"):
                city, other, threshold = cities[made], None, None
            else:
                city, other, threshold = _draw(rng, question, want_yes=made % 2 == 0)
            prompt = rng.choice(PROMPTS[question]).format(city=city, other_city=other, threshold=threshold)
            if prompt in seen:
                continue
            seen.add(prompt)
            expected, reply = _answer(question, city, other, threshold)
            calls = [{"name": "get_weather", "arguments": {"city": name}} for name in (city, other) if name]
            rows.append(
                {
                    "responses_create_params": {"input": [{"role": "user", "content": prompt}], "tools": tools},
                    "city": city,
                    **({"other_city": other} if other else {}),
                    **({"threshold": threshold} if threshold is not None else {}),
                    "question": question,
                    "expected_answer": expected,
                    "difficulty": TIERS[question],
                    "reference_solution": {"tool_calls": calls, "answer": reply},
                }
            )
            made += 1
    if EXTRA.exists():
        rows += [json.loads(line) for line in EXTRA.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows


def render(rows: list[dict[str, Any]]) -> bytes:
    """The JSONL bytes of `rows`."""
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()


def main() -> None:
    OUTPUT.write_bytes(render(build_rows()))
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
