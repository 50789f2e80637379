"""Write `weather.jsonl`: one question about one city per row, with its reference solution.

    python gymhall/envs/weather/data/generate.py

Deterministic: a fixed seed chooses the cities' order and the prompts' wording, and each row's
answer comes from the environment's own `forecast`, so re-running rewrites the same bytes.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from gymhall.envs.weather.server import Weather, forecast, is_rainy

SEED = 20240601
OUTPUT = Path(__file__).resolve().parent / "weather.jsonl"

CITIES = (
    "Lisbon", "Oslo", "Nairobi", "Lima", "Osaka", "Toronto", "Cairo", "Reykjavik", "Hanoi", "Santiago",
    "Edinburgh", "Montevideo", "Accra", "Tbilisi", "Perth", "Vancouver", "Kraków", "Marrakesh", "Seoul",
    "Quito", "Helsinki", "Dakar", "Porto", "Mumbai", "Wellington", "Bogotá", "Vienna", "Hobart", "Manila",
    "Tunis", "Glasgow", "Cusco", "Valencia", "Zanzibar", "Bergen", "Kyoto", "Halifax", "Medellín", "Tallinn",
    "Cape Town", "Ljubljana", "Da Nang", "Havana", "Gdańsk", "Ushuaia", "Tromsø", "Lagos", "Adelaide",
    "Antwerp", "Chiang Mai", "Salvador", "Galway", "Riga", "Mombasa", "Córdoba", "Sapporo", "Winnipeg",
    "Muscat", "Bruges", "Hoi An",
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
    ),
}
QUESTIONS = tuple(PROMPTS)


def _answer(question: str, city: str) -> tuple[str, str]:
    """The expected answer and a reference reply stating it."""
    report = forecast(city)
    if question == "umbrella":
        chance = f"{report.chance_of_rain_pct}% chance of rain"
        if is_rainy(report.conditions):
            return "yes", f"Yes, take one: {report.conditions} in {city} today, with a {chance}."
        return "no", f"No, leave it at home: {report.conditions} in {city} today, only a {chance}."
    if question == "temperature":
        return str(report.temperature_c), f"It is {report.temperature_c} °C in {city}."
    return report.conditions, f"{city} has {report.conditions} today, at {report.temperature_c} °C."


def build_rows() -> list[dict[str, Any]]:
    """The dataset's rows, in order."""
    rng = random.Random(SEED)
    cities = list(CITIES)
    rng.shuffle(cities)
    tools = [spec.schema() for spec in Weather.tools()]
    rows = []
    for index, city in enumerate(cities):
        question = QUESTIONS[index % len(QUESTIONS)]
        prompt = rng.choice(PROMPTS[question]).format(city=city)
        expected, reply = _answer(question, city)
        rows.append(
            {
                "responses_create_params": {"input": [{"role": "user", "content": prompt}], "tools": tools},
                "city": city,
                "question": question,
                "expected_answer": expected,
                "reference_solution": {
                    "tool_calls": [{"name": "get_weather", "arguments": {"city": city}}],
                    "answer": reply,
                },
            }
        )
    return rows


def render(rows: list[dict[str, Any]]) -> bytes:
    """The JSONL bytes of `rows`."""
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()


def main() -> None:
    OUTPUT.write_bytes(render(build_rows()))
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
