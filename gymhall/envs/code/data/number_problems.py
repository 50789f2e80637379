"""Parametrised number problems for `generate.py`: each template in tiers and several constants.

The tiers differ in the bound on n, and so in the method that fits the time limit: `easy` bounds
allow a direct loop, `medium` ones a linear loop or a sieve, and `hard` ones (up to 10^18) need a
formula, fast exponentiation or a digit DP. The reference solution is the fast one in every tier.
Each problem is a dict of `generate.Program`'s fields; each test is one line holding n.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

__all__ = ["PROGRAMS"]

_BOUNDS = {"easy": 1000, "medium": 10**6, "hard": 10**18}
_RECURRENCES = [(1, 1, 10**9 + 7), (2, 3, 998244353), (1, 2, 10**9 + 9), (3, 1, 1000003), (5, 7, 10007), (4, 4, 65536)]
Text = str | Callable[[Any], str]


def _tests(bound: int) -> Callable[[random.Random], list[str]]:
    def make(rng: random.Random) -> list[str]:
        picks = [1, 2, rng.randint(3, min(bound, 30)), rng.randint(min(bound, 31), min(bound, 1000)), bound]
        if bound > 1000:
            picks += [rng.randint(bound // 100, bound - 1)]
        return [f"{n}\n" for n in picks]

    return make


def _fill(text: Text, value: Any) -> str:
    return text(value) if callable(text) else text.replace("@P@", str(value))


def _family(
    name: str, statement: Text, output: str, solution: Text, params: list[tuple[str, Any]], tiers: dict[str, int]
) -> list[dict[str, Any]]:
    """Rows of one template: each (label, constant) in each tier; `@P@` in a text stands for the constant,
    or the text is a function of it."""
    return [
        {
            "name": f"{name}_{label}_{tier}",
            "statement": _fill(statement, value),
            "input_format": f"One integer n (1 <= n <= {bound:_}).".replace("_", ","),
            "output_format": output,
            "solution": _fill(solution, value),
            "tests": _tests(bound),
            "difficulty": tier,
        }
        for label, value in params
        for tier, bound in tiers.items()
    ]


PROGRAMS: list[dict[str, Any]] = [
    *_family(
        "divisible_by_any",
        "Count the integers in 1 .. n divisible by at least one of the numbers @P@.",
        "One integer.",
        "from itertools import combinations\nfrom math import lcm\n\nS = @P@\nn = int(input())\ntotal = 0\n"
        "for r in range(1, len(S) + 1):\n    for combo in combinations(S, r):\n"
        "        total += (-1) ** (r + 1) * (n // lcm(*combo))\nprint(total)\n",
        [(f"set{i}", s) for i, s in enumerate([[2, 3], [3, 5, 7], [4, 6, 9], [2, 5, 11, 13], [6, 10, 15], [7, 8]])],
        _BOUNDS,
    ),
    *_family(
        "recurrence",
        lambda c: (
            f"A sequence has f(0) = 0, f(1) = 1 and f(k) = {c[0]}*f(k-1) + {c[1]}*f(k-2) for k >= 2. "
            f"Print f(n) modulo {c[2]}."
        ),
        "One integer.",
        lambda c: (
            f"A, B, M = {c[0]}, {c[1]}, {c[2]}\n\n\ndef mul(x, y):\n"
            "    return [[(x[i][0] * y[0][j] + x[i][1] * y[1][j]) % M for j in range(2)] for i in range(2)]\n\n\n"
            "n = int(input())\nresult, base = [[1, 0], [0, 1]], [[A, B], [1, 0]]\nwhile n:\n    if n & 1:\n"
            "        result = mul(result, base)\n    base = mul(base, base)\n    n >>= 1\nprint(result[1][0] % M)\n"
        ),
        [(f"a{a}b{b}m{m}", (a, b, m)) for a, b, m in _RECURRENCES],
        _BOUNDS,
    ),
    *_family(
        "digit_sum_total",
        "Print the sum of the digits of every integer from 1 to n, each written in base @P@.",
        "One integer.",
        "b = @P@\nn = int(input())\ntotal, p = 0, 1\nwhile p <= n:\n"
        "    high, digit, low = n // (p * b), (n // p) % b, n % p\n"
        "    total += high * (b * (b - 1) // 2) * p + (digit * (digit - 1) // 2) * p + digit * (low + 1)\n"
        "    p *= b\nprint(total)\n",
        [(f"base{b}", b) for b in (10, 2, 3, 7, 8, 16)],
        {"easy": 1000, "medium": 10**6, "hard": 10**15},
    ),
    *_family(
        "digit_sum_multiple",
        "Count the integers in 1 .. n (written in decimal) whose digit sum is divisible by @P@.",
        "One integer.",
        "K = @P@\nn = int(input())\ndigits = list(map(int, str(n)))\n"
        "ways = [0] * K  # numbers below the prefix so far, by digit sum mod K (leading zeros allowed)\n"
        "prefix = 0\nfor d in digits:\n    grown = [0] * K\n    for r in range(K):\n        if ways[r]:\n"
        "            for x in range(10):\n                grown[(r + x) % K] += ways[r]\n"
        "    for x in range(d):\n        grown[(prefix + x) % K] += 1\n    ways, prefix = grown, (prefix + d) % K\n"
        "print(ways[0] + (prefix == 0) - 1)  # n itself counted, 0 not\n",
        [(f"k{k}", k) for k in (3, 5, 7, 10, 13, 23)],
        _BOUNDS,
    ),
    *_family(
        "floor_sums",
        "Print the sum, for i = 1 .. n, of @P@, modulo 1000000007.",
        "One integer.",
        "n = int(input())\nkind = '@P@'\nM = 1_000_000_007\ntotal, i = 0, 1\nwhile i <= n:\n"
        "    q = n // i\n    j = n // q\n    count = j - i + 1\n    ids = (i + j) * count // 2\n"
        "    if kind.startswith('floor(n / i) *'):\n        total += q * ids\n"
        "    elif kind.startswith('n mod i'):\n        total += n * count - q * ids\n"
        "    else:\n        total += q * count\n    i = j + 1\nprint(total % M)\n",
        [("floor", "floor(n / i)"), ("weighted", "floor(n / i) * i"), ("remainders", "n mod i")],
        {"easy": 1000, "medium": 10**6, "hard": 10**10},
    ),
    *_family(
        "trailing_zeros",
        "Print the number of trailing zeros of n! (n factorial) written in base @P@.",
        "One integer.",
        "b = @P@\nn = int(input())\nfactors, p, rest = {}, 2, b\nwhile p * p <= rest:\n    while rest % p == 0:\n"
        "        factors[p] = factors.get(p, 0) + 1\n        rest //= p\n    p += 1\nif rest > 1:\n"
        "    factors[rest] = factors.get(rest, 0) + 1\nbest = None\nfor p, e in factors.items():\n"
        "    count, q = 0, p\n    while q <= n:\n        count += n // q\n        q *= p\n"
        "    best = count // e if best is None else min(best, count // e)\nprint(best)\n",
        [(f"base{b}", b) for b in (10, 2, 12, 16, 30, 49)],
        {"easy": 20, "medium": 10**4, "hard": 10**18},
    ),
    *_family(
        "nth_with_digits",
        "Consider the positive integers whose decimal digits are all among @P@, in increasing order. Print the n-th.",
        "One integer.",
        "D = sorted(int(c) for c in '@P@' if c.isdigit())\nn = int(input())\nout = []\nwhile n > 0:\n"
        "    n -= 1\n    out.append(str(D[n % len(D)]))\n    n //= len(D)\nprint(''.join(reversed(out)))\n",
        [(f"set{i}", s) for i, s in enumerate(["1, 2", "3, 5, 7", "2, 4, 6, 8", "1, 9", "4, 7", "1, 2, 3"])],
        _BOUNDS,
    ),
    *_family(
        "josephus",
        "n people stand in a circle, numbered 1 .. n. Counting from person 1, every @P@-th person still in the "
        "circle leaves it, and counting goes on from the next one. Print the number of the last one left.",
        "One integer.",
        "k = @P@\nn = int(input())\nlast = 0\nfor size in range(2, n + 1):\n"
        "    last = (last + k) % size\nprint(last + 1)\n",
        [(f"k{k}", k) for k in (2, 3, 5, 7)],
        {"easy": 100, "medium": 200_000},
    ),
]
