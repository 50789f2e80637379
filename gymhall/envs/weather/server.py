"""The tutorial environment: one tool, `get_weather(city)`, and a question about one city's weather.

The weather is made up but stable: it is derived from a SHA-256 of the normalised city name, so
the same city has the same weather in every process, on every machine, every day. A row asks
one of three questions (should I take an umbrella, what is the temperature, what are the
conditions); the reward is 1.0 when the episode looked the city up with `get_weather` and the
final answer states the right fact.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, model_validator

from gymhall import BaseVerifyRequest, Environment, ToolError, tool

__all__ = ["CONDITIONS", "Forecast", "Weather", "WeatherVerifyRequest", "forecast", "normalize_city"]

Question = Literal["umbrella", "temperature", "conditions"]

MAX_CITY_LENGTH = 80


@dataclass(frozen=True)
class Condition:
    """A kind of weather: its name, whether it rains, and the temperatures it comes with (°C)."""

    name: str
    rainy: bool
    coldest: int
    warmest: int


# No name is a word of another (e.g. no "cloudy" beside "partly cloudy"), so naming the conditions
# in an answer is unambiguous.
CONDITIONS: tuple[Condition, ...] = (
    Condition("clear skies", False, 8, 34),
    Condition("partly cloudy", False, 4, 28),
    Condition("overcast", False, -4, 18),
    Condition("fog", False, -2, 14),
    Condition("windy", False, -3, 20),
    Condition("drizzle", True, 5, 18),
    Condition("rain", True, 3, 24),
    Condition("thunderstorm", True, 16, 31),
)


class Forecast(BaseModel):
    """What `get_weather` answers."""

    city: str
    conditions: str
    temperature_c: int
    chance_of_rain_pct: int
    weather_description: str


def normalize_city(city: str) -> str:
    """The key a city's weather is derived from: "  Lisbon, Portugal" and "lisbon" are the same city."""
    name = unicodedata.normalize("NFKC", city).split(",")[0]
    return " ".join(name.casefold().split())


def forecast(city: str) -> Forecast:
    """Today's weather in `city`, the same for a given city in every process."""
    digest = hashlib.sha256(normalize_city(city).encode()).digest()
    condition = CONDITIONS[digest[0] % len(CONDITIONS)]
    temperature = condition.coldest + digest[1] % (condition.warmest - condition.coldest + 1)
    # Rainy conditions come with a high chance of rain and dry ones with a low one, so the
    # umbrella question has one right answer.
    chance = 60 + digest[2] % 41 if condition.rainy else digest[2] % 31
    name = city.strip()
    return Forecast(
        city=name,
        conditions=condition.name,
        temperature_c=temperature,
        chance_of_rain_pct=chance,
        weather_description=(
            f"{condition.name.capitalize()} in {name}, {temperature} °C, with a {chance}% chance of rain."
        ),
    )


def is_rainy(conditions: str) -> bool:
    """Whether `conditions` (a `Forecast.conditions`) call for an umbrella."""
    return any(c.rainy for c in CONDITIONS if c.name == conditions)


_FIRST_WORD = re.compile(r"^\W*(yes|no)\b")
_NUMBER = re.compile(r"[-\u2212]?\d+(?:\.\d+)?")


class WeatherVerifyRequest(BaseVerifyRequest):
    """A row's task fields: the city asked about, which question, and the right answer."""

    city: str
    question: Question
    expected_answer: str  # "yes"/"no", the temperature in °C, or the conditions' name

    @model_validator(mode="after")
    def _check_expected_answer(self) -> WeatherVerifyRequest:
        if self.question == "umbrella" and self.expected_answer not in ("yes", "no"):
            raise ValueError(f"an umbrella question's expected_answer is 'yes' or 'no', not {self.expected_answer!r}")
        if self.question == "temperature" and _NUMBER.fullmatch(self.expected_answer) is None:
            raise ValueError(f"a temperature question's expected_answer is a number, not {self.expected_answer!r}")
        return self


def final_message(body: BaseVerifyRequest) -> str:
    """The text of the episode's last assistant message ("" when it ended without one)."""
    for item in reversed(body.response.output):
        if getattr(item, "type", None) == "message" and getattr(item, "role", None) == "assistant":
            content = getattr(item, "content", None) or []
            texts = (getattr(part, "text", "") for part in content if getattr(part, "type", None) == "output_text")
            return "".join(str(text) for text in texts)
    return ""


def looked_up(body: BaseVerifyRequest, city: str) -> bool:
    """Whether the episode called `get_weather` for `city`."""
    wanted = normalize_city(city)
    for item in body.response.output:
        if getattr(item, "type", None) != "function_call" or getattr(item, "name", None) != "get_weather":
            continue
        try:
            arguments = json.loads(getattr(item, "arguments", "") or "{}")
        except json.JSONDecodeError:
            continue
        if isinstance(arguments, dict) and normalize_city(str(arguments.get("city", ""))) == wanted:
            return True
    return False


def _as_float(number: str) -> float:
    return float(number.replace("\u2212", "-"))


def answers_correctly(question: Question, expected: str, answer: str) -> bool:
    """Whether `answer` states the fact `question` asks for, as `expected` gives it."""
    text = " ".join(answer.casefold().split())
    if question == "umbrella":
        match = _FIRST_WORD.match(text)
        return match is not None and match.group(1) == expected.casefold()
    if question == "temperature":
        number = _NUMBER.search(text)
        return number is not None and _as_float(number.group()) == _as_float(expected)
    return re.search(rf"\b{re.escape(expected.casefold())}\b", text) is not None


class Weather(Environment):
    """Answer a question about one city's weather, after looking it up with `get_weather`."""

    domain = "agent"

    @tool
    async def get_weather(self, city: str) -> Forecast:
        """Get today's weather in a city: conditions, temperature in °C and chance of rain."""
        if not city.strip():
            raise ToolError('get_weather needs a city name, e.g. {"city": "Lisbon"}.')
        if len(city) > MAX_CITY_LENGTH:
            raise ToolError(f"That city name is {len(city)} characters long; send just the city's name.")
        return forecast(city)

    async def verify(self, state: None, body: WeatherVerifyRequest) -> dict[str, Any]:
        """1.0 when the episode called get_weather for the row's city and its final answer is right."""
        called = looked_up(body, body.city)
        correct = answers_correctly(body.question, body.expected_answer, final_message(body))
        return {"reward": float(called and correct), "looked_up_city": called, "answer_correct": correct}
