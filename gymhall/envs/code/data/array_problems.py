"""Parametrised array problems for `generate.py`: each template in three tiers and several constants.

Tiers differ in what an accepted solution must do, not only in size: `easy` gives a short array,
`medium` one of up to 2,000 numbers (quadratic work still fits the time limit), `hard` one of up to
30,000 numbers generated from a seed (quadratic work does not fit; it needs n log n or linear).
Each problem is a dict of `generate.Program`'s fields.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

__all__ = ["PROGRAMS"]

_EXPLICIT_INPUT = "The first line holds n (1 <= n <= {limit}); the second the n integers a_1 .. a_n (0 <= a_i < 1000)."
_SEEDED_INPUT = (
    "One line `n R seed` (1 <= n <= 30000, 1 <= R <= 100000, 0 <= seed < 2^31). The array is generated: "
    "x = seed, then for i = 1 .. n, x = (x * 1103515245 + 12345) mod 2^31 and a_i = x mod R."
)
_EXPLICIT_READER = "n = int(input())\na = list(map(int, input().split()))\n"
_SEEDED_READER = (
    "n, R, x = map(int, input().split())\na = []\nfor _ in range(n):\n"
    "    x = (x * 1103515245 + 12345) % 2147483648\n    a.append(x % R)\n"
)
_LIMITS = {"easy": 12, "medium": 2000}


def _explicit(rng: random.Random, n: int, high: int) -> str:
    return f"{n}\n{' '.join(str(rng.randrange(high)) for _ in range(n))}\n"


def _tests(tier: str) -> Callable[[random.Random], list[str]]:
    def make(rng: random.Random) -> list[str]:
        if tier == "hard":
            sizes = [(5, 10), (200, 50), (3000, 1000), (30000, 100000), (30000, 7)]
            return [f"{n} {high} {rng.randrange(2**31)}\n" for n, high in sizes]
        small = [_explicit(rng, rng.randint(1, 12), 20) for _ in range(4)] + [_explicit(rng, 1, 5)]
        return small + ([_explicit(rng, 2000, 1000)] if tier == "medium" else [])

    return make


def _family(name: str, statement: str, output: str, core: str, params: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    """Rows of one template: each (label, constant) in each tier; `@P@` in the texts stands for the constant."""
    problems = []
    for label, value in params:
        for tier in ("easy", "medium", "hard"):
            reader = _SEEDED_READER if tier == "hard" else _EXPLICIT_READER
            source = _SEEDED_INPUT if tier == "hard" else _EXPLICIT_INPUT.format(limit=_LIMITS[tier])
            problems.append(
                {
                    "name": f"{name}_{label}_{tier}",
                    "statement": statement.replace("@P@", str(value)),
                    "input_format": source,
                    "output_format": output,
                    "solution": reader + core.replace("@P@", str(value)) + "print(solve(a))\n",
                    "tests": _tests(tier),
                    "difficulty": tier,
                }
            )
    return problems


_BIT = (
    "def _add(tree, i):\n    while i < len(tree):\n        tree[i] += 1\n        i += i & -i\n\n\n"
    "def _count(tree, i):\n    total = 0\n    while i > 0:\n        total += tree[i]\n        i -= i & -i\n"
    "    return total\n\n\n"
)

PROGRAMS: list[dict[str, Any]] = [
    *_family(
        "pairs_sum_divisible",
        "Count the pairs of positions i < j such that a_i + a_j is divisible by @P@.",
        "One integer: the number of pairs.",
        "def solve(a):\n    count = [0] * @P@\n    total = 0\n    for v in a:\n"
        "        total += count[(-v) % @P@]\n        count[v % @P@] += 1\n    return total\n",
        [(f"k{k}", k) for k in (3, 7, 10, 12, 25)],
    ),
    *_family(
        "pairs_drop",
        "Count the pairs of positions i < j such that a_i >= a_j + @P@.",
        "One integer: the number of pairs.",
        _BIT + "def solve(a):\n    size = max(a) + 2\n    tree = [0] * (size + 1)\n    total = 0\n"
        "    for seen, v in enumerate(a):\n        total += seen - _count(tree, min(v + @P@, size))\n"
        "        _add(tree, v + 1)\n    return total\n",
        [(f"d{d}", d) for d in (1, 2, 5, 8)],
    ),
    *_family(
        "longest_run",
        "Print the length of the longest subsequence (not necessarily contiguous) of the array that is @P@.",
        "One integer.",
        "import bisect\n\n\ndef solve(a):\n    kind = '@P@'\n    if kind == 'strictly decreasing':\n"
        "        a = [-v for v in a]\n"
        "    find = bisect.bisect_right if kind == 'non-decreasing' else bisect.bisect_left\n"
        "    tails = []\n    for v in a:\n        i = find(tails, v)\n"
        "        tails[i : i + 1] = [v]\n    return len(tails)\n",
        [
            ("increasing", "strictly increasing"),
            ("nondecreasing", "non-decreasing"),
            ("decreasing", "strictly decreasing"),
        ],
    ),
    *_family(
        "subarrays_divisible",
        "Count the non-empty contiguous subarrays whose sum is divisible by @P@.",
        "One integer: the number of subarrays.",
        "def solve(a):\n    seen = [0] * @P@\n    seen[0] = 1\n    prefix = total = 0\n    for v in a:\n"
        "        prefix = (prefix + v) % @P@\n        total += seen[prefix]\n"
        "        seen[prefix] += 1\n    return total\n",
        [(f"k{k}", k) for k in (2, 4, 6, 9, 13)],
    ),
    *_family(
        "few_distinct",
        "Print the length of the longest contiguous subarray that holds at most @P@ distinct values.",
        "One integer.",
        "def solve(a):\n    counts = {}\n    best = left = 0\n    for right, v in enumerate(a):\n"
        "        counts[v] = counts.get(v, 0) + 1\n        while len(counts) > @P@:\n            counts[a[left]] -= 1\n"
        "            if counts[a[left]] == 0:\n                del counts[a[left]]\n            left += 1\n"
        "        best = max(best, right - left + 1)\n    return best\n",
        [(f"k{k}", k) for k in (1, 2, 3, 6)],
    ),
    *_family(
        "close_pairs",
        "Count the pairs of positions i < j such that |a_i - a_j| <= @P@.",
        "One integer: the number of pairs.",
        "def solve(a):\n    a = sorted(a)\n    total = left = 0\n    for right, v in enumerate(a):\n"
        "        while v - a[left] > @P@:\n            left += 1\n        total += right - left\n    return total\n",
        [(f"d{d}", d) for d in (0, 3, 10, 250)],
    ),
    *_family(
        "monotone_triples",
        "Count the triples of positions i < j < k such that a_i @P@ a_j @P@ a_k.",
        "One integer: the number of triples.",
        _BIT + "def solve(a):\n    if '@P@' == '>':\n        top = max(a)\n        a = [top - v for v in a]\n"
        "    size = max(a) + 2\n    left, right = [0] * (size + 1), [0] * (size + 1)\n"
        "    for v in a:\n        _add(right, v + 1)\n    total = 0\n    for seen, v in enumerate(a):\n"
        "        greater = len(a) - seen - _count(right, v + 1)\n"
        "        total += _count(left, v) * greater\n        _add(left, v + 1)\n"
        "        i = v + 1\n        while i < len(right):\n            right[i] -= 1\n            i += i & -i\n"
        "    return total\n",
        [("increasing", "<"), ("decreasing", ">")],
    ),
]
