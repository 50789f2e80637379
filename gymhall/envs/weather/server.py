"""The tutorial environment: one tool, `get_weather(city)`, and a question about one city's weather.

The weather is made up but stable: it is derived from a SHA-256 of the normalised city name, so
the same city has the same weather in every process, on every machine, every day. A row asks
about one city (should I take an umbrella, what is the temperature, what are the conditions, is
it above a temperature) or two (is the first warmer, will either need an umbrella); the reward is
1.0 when the episode looked every city up with `get_weather` and the final answer states the
right fact and nothing that contradicts it (see `answers_correctly`).
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

__all__ = [
    "CONDITIONS",
    "TWO_CITY_QUESTIONS",
    "VERDICT_QUESTIONS",
    "Forecast",
    "Weather",
    "WeatherVerifyRequest",
    "answers_correctly",
    "forecast",
    "normalize_city",
    "stated_conditions",
    "stated_temperatures",
    "stated_verdicts",
]

Question = Literal["umbrella", "temperature", "conditions", "above", "warmer", "umbrella_either"]
#: The questions answered Yes or No (the others: a temperature, a condition).
VERDICT_QUESTIONS = frozenset({"umbrella", "above", "warmer", "umbrella_either"})
#: The questions about two cities (`city` and `other_city`), both to be looked up.
TWO_CITY_QUESTIONS = frozenset({"warmer", "umbrella_either"})

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


_NUMBER = re.compile(r"[-\u2212]?\d+(?:\.\d+)?")

# How people write each condition: the name, its adjective, hyphenated or plural forms. No phrase
# of one condition is a phrase of another once "partly/partially/mostly cloudy" is read first.
_PHRASES: dict[str, tuple[str, ...]] = {
    "clear skies": ("clear skies", "clear sky", "clear", "sunny", "cloudless"),
    "partly cloudy": ("partly cloudy", "partially cloudy", "partly sunny", "some clouds"),
    "overcast": ("overcast", "cloudy", "mostly cloudy", "grey skies", "gray skies"),
    "fog": ("fog", "foggy", "fogs"),
    # Not the noun "wind": "clear skies, a light wind" says nothing against clear skies.
    "windy": ("windy", "breezy", "gusty", "gales?"),
    "drizzle": ("drizzle", "drizzly", "drizzling"),
    "rain": ("rain", "rainy", "raining", "rains", "rainfall", "showers", "downpours?"),
    "thunderstorm": ("thunderstorms?", "thundery", "thunder", "storms?", "stormy", "lightning"),
}
# What a condition may come with without contradicting it: a thunderstorm brings rain and wind.
_COMPANIONS = {"thunderstorm": {"rain", "windy"}}


def _alternatives(phrases: tuple[str, ...]) -> str:
    """One regex for `phrases`, longest first, a space matching any run of spaces or hyphens."""
    spaced = (phrase.replace(" ", r"[\s-]+") for phrase in sorted(phrases, key=len, reverse=True))
    return "|".join(spaced)


_CONDITION_PHRASE = re.compile(
    "|".join(rf"(?P<c{index}>\b(?:{_alternatives(phrases)})\b)" for index, phrases in enumerate(_PHRASES.values()))
)
# "a 10% chance of rain", "rain: 10%" name a probability, not today's conditions.
_CHANCE = re.compile(
    r"\b(?:chances?|probability|risk|likelihood|odds)\s+(?:of\s+)?(?:\w+\s+)?\w+|\d+\s*%\s*(?:chance\s+of\s+)?\w*"
)
# A negation reaches the phrase it precedes within its clause: "not clear skies", "no rain today".
_NEGATION = re.compile(
    r"\b(?:not|no|never|without|isn't|aren't|wasn't|won't|nor|neither|instead\s+of|rather\s+than|free\s+of)\b(?:[^.;:!?,\n]*)$"
)
_CELSIUS = re.compile(r"([-\u2212]?\d+(?:\.\d+)?)\s*(?:°\s*c\b|°|º\s*c?\b|degrees?(?:\s+celsius|\s+c\b)?|celsius|c\b)")
_FAHRENHEIT = re.compile(r"([-\u2212]?\d+(?:\.\d+)?)\s*(?:°\s*f|º\s*f|degrees?\s+f(?:ahrenheit)?|fahrenheit|f)\b")
_VERDICT_CHAIN = re.compile(r"^\W*(yes|no)\b((?:\W*(?:or|and|nor|/)?\W*(?:yes|no)\b)*)")
# A sentence that is a verdict ("No.", "No, ...") but not one that opens with the word ("No need ...").
_SENTENCE_VERDICT = re.compile(r"(?:^|[.!?\n])\W*(yes|no)\b(?=\s*(?:[.,!:;\u2013\u2014-]|$))", re.MULTILINE)


class WeatherVerifyRequest(BaseVerifyRequest):
    """A row's task fields: the city asked about, which question, and the right answer."""

    city: str
    question: Question
    expected_answer: str  # "yes"/"no", the temperature in °C, or the conditions' name
    other_city: str | None = None  # the second city of a two-city question ("warmer", "umbrella_either")
    threshold: int | None = None  # the °C an "above" question asks about

    @model_validator(mode="after")
    def _check_expected_answer(self) -> WeatherVerifyRequest:
        if self.question in VERDICT_QUESTIONS and self.expected_answer not in ("yes", "no"):
            raise ValueError(
                f"a {self.question} question's expected_answer is 'yes' or 'no', not {self.expected_answer!r}"
            )
        if self.question in TWO_CITY_QUESTIONS and not (self.other_city or "").strip():
            raise ValueError(f"a {self.question} question needs other_city, the second city to look up")
        if self.question == "above" and self.threshold is None:
            raise ValueError("an above question needs threshold, the °C it asks about")
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


