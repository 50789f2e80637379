r"""Problem makers for `generate.py`, part two: number theory, counting, probability, series, word problems.

Like `algebra.py`, each maker takes a seeded `random.Random` and a tier and returns
`(question, answer in LaTeX, answer form)`. Only the standard library.
"""

from __future__ import annotations

import math
import random
from fractions import Fraction

__all__ = ["combinatorics", "divisors", "gcd_lcm", "modular", "probability", "series", "word_problem"]

Made = tuple[str, str, str]


def _fraction(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    sign = "-" if value < 0 else ""
    return f"{sign}\\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"


def _number(value: Fraction) -> str:
    """An exact decimal when `value` has one of at most two places, else a fraction."""
    if (value * 100).denominator == 1 and value.denominator != 1:
        return f"{float(value):.2f}".rstrip("0")
    return _fraction(value)


def word_problem(rng: random.Random, tier: str) -> Made:
    if tier == "easy":
        price, percent = rng.choice([20, 40, 60, 80, 120, 250, 300, 360]), rng.choice([5, 10, 15, 20, 25, 30])
        sale = Fraction(price * (100 - percent), 100)
        question = f"A jacket costs {price} dollars and is discounted by {percent}%. What is the sale price in dollars?"
        return question, _number(sale), "number"
    if tier == "medium":
        speed, hours, minutes = rng.randint(35, 90), rng.choice([2, 3, 4, 5]), rng.choice([15, 20, 30, 40, 45])
        distance = Fraction(speed) * (hours + Fraction(minutes, 60))
        question = (
            f"A train travels at a constant {speed} km per hour for {hours} hours and {minutes} minutes. "
            "How many kilometres does it cover?"
        )
        return question, _number(distance), "number"
    # Two pipes: one fills a tank in a hours, the other in b; together?
    a, b = rng.sample(range(2, 13), 2)
    together = Fraction(a * b, a + b)
    question = (
        f"One pipe fills a tank in {a} hours and another fills it in {b} hours. "
        "Working together, how many hours do they take to fill the tank?"
    )
    return question, _fraction(together), "fraction"


def gcd_lcm(rng: random.Random, tier: str) -> Made:
    if tier == "easy":
        a, b = rng.sample(range(6, 40), 2)
        if a % b == 0 or b % a == 0:  # the answer would be one of the numbers asked about
            return gcd_lcm(rng, tier)
        return f"What is the least common multiple of {a} and {b}?", str(a * b // math.gcd(a, b)), "integer"
    if tier == "medium":
        g = rng.randint(6, 60)
        a, b = (g * k for k in rng.sample(range(7, 60), 2))
        return f"What is the greatest common divisor of {a} and {b}?", str(math.gcd(a, b)), "integer"
    a, b, c = rng.sample(range(12, 90), 3)
    return f"What is the least common multiple of {a}, {b} and {c}?", str(math.lcm(a, b, c)), "integer"


def modular(rng: random.Random, tier: str) -> Made:
    if tier == "easy":
        n, m = rng.randint(100, 9999), rng.randint(3, 19)
        return f"What is the remainder when {n} is divided by {m}?", str(n % m), "integer"
    if tier == "medium":
        a, k, m = rng.randint(2, 12), rng.randint(5, 12), rng.randint(5, 23)
        return f"What is the remainder when ${a}^{{{k}}}$ is divided by {m}?", str(pow(a, k, m)), "integer"
    a, k, m = rng.randint(2, 19), rng.randint(100, 3000), rng.choice([7, 11, 13, 17, 19, 23, 29, 31, 37, 41])
    return f"What is the remainder when ${a}^{{{k}}}$ is divided by {m}?", str(pow(a, k, m)), "integer"


def combinatorics(rng: random.Random, tier: str) -> Made:
    if tier == "easy":
        n = rng.randint(5, 12)
        k = rng.randint(2, min(4, n - 2))  # C(n, 1) = C(n, n - 1) = n would be in the question
        question = f"In how many ways can a committee of {k} people be chosen from {n} people?"
        return question, str(math.comb(n, k)), "integer"
    if tier == "medium":
        word = rng.choice(
            [
                "BANANA",
                "LETTER",
                "COFFEE",
                "PEPPER",
                "BALLOON",
                "SUCCESS",
                "ADDRESS",
                "COMMITTEE",
                "MISSISSIPPI",
                "TENNESSEE",
                "BOOKKEEPER",
                "ASSESS",
                "CANNON",
                "GOOGOL",
                "PAPAYA",
            ]
        )
        count = math.factorial(len(word))
        for letter in set(word):
            count //= math.factorial(word.count(letter))
        return f"How many distinct arrangements of the letters of the word {word} are there?", str(count), "integer"
    n = rng.randint(200, 2000)
    a, b = rng.sample([3, 4, 5, 6, 7, 9, 11, 13], 2)
    both = math.lcm(a, b)
    count = n // a + n // b - n // both
    question = f"How many integers from 1 to {n} inclusive are divisible by {a} or by {b} (or both)?"
    return question, str(count), "integer"


def probability(rng: random.Random, tier: str) -> Made:
    if tier == "easy":
        sides = rng.choice([6, 8, 10, 12, 20])
        k = rng.randint(2, sides - 1)
        question = (
            f"A fair {sides}-sided die numbered 1 to {sides} is rolled. "
            f"What is the probability of a number greater than {k}?"
        )
        return question, _fraction(Fraction(sides - k, sides)), "fraction"
    if tier == "medium":
        total, kind = rng.randint(3, 11), rng.choice(["exactly", "at least", "at most"])
        hits = {"exactly": total.__eq__, "at least": total.__le__, "at most": total.__ge__}[kind]
        ways = sum(1 for a in range(1, 7) for b in range(1, 7) if hits(a + b))
        question = f"Two fair six-sided dice are rolled. What is the probability that the sum is {kind} {total}?"
        return question, _fraction(Fraction(ways, 36)), "fraction"
    red, blue = rng.randint(2, 9), rng.randint(2, 9)
    n = red + blue
    same = Fraction(red * (red - 1) + blue * (blue - 1), n * (n - 1))
    question = (
        f"A bag holds {red} red and {blue} blue marbles. Two are drawn at random without replacement. "
        "What is the probability that they are the same colour?"
    )
    return question, _fraction(same), "fraction"


def series(rng: random.Random, tier: str) -> Made:
    if tier == "easy":
        n = rng.randint(10, 200)
        return f"What is $1 + 2 + 3 + \\dots + {n}$?", str(n * (n + 1) // 2), "integer"
    if tier == "medium":
        first, step, count = rng.randint(-20, 30), rng.randint(2, 9), rng.randint(12, 60)
        last = first + step * (count - 1)
        shown = f"{first} + {first + step} + {first + 2 * step} + \\dots + {last}"
        return f"Compute ${shown}$.", str(count * (first + last) // 2), "integer"
    low, high = rng.randint(2, 20), rng.randint(25, 60)
    total = sum(k * k for k in range(low, high + 1))
    return f"Compute $\\sum_{{k={low}}}^{{{high}}} k^2$.", str(total), "integer"


def _divisor_count(n: int) -> int:
    return sum(1 for d in range(1, n + 1) if n % d == 0)


def divisors(rng: random.Random, tier: str) -> Made:
    if tier == "easy":
        n = rng.randint(12, 100)
        return f"How many positive divisors does {n} have?", str(_divisor_count(n)), "integer"
    if tier == "medium":
        n = (
            rng.choice([2, 3, 5]) ** rng.randint(1, 4)
            * rng.choice([7, 11, 13]) ** rng.randint(1, 2)
            * rng.randint(1, 6)
        )
        return f"How many positive divisors does {n} have?", str(_divisor_count(n)), "integer"
    n = rng.randint(200, 3000)
    return (
        f"What is the sum of all positive divisors of {n}?",
        str(sum(d for d in range(1, n + 1) if n % d == 0)),
        "integer",
    )
