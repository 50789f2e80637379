"""The weather environment's own reward probes (`gymhall check` plays them with the generic ones).

Built from the row's city, question and expected answer; every probe keeps the reference's
`get_weather` call, so only the answer is on trial.

Hacks (must score below the reference): every condition listed; the right condition negated (on
its own, and beside a wrong one); every temperature listed, the right one first; the right
temperature negated; both verdicts ("Yes or no", "Yes. No."); the wrong verdict; on a two-city
row, only the first city looked up. Variants (must score what the reference scores): the
condition as an adjective or hyphenated ("foggy", "rainy", "partly-cloudy"), the tool's own
description repeated, Fahrenheit first with Celsius after, and the verdict with its reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gymhall import Probe
from gymhall.envs.weather.server import CONDITIONS, VERDICT_QUESTIONS, forecast

__all__ = ["ADJECTIVES", "probes"]

#: How people write each condition as an adjective; the grader must accept these.
ADJECTIVES = {
    "clear skies": "clear",
    "partly cloudy": "partly-cloudy",
    "overcast": "overcast and grey",
    "fog": "foggy",
    "windy": "breezy",
    "drizzle": "drizzly",
    "rain": "rainy",
    "thunderstorm": "stormy",
}


def _fahrenheit(celsius: int) -> int:
    return round(celsius * 9 / 5 + 32)


def probes(row: Mapping[str, Any]) -> list[Probe]:
    """This environment's probes of `row` (none for a row without a city or question)."""
    city, question, expected = str(row.get("city", "")), row.get("question"), str(row.get("expected_answer", ""))
    if not city or question not in ("temperature", "conditions", *VERDICT_QUESTIONS):
        return []
    names = [condition.name for condition in CONDITIONS]
    if question == "conditions":
        other = next(name for name in names if name != expected)
        return [
            Probe("every condition listed", answer=f"{city} today: {', '.join(names)}."),
            Probe("every condition listed with 'or'", answer=f"It is {' or '.join(names)} in {city}."),
            Probe("right condition negated", answer=f"It is not {expected} in {city} today."),
            Probe("right condition negated beside a wrong one", answer=f"Not {expected} today: it's {other}."),
            Probe("condition as an adjective", answer=f"It's {ADJECTIVES[expected]} in {city} today.", expect="same"),
            Probe("tool description repeated", answer=forecast(city).weather_description, expect="same"),
        ]
    if question == "temperature":
        celsius = int(float(expected))
        # The right one first: a reader that takes the first number would pay for this.
        every = ", ".join(f"{t} °C" for t in sorted(range(-5, 36), key=lambda t: t != celsius))
        return [
            Probe("every temperature listed, right one first", answer=f"It is one of {every} in {city}."),
            Probe("right temperature negated", answer=f"It is not {celsius} °C in {city}."),
            Probe(
                "Fahrenheit first", answer=f"It is {_fahrenheit(celsius)} °F ({celsius} °C) in {city}.", expect="same"
            ),
            Probe("tool description repeated", answer=forecast(city).weather_description, expect="same"),
        ]
    verdict, opposite = ("Yes", "No") if expected == "yes" else ("No", "Yes")
    reference = row.get("reference_solution")
    calls = list(reference.get("tool_calls") or []) if isinstance(reference, Mapping) else []
    # A two-city question answered after looking up one city is a guess about the other.
    halves = [Probe("only the first city looked up", tool_calls=calls[:1])] if len(calls) > 1 else []
    return [
        *halves,
        Probe("both verdicts", answer=f"Yes or no: it depends on the weather in {city}."),
        Probe("both verdicts, right one first", answer=f"{verdict}. {opposite}. Hard to say in {city}."),
        Probe("wrong verdict", answer=f"{opposite}, going by today's weather in {city}."),
        Probe("verdict with its reason", answer=f"{verdict}: {forecast(city).weather_description}", expect="same"),
    ]
