"""Parametrised function problems for `generate.py`: each template with several constants and tiers.

`easy` tiers take small arguments (a direct search works), `medium` ones arguments where only a
polynomial method fits the time limit, and `hard` ones (stairs) numbers up to 10^18 that need fast
exponentiation. Each problem is a dict of `generate.Function`'s fields; each test a list of arguments.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

__all__ = ["FUNCTIONS"]

Tests = Callable[[random.Random], list[list[Any]]]
M = 1_000_000_007


def _row(label: str, signature: str, statement: str, solution: str, tests: Tests, tier: str) -> dict[str, Any]:
    return {
        "name": signature.split("(")[0],
        "label": label,
        "signature": signature,
        "statement": statement,
        "solution": solution,
        "tests": tests,
        "difficulty": tier,
    }


def _amounts(high: int) -> Tests:
    return lambda rng: [[0], [1], [rng.randint(2, 30)], [rng.randint(31, 100)], [rng.randint(high // 2, high)], [high]]


_COINS = [[1, 5, 10, 25], [1, 3, 4], [2, 5, 7], [3, 7, 11, 13], [1, 7, 10], [4, 9], [5, 12, 20]]
_COIN_TIERS = {"easy": 100, "medium": 10_000}

_MIN_COINS = (
    "def min_coins(amount):\n    coins = @C@\n    best = [0] + [-1] * amount\n    for total in range(1, amount + 1):\n"
    "        options = [best[total - c] for c in coins if c <= total and best[total - c] >= 0]\n"
    "        best[total] = min(options) + 1 if options else -1\n    return best[amount]\n"
)
_COIN_WAYS = (
    "def coin_ways(amount):\n    ways = [1] + [0] * amount\n    for c in @C@:\n"
    "        for total in range(c, amount + 1):\n"
    "            ways[total] = (ways[total] + ways[total - c]) % 1000000007\n"
    "    return ways[amount]\n"
)

_STEPS = [[1, 2], [1, 3], [2, 3], [1, 2, 3], [1, 4, 5], [2, 5], [1, 5]]
_STAIRS = (
    "def stairs(n):\n    steps, mod = @S@, 1000000007\n    size = max(steps)\n"
    "    # state (ways(k), ways(k-1), ..., ways(k-size+1)); one step of the recurrence is a matrix\n"
    "    step = [[1 if i == 0 and j + 1 in steps else 1 if i == "
    "j + 1 else 0 for j in range(size)] for i in range(size)]\n"
    "    def mul(x, y):\n"
    "        return [[sum(x[i][k] * y[k][j] for k in range(size)) % mod for j in range(size)] for i in range(size)]\n"
    "    result = [[int(i == j) for j in range(size)] for i in range(size)]\n"
    "    while n:\n        if n & 1:\n            result = mul(result, step)\n"
    "        step = mul(step, step)\n        n >>= 1\n"
    "    return result[0][0]\n"
)
_STAIRS_TIERS = {"easy": 30, "medium": 100_000, "hard": 10**18}

_MOVES = {
    "4": "[(1, 0), (-1, 0), (0, 1), (0, -1)]",
    "8": "[(a, b) for a in (-1, 0, 1) for b in (-1, 0, 1) if a or b]",
    "knight": "[(a, b) for a in (-2, -1, 1, 2) for b in (-2, -1, 1, 2) if abs(a) != abs(b)]",
}
_MOVE_WORDS = {
    "4": "one cell up, down, left or right",
    "8": "to any of the 8 neighbouring cells (diagonals too)",
    "knight": "as a chess knight (two cells one way and one cell at a right angle)",
}
_SHORTEST = (
    "from collections import deque\n\n\ndef shortest_path(grid):\n    rows, cols = len(grid), len(grid[0])\n"
    "    if grid[0][0] == '#' or grid[-1][-1] == '#':\n        return -1\n    moves = @M@\n"
    "    dist = {(0, 0): 0}\n    queue = deque([(0, 0)])\n    while queue:\n        r, c = queue.popleft()\n"
    "        if (r, c) == (rows - 1, cols - 1):\n            return dist[r, c]\n        for dr, dc in moves:\n"
    "            nr, nc = r + dr, c + dc\n"
    "            if 0 <= nr < rows and 0 <= nc < cols and grid[nr][nc] != '#' and (nr, nc) not in dist:\n"
    "                dist[nr, nc] = dist[r, c] + 1\n                queue.append((nr, nc))\n    return -1\n"
)
_ISLANDS = (
    "def count_islands(grid):\n    rows, cols = len(grid), len(grid[0]) if grid else 0\n    seen, count = set(), 0\n"
    "    moves = @M@\n    for r in range(rows):\n        for c in range(cols):\n"
    "            if grid[r][c] != '#' or (r, c) in seen:\n                continue\n            count += 1\n"
    "            stack = [(r, c)]\n            seen.add((r, c))\n            while stack:\n"
    "                y, x = stack.pop()\n                for dy, dx in moves:\n"
    "                    ny, nx = y + dy, x + dx\n"
    "                    if 0 <= ny < rows and 0 <= nx < cols and grid[ny][nx] == '#' and (ny, nx) not in seen:\n"
    "                        seen.add((ny, nx))\n                        stack.append((ny, nx))\n    return count\n"
)
_GRID_TIERS = {"easy": 6, "medium": 60}


def _grids(size: int, density: float) -> Tests:
    def make(rng: random.Random) -> list[list[Any]]:
        shapes = [(1, 1), (2, 3), (rng.randint(3, size), rng.randint(3, size)), (size, size), (size, size)]
        grids = [
            ["".join("#" if rng.random() < density else "." for _ in range(c)) for _ in range(r)] for r, c in shapes
        ]
        return [[grid] for grid in grids]

    return make


_COSTS = [(1, 1, 1), (1, 1, 2), (2, 3, 4), (1, 2, 1), (3, 1, 5)]
_EDIT = (
    "def edit_cost(a, b):\n    insert, delete, replace = @K@\n    previous = [j * insert for j in range(len(b) + 1)]\n"
    "    for i in range(1, len(a) + 1):\n        current = [i * delete] + [0] * len(b)\n"
    "        for j in range(1, len(b) + 1):\n"
    "            keep = previous[j - 1] + (0 if a[i - 1] == b[j - 1] else replace)\n"
    "            current[j] = min(keep, previous[j] + delete, current[j - 1] + insert)\n        previous = current\n"
    "    return previous[-1]\n"
)
_LCS = (
    "def lcs_length(a, b):\n    previous = [0] * (len(b) + 1)\n    for x in a:\n        current = [0]\n"
    "        for j, y in enumerate(b):\n"
    "            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))\n"
    "        previous = current\n    return previous[-1]\n"
)
_TEXT_TIERS = {"easy": 8, "medium": 400}


def _pairs(alphabet: str, length: int) -> Tests:
    def word(rng: random.Random, n: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(n))

    return lambda rng: (
        [["", word(rng, 3)], [word(rng, 1), word(rng, 1)]]
        + [[word(rng, rng.randint(1, length)), word(rng, rng.randint(1, length))] for _ in range(3)]
        + [[word(rng, length), word(rng, length)]]
    )


_SHIFTS = [("caesar3", [3]), ("caesar13", [13]), ("caesar22", [22]), ("key", "key"), ("lemon", "lemon")]
_SHIFTS += [("secret", "secret"), ("caesar7", [7]), ("zebra", "zebra")]
_CIPHER = (
    "def encrypt(text):\n    key = @K@\n    shifts = [k if isinstance(k, int) else ord(k) - ord('a') for k in key]\n"
    "    out, used = [], 0\n    for ch in text:\n        if ch.isalpha():\n"
    "            base = ord('a') if ch.islower() else ord('A')\n"
    "            out.append(chr(base + (ord(ch) - base + shifts[used % len(shifts)]) % 26))\n            used += 1\n"
    "        else:\n            out.append(ch)\n    return ''.join(out)\n"
)


def _cipher_statement(key: Any) -> str:
    if isinstance(key, list):
        return f"Return `text` with every letter shifted {key[0]} places forward in the alphabet (wrapping from z to a)"
    return (
        f"Return `text` encrypted with the Vigenere key '{key}': the i-th letter of `text` (counting letters only) "
        f"is shifted forward by the position in the alphabet (a = 0) of the key's letter i mod {len(key)}, "
        "wrapping from z to a"
    )


def _texts(rng: random.Random) -> list[list[Any]]:
    words = ["Hello, World!", "", "xyz XYZ", "attack at dawn", "The quick brown fox jumps over the lazy dog."]
    return [[w] for w in words] + [["".join(rng.choice("abcXYZ .!") for _ in range(30))]]


FUNCTIONS: list[dict[str, Any]] = [
    *(
        _row(
            f"min_coins_{i}_{tier}",
            "min_coins(amount: int) -> int",
            f"With unlimited coins of the values {coins} (amount <= {high}), return the fewest coins that add up "
            "to `amount` exactly, or -1 when no combination does.",
            _MIN_COINS.replace("@C@", str(coins)),
            _amounts(high),
            tier,
        )
        for i, coins in enumerate(_COINS)
        for tier, high in _COIN_TIERS.items()
    ),
    *(
        _row(
            f"coin_ways_{i}_{tier}",
            "coin_ways(amount: int) -> int",
            f"With unlimited coins of the values {coins} (amount <= {high}), return the number of different "
            "multisets of coins that add up to `amount` (order does not matter), modulo 1000000007.",
            _COIN_WAYS.replace("@C@", str(coins)),
            _amounts(high),
            tier,
        )
        for i, coins in enumerate(_COINS)
        for tier, high in _COIN_TIERS.items()
    ),
    *(
        _row(
            f"stairs_{'_'.join(map(str, steps))}_{tier}",
            "stairs(n: int) -> int",
            f"A climber goes up a staircase of n steps (0 <= n <= {high:,}), each move climbing one of {steps} "
            "steps. Return the number of different sequences of moves that end exactly on step n, modulo 1000000007.",
            _STAIRS.replace("@S@", str(steps)),
            _amounts(high) if tier != "easy" else (lambda rng: [[0], [1], [2], [5], [rng.randint(6, 29)], [30]]),
            tier,
        )
        for steps in _STEPS
        for tier, high in _STAIRS_TIERS.items()
    ),
    *(
        _row(
            f"shortest_path_{moves}_{tier}",
            "shortest_path(grid: list[str]) -> int",
            f"`grid` is a list of equal-length rows (at most {size} x {size}) of '.' (free) and '#' (wall). Moving "
            f"{_MOVE_WORDS[moves]}, never onto a wall or off the grid, return the fewest moves from the top-left "
            "cell to the bottom-right one, or -1 when it cannot be reached (or either is a wall).",
            _SHORTEST.replace("@M@", _MOVES[moves]),
            _grids(size, 0.25),
            tier,
        )
        for moves in _MOVES
        for tier, size in _GRID_TIERS.items()
    ),
    *(
        _row(
            f"count_islands_{moves}_{tier}",
            "count_islands(grid: list[str]) -> int",
            f"`grid` is a list of equal-length rows (at most {size} x {size}) of '#' (land) and '.' (water). Land "
            f"cells are connected when one can be reached from the other moving {_MOVE_WORDS[moves]} over land. "
            "Return the number of islands (maximal connected groups of land cells).",
            _ISLANDS.replace("@M@", _MOVES[moves]),
            _grids(size, 0.45),
            tier,
        )
        for moves in ("4", "8")
        for tier, size in _GRID_TIERS.items()
    ),
    *(
        _row(
            f"edit_cost_{'_'.join(map(str, costs))}_{tier}",
            "edit_cost(a: str, b: str) -> int",
            f"Turning string `a` into string `b` (each at most {length} characters), inserting a character costs "
            f"{costs[0]}, deleting one costs {costs[1]} and replacing one with another costs {costs[2]}. Return the "
            "least total cost.",
            _EDIT.replace("@K@", str(costs)),
            _pairs("abc", length),
            tier,
        )
        for costs in _COSTS
        for tier, length in _TEXT_TIERS.items()
    ),
    *(
        _row(
            f"lcs_length_{len(alphabet)}_{tier}",
            "lcs_length(a: str, b: str) -> int",
            f"Return the length of the longest common subsequence of strings `a` and `b` (each at most {length} "
            f"characters from '{alphabet}').",
            _LCS,
            _pairs(alphabet, length),
            tier,
        )
        for alphabet in ("ab", "acgt", "abcdefghijklmnopqrstuvwxyz")
        for tier, length in _TEXT_TIERS.items()
    ),
    *(
        _row(
            f"encrypt_{label}",
            "encrypt(text: str) -> str",
            _cipher_statement(key) + "; upper-case letters stay upper-case, other characters are kept as they are.",
            _CIPHER.replace("@K@", repr(key)),
            _texts,
            "easy",
        )
        for label, key in _SHIFTS
    ),
]
