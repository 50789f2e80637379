"""The question makers of `generate.py`: twelve kinds, each at three difficulty tiers.

A maker takes a seeded `random.Random` and a tier (0 easy, 1 medium, 2 hard) and returns the
question, the right option's text and candidate distractors (`generate.py` drops those that
contain, or are contained in, another option's text). Every distractor is wrong by construction.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from fractions import Fraction

__all__ = ["KINDS", "Question"]

# A question: its text, the right option's text, and candidate distractors.
Question = tuple[str, str, list[str]]

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
NAMES = ("Ana", "Bruno", "Chen", "Dara", "Emeka", "Farah", "Goran", "Hiro", "Ivo", "Jun", "Kemal", "Lena")
UNITS = (  # (question unit, answer unit, factor), by tier
    (("metres", "centimetres", 100), ("hours", "minutes", 60), ("weeks", "days", 7), ("kilograms", "grams", 1000)),
    (("kilometres", "metres", 1000), ("days", "hours", 24), ("litres", "millilitres", 1000),
     ("minutes", "seconds", 60)),
    (("hours", "seconds", 3600), ("days", "minutes", 1440), ("kilometres", "centimetres", 100000),
     ("weeks", "hours", 168)),
)  # fmt: skip
ORDINALS = ("tallest", "second tallest", "third tallest", "fourth tallest", "fifth tallest")


def _numbers(values: list[int] | list[float]) -> list[str]:
    return [f"{value:g}" for value in values]


def multiplication(rng: random.Random, tier: int) -> Question:
    a, b = [(rng.randint(3, 12), rng.randint(3, 12)), (rng.randint(12, 49), rng.randint(3, 19))][min(tier, 1)]
    if tier == 2:
        a, b = rng.randint(101, 999), rng.randint(11, 99)
    product = a * b
    near = [product + a, product - a, product + b, product - b, product + 10, product - 10, (a + 1) * (b - 1)]
    near += [product + 100, product - 100, product + 1, product - 1, product + 20]
    return f"What is {a} × {b}?", str(product), [str(n) for n in near if n > 0]


def percentage(rng: random.Random, tier: int) -> Question:
    percent = rng.choice([(10, 25, 50), (5, 15, 20, 30, 40, 60, 75), (12.5, 35, 45, 62.5, 85, 87.5)][tier])
    whole = rng.randrange([20, 40, 80][tier], [201, 801, 2001][tier], 40 if tier == 2 else 20)
    part = whole * percent / 100
    near = [part + percent, part * 2, whole - part, part + 5, part - 5, whole * (percent + 10) / 100, part + 10]
    return f"What is {percent:g}% of {whole}?", f"{part:g}", _numbers([n for n in near if n > 0])


def conversion(rng: random.Random, tier: int) -> Question:
    source, target, factor = rng.choice(UNITS[tier])
    amount = rng.randint(2, 12) + rng.choice([(0,), (0, 0.5), (0.25, 0.5, 0.75)][tier])
    right = amount * factor
    wrong = [right * 10, right / 10, amount * (factor + 10), right + factor, right - factor, right * 2, right / 2]
    text = f"How many {target} are there in {amount:g} {source}?"
    return text, f"{right:g} {target}", [f"{w:g} {target}" for w in wrong if w > 0 and w != right]


def sequence(rng: random.Random, tier: int) -> Question:
    start, step = rng.randint(1, 30), rng.randint(2, 12)
    shape = rng.choice([("arithmetic",), ("arithmetic", "geometric"), ("squares", "fibonacci", "alternating")][tier])
    if shape == "arithmetic":
        terms = [start + step * i for i in range(5)]
    elif shape == "geometric":
        terms = [start * rng.choice((2, 3)) ** i for i in range(4)] if step % 2 else [start * 2**i for i in range(4)]
    elif shape == "squares":
        terms = [(start % 9 + i) ** 2 + step for i in range(5)]
    elif shape == "fibonacci":
        terms = [start, start + step]
        while len(terms) < 6:
            terms.append(terms[-1] + terms[-2])
    else:  # alternating: +step, -1, +step, -1, ...
        terms = [start]
        for i in range(5):
            terms.append(terms[-1] + (step if i % 2 == 0 else -1))
    following = _next(shape, terms, step)
    near = [following + 1, following - 1, following + step, terms[-1] + (terms[-1] - terms[-2]), following * 2]
    near += [following + 2, following - 2, following + 10]
    shown = ", ".join(str(t) for t in terms)
    return f"What number comes next in the sequence {shown}, ...?", str(following), [str(n) for n in near if n > 0]


def _next(shape: str, terms: list[int], step: int) -> int:
    if shape == "arithmetic":
        return terms[-1] + step
    if shape == "geometric":
        return terms[-1] * (terms[1] // terms[0])
    if shape == "squares":
        root = math.isqrt(terms[-1] - step)
        return (root + 1) ** 2 + step
    if shape == "fibonacci":
        return terms[-1] + terms[-2]
    return terms[-1] + (step if len(terms) % 2 == 1 else -1)


def weekday(rng: random.Random, tier: int) -> Question:
    today, days = rng.randrange(7), rng.randint(*[(1, 6), (8, 60), (61, 400)][tier])
    if tier == 2 and rng.random() < 0.5:
        right = WEEKDAYS[(today - days) % 7]
        text = f"If today is {WEEKDAYS[today]}, what day of the week was it {days} days ago?"
    else:
        right = WEEKDAYS[(today + days) % 7]
        text = f"If today is {WEEKDAYS[today]}, what day of the week will it be in {days} days?"
    return text, right, [d for d in WEEKDAYS if d != right]


def ordering(rng: random.Random, tier: int) -> Question:
    people = rng.sample(NAMES, 4 + tier)  # tallest first; the distractors are the others named
    facts = [f"{people[i]} is taller than {people[i + 1]}" for i in range(len(people) - 1)]
    rng.shuffle(facts)
    rank = rng.randrange(len(people)) if tier == 2 else rng.choice((0, len(people) - 1))
    asked = "shortest" if rank == len(people) - 1 else ORDINALS[rank]
    others = [person for person in people if person != people[rank]]
    return f"{'; '.join(facts)}. Who is the {asked}?", people[rank], others


def shown(minutes: int) -> str:
    """A time of day, `minutes` after midnight (any whole number of days aside), as HH:MM."""
    return f"{minutes % 1440 // 60:02d}:{minutes % 60:02d}"


def clock(rng: random.Random, tier: int) -> Question:
    start = rng.randrange(0, 24 * 60, [60, 15, 5][tier])
    hours, minutes = rng.randint(1, [5, 9, 30][tier]), [0, rng.randrange(5, 60, 5), rng.randrange(1, 60)][tier]
    before = tier == 2 and rng.random() < 0.5
    delta = (hours * 60 + minutes) * (-1 if before else 1)
    word = "before" if before else "after"
    text = f"What time is it {hours} h {minutes} min {word} {shown(start)} (24-hour clock)?"
    near = [start + delta + 60, start + delta - 60, start - delta, start + delta + 30, start + delta + 10]
    near += [start + delta - 10, start + delta + 120]
    return text, shown(start + delta), [shown(t) for t in near]


def mean(rng: random.Random, tier: int) -> Question:
    count = [3, 5, 6][tier]
    low, high = [(1, 20), (10, 99), (-50, 150)][tier]
    values = [rng.randint(low, high) for _ in range(count - 1)]
    average = rng.randint(max(low, min(values)), min(high, max(values)))
    values.append(average * count - sum(values))
    shown = ", ".join(str(v) for v in values)
    near = [average + 1, average - 1, average + 2, average - 2, sum(values) // (count - 1), average + 5, average * 2]
    return f"What is the mean of {shown}?", str(average), [str(n) for n in near if n != average]


def _is_prime(number: int) -> bool:
    return number > 1 and all(number % d for d in range(2, math.isqrt(number) + 1))


def prime(rng: random.Random, tier: int) -> Question:
    low, high = [(10, 60), (60, 200), (200, 1000)][tier]
    right = rng.choice([n for n in range(low, high) if _is_prime(n)])
    # Hard distractors have no factor 2, 3 or 5: they take real checking.
    composites = [n for n in range(low, high) if not _is_prime(n) and (tier < 2 or math.gcd(n, 30) == 1)]
    return "Which of these numbers is prime?", str(right), [str(n) for n in rng.sample(composites, 12)]


def divisors(rng: random.Random, tier: int) -> Question:
    base = rng.randint(*[(2, 9), (4, 15), (12, 40)][tier])
    a, b = base * rng.randint(2, 9), base * rng.randint(2, 9)
    while a == b or math.gcd(a, b) != base:
        a, b = base * rng.randint(2, 12), base * rng.randint(2, 12)
    if tier == 1:
        lcm = a * b // base
        near = [a * b, lcm * 2, lcm // 2, lcm + base, lcm - base, base, lcm + a]
        return f"What is the least common multiple of {a} and {b}?", str(lcm), [str(n) for n in near if n != lcm]
    near = [base * 2, base // 2, base + 1, base - 1, min(a, b) - base, base * 3, base + 2]
    return f"What is the greatest common divisor of {a} and {b}?", str(base), [str(n) for n in near if n > 0]


def remainder(rng: random.Random, tier: int) -> Question:
    divisor = rng.randint(*[(5, 9), (6, 19), (7, 97)][tier])
    number = rng.randint(*[(20, 99), (100, 999), (10_000, 999_999)][tier])
    right = number % divisor
    near = [(right + k) % divisor for k in range(1, divisor)] + [right + divisor, number // divisor]
    text = f"What is the remainder when {number} is divided by {divisor}?"
    return text, str(right), [str(n) for n in near if n != right]


def fractions(rng: random.Random, tier: int) -> Question:
    top = [9, 12, 30][tier]
    chosen: set[Fraction] = set()
    shown: dict[Fraction, str] = {}
    while len(chosen) < 9:
        denominator = rng.randint(2, top)
        value = Fraction(rng.randint(1, denominator - 1), denominator)
        text = f"{value.numerator}/{value.denominator}"
        if value not in chosen and all(text not in s and s not in text for s in shown.values()):
            chosen.add(value)
            shown[value] = text
    ordered = sorted(chosen, reverse=True)
    # Hard rows keep close values only: the largest must be found, not seen.
    pool = ordered[:5] if tier == 2 else ordered
    smallest = rng.random() < 0.5 and tier > 0
    right = min(pool) if smallest else max(pool)
    others = [shown[value] for value in pool if value != right]
    return f"Which fraction is the {'smallest' if smallest else 'largest'}?", shown[right], others


KINDS: dict[str, Callable[[random.Random, int], Question]] = {
    "multiplication": multiplication,
    "percentage": percentage,
    "unit conversion": conversion,
    "sequence": sequence,
    "weekday": weekday,
    "ordering": ordering,
    "clock": clock,
    "mean": mean,
    "prime": prime,
    "divisors": divisors,
    "remainder": remainder,
    "fractions": fractions,
}
