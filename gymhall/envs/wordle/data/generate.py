"""Writes `wordle.jsonl`, the `wordle` dataset: `python gymhall/envs/wordle/data/generate.py`.

Deterministic (one seeded RNG), so re-running it reproduces the committed file byte for byte; the
test suite checks that. Each row names its secret word (a few name a `seed` instead, which picks
the secret from the word list) and carries a reference solution: two guesses that share no letter
with each other, then the secret, then a one-line final message.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

from gymhall.envs.wordle.game import WORDS, WordleGame
from gymhall.envs.wordle.server import Wordle

OUTPUT = Path(__file__).resolve().parent / "wordle.jsonl"
ROWS = 60
SEEDED_ROWS = 10  # rows that give a `seed` rather than the secret itself
RNG_SEED = 20261122
MAX_GUESSES = (6, 6, 6, 5, 4)

PROMPT = (
    "Let's play Wordle. Find the secret five-letter English word in at most {n} guesses. "
    "Use the `guess` tool for every guess: it tells you, for each letter, whether it is correct "
    "(right letter in the right spot), present (in the word but elsewhere) or absent (not in the word). "
    "Guess common English words; a guess the game refuses does not count. "
    "When you have found the word, reply with it."
)


def _disjoint_guesses(rng: random.Random, secret: str) -> tuple[str, str]:
    """Two words of the list, neither the secret, with no letter in common: a typical informative start."""
    pool = [w for w in WORDS if w != secret and len(set(w)) == len(w)]
    first = rng.choice(pool)
    second = rng.choice([w for w in pool if not set(w) & set(first)])
    return first, second


def build_rows() -> list[dict[str, Any]]:
    """The dataset's rows, in order."""
    rng = random.Random(RNG_SEED)
    tools = [spec.schema() for spec in Wordle.tools()]
    secrets = rng.sample(WORDS, ROWS - SEEDED_ROWS)
    rows = []
    for index in range(ROWS):
        max_guesses = rng.choice(MAX_GUESSES)
        task: dict[str, Any]
        if index < len(secrets):
            secret = secrets[index]
            task = {"secret": secret}
        else:
            seed = rng.randrange(1_000_000)
            secret = WordleGame(seed=seed).secret
            task = {"seed": seed}
        first, second = _disjoint_guesses(rng, secret)
        rows.append(
            {
                "responses_create_params": {
                    "input": [{"role": "user", "content": PROMPT.format(n=max_guesses)}],
                    "tools": tools,
                },
                **task,
                "max_guesses": max_guesses,
                "reference_solution": {
                    "tool_calls": [{"name": "guess", "arguments": {"word": word}} for word in (first, second, secret)],
                    "answer": f"The word is {secret.upper()}.",
                },
            }
        )
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    """The JSONL text of `rows`."""
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def main() -> int:
    OUTPUT.write_text(render(build_rows()), encoding="utf-8")
    print(f"wrote {ROWS} rows to {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