def _negated(text: str, start: int) -> bool:
    """Whether a negation governs the phrase at `start` of `text` ("not", "no", "isn't" earlier in its clause)."""
    return _NEGATION.search(text, max(0, start - 40), start) is not None


def stated_conditions(answer: str) -> set[str]:
    """The conditions `answer` says hold (by name or a common form), leaving out negated ones and rain chances."""
    text = _CHANCE.sub(" ", " ".join(answer.casefold().split()))
    stated = set()
    names = list(_PHRASES)
    for match in _CONDITION_PHRASE.finditer(text):
        if not _negated(text, match.start()):
            stated.add(names[int(str(match.lastgroup)[1:])])
    return stated


def stated_temperatures(answer: str) -> set[float]:
    """The temperatures in °C `answer` states, negated ones left out: numbers marked °C (or degrees), else
    any bare number (percentages and Fahrenheit figures aside)."""
    text = " ".join(answer.casefold().split())
    marked = [match for match in _CELSIUS.finditer(text) if not _FAHRENHEIT.match(text, match.start())]
    if not marked:
        fahrenheit = {match.start() for match in _FAHRENHEIT.finditer(text)}
        marked = [
            match for match in re.finditer(rf"({_NUMBER.pattern})(?!\s*%|\d)", text) if match.start() not in fahrenheit
        ]
    return {_as_float(match.group(1)) for match in marked if not _negated(text, match.start())}


def stated_verdicts(answer: str) -> set[str]:
    """The yes/no verdicts `answer` gives: its opening chain ("Yes", "Yes or no") and any sentence opening with one."""
    text = " ".join(answer.casefold().split()) if "\n" not in answer else answer.casefold()
    opening = _VERDICT_CHAIN.match(text)
    if opening is None:
        return set()
    found = {opening.group(1), *re.findall(r"yes|no", opening.group(2))}
    return found | set(_SENTENCE_VERDICT.findall(text))


def answers_correctly(question: Question, expected: str, answer: str) -> bool:
    """Whether `answer` states the fact `question` asks for, as `expected` gives it, and nothing that contradicts it."""
    if question in VERDICT_QUESTIONS:
        return stated_verdicts(answer) == {expected.casefold()}
    if question == "temperature":
        return stated_temperatures(answer) == {_as_float(expected)}
    stated = stated_conditions(answer)
    return expected in stated and not stated - {expected} - _COMPANIONS.get(expected, set())


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
        """1.0 when the episode called get_weather for the row's city (cities) and its final answer is right."""
        called = all(looked_up(body, city) for city in (body.city, body.other_city) if city is not None)
        correct = answers_correctly(body.question, body.expected_answer, final_message(body))
        return {"reward": float(called and correct), "looked_up_city": called, "answer_correct": correct}
