r"""Generate `math.jsonl`: 64 seeded problems in eight families, each with a `\boxed{}` reference answer.

    python gymhall/envs/math/data/generate.py    # rewrites math.jsonl next to this file

The output depends only on SEED: running this again reproduces the committed file byte for byte
(the test suite checks it). Families: integer arithmetic, fraction sums, linear equations,
quadratic roots, radicals, inequalities (interval answers), polynomial expansion, and word problems.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

SEED = 20240918
PER_FAMILY = 8
OUTPUT = Path(__file__).resolve().parent / "math.jsonl"
INSTRUCTION = (
    "Solve the problem below. Put your final answer, and nothing else, inside \\boxed{} "
    "(for example \\boxed{\\frac{2}{3}}).\n\n"
)

Problem = tuple[str, str]  # (question, expected answer in LaTeX)


def latex_fraction(value: Fraction) -> str:
    """`value` as LaTeX: an integer, or a signed `\\frac{p}{q}` in lowest terms."""
    if value.denominator == 1:
        return str(value.numerator)
    sign = "-" if value < 0 else ""
    return f"{sign}\\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"


def signed(coefficient: int, term: str = "") -> str:
    """` + 3x` / ` - 3x` for a term after the first (coefficient 1 written without the 1)."""
    magnitude = abs(coefficient)
    shown = term if magnitude == 1 and term else f"{magnitude}{term}"
    return f" {'-' if coefficient < 0 else '+'} {shown}"


def arithmetic(rng: random.Random) -> Problem:
    a, b, c = rng.randint(12, 99), rng.randint(11, 49), rng.randint(100, 999)
    return f"Compute ${a} \\times {b} - {c}$.", str(a * b - c)


def fraction_sum(rng: random.Random) -> Problem:
    while True:
        a, b = rng.randint(1, 9), rng.randint(2, 12)
        c, d = rng.randint(1, 9), rng.randint(2, 12)
        total = Fraction(a, b) + Fraction(c, d)
        if total.denominator > 1 and math.gcd(a, b) == 1 and math.gcd(c, d) == 1 and b != d:
            break
    question = f"Compute $\\frac{{{a}}}{{{b}}} + \\frac{{{c}}}{{{d}}}$. Give the answer as a fraction in lowest terms."
    return question, latex_fraction(total)


def linear_equation(rng: random.Random) -> Problem:
    while True:
        a, c = rng.randint(2, 9), rng.randint(1, 9)
        b, d = rng.randint(-20, 20), rng.randint(-20, 20)
        if a != c and b != d and b and d:
            break
    x = Fraction(d - b, a - c)
    question = f"Solve for $x$: ${a}x{signed(b)} = {c if c != 1 else ''}x{signed(d)}$."
    return question, latex_fraction(x)


def quadratic(rng: random.Random) -> Problem:
    r, s = 0, 0
    while r + s == 0:  # a missing x term would read oddly
        r, s = rng.sample([n for n in range(-9, 10) if n != 0], 2)
    low, high = sorted((r, s))
    question = (
        f"Find all real solutions of $x^2{signed(-(r + s), 'x')}{signed(r * s)} = 0$. "
        "List them separated by a comma, smallest first."
    )
    return question, f"{low}, {high}"


def radical(rng: random.Random) -> Problem:
    outer = rng.randint(2, 9)
    inner = rng.choice([2, 3, 5, 6, 7, 10, 11])
    return f"Simplify $\\sqrt{{{outer * outer * inner}}}$.", f"{outer}\\sqrt{{{inner}}}"


def inequality(rng: random.Random) -> Problem:
    a, b = rng.randint(2, 9), rng.randint(-15, 15)
    bound = Fraction(rng.randint(-20, 20) - b, a) if rng.random() < 0.5 else Fraction(rng.randint(-5, 5))
    c = a * bound + b  # a*x + b <op> c  <=>  x <op> bound
    op = rng.choice(["<", "\\le", ">", "\\ge"])
    edge = latex_fraction(bound)
    answer = {
        "<": f"(-\\infty, {edge})",
        "\\le": f"(-\\infty, {edge}]",
        ">": f"({edge}, \\infty)",
        "\\ge": f"[{edge}, \\infty)",
    }[op]
    question = f"Solve ${a}x{signed(b)} {op} {latex_fraction(c)}$. Write the solution set in interval notation."
    return question, answer


def expansion(rng: random.Random) -> Problem:
    p, q = rng.randint(1, 7), rng.choice([n for n in range(-9, 10) if n != 0])
    # (p x + q)^2 = p^2 x^2 + 2pq x + q^2
    lead = "" if p == 1 else str(p)
    question = f"Expand $({lead}x{signed(q)})^2$."
    first = "" if p == 1 else str(p * p)
    return question, f"{first}x^2{signed(2 * p * q, 'x')}{signed(q * q)}"


def word_problem(rng: random.Random) -> Problem:
    kind = rng.randrange(3)
    if kind == 0:
        price, percent = rng.choice([20, 40, 60, 80, 120, 250]), rng.choice([5, 10, 15, 20, 25, 30])
        sale = Fraction(price * (100 - percent), 100)
        question = f"A jacket costs {price} dollars and is discounted by {percent}%. What is the sale price in dollars?"
        return question, latex_fraction(sale) if sale.denominator == 1 else str(float(sale))
    if kind == 1:
        speed, hours = rng.randint(35, 90), rng.choice([2, 3, 4, 5])
        minutes = rng.choice([15, 30, 45])
        distance = Fraction(speed) * (hours + Fraction(minutes, 60))
        question = (
            f"A train travels at a constant {speed} km per hour for {hours} hours and {minutes} minutes. "
            "How many kilometres does it cover? Give an exact answer."
        )
        return question, latex_fraction(distance)
    a, b = rng.sample(range(6, 40), 2)
    question = f"What is the least common multiple of {a} and {b}?"
    return question, str(a * b // math.gcd(a, b))


FAMILIES: list[Callable[[random.Random], Problem]] = [
    arithmetic,
    fraction_sum,
    linear_equation,
    quadratic,
    radical,
    inequality,
    expansion,
    word_problem,
]


def problems(seed: int = SEED) -> Iterator[tuple[str, Problem]]:
    """(family name, problem) pairs: PER_FAMILY distinct problems of each family, in a fixed order."""
    rng = random.Random(seed)
    for family in FAMILIES:
        seen: set[str] = set()
        while len(seen) < PER_FAMILY:
            question, answer = family(rng)
            if question not in seen:
                seen.add(question)
                yield family.__name__, (question, answer)


def rows(seed: int = SEED) -> list[dict[str, object]]:
    """The dataset rows, in NeMo Gym's math_with_judge shape plus a reference solution."""
    result: list[dict[str, object]] = []
    for index, (family, (question, answer)) in enumerate(problems(seed)):
        # A few expected answers keep math delimiters, as rows from other datasets often do.
        expected = f"\\({answer}\\)" if family == "fraction_sum" and index % 4 == 0 else answer
        result.append(
            {
                "responses_create_params": {"input": [{"role": "user", "content": INSTRUCTION + question}]},
                "question": question,
                "expected_answer": expected,
                "family": family,
                "reference_solution": {"tool_calls": [], "answer": f"The final answer is $\\boxed{{{answer}}}$."},
            }
        )
    return result


def render(seed: int = SEED) -> str:
    """The JSONL text of the dataset."""
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows(seed))


if __name__ == "__main__":
    OUTPUT.write_text(render(), encoding="utf-8")
    print(f"wrote {len(rows())} rows to {OUTPUT}")
