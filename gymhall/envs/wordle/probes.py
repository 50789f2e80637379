"""The wordle environment's own reward probes (`gymhall check` plays them with the generic ones).

The reward is the game's outcome; the final message is not graded (the README says so). The
generic hacks make no guesses, so they score 0 here as everywhere. This environment's own probes,
built from the row's secret and guess limit:

- every word guessed: a run through the word list, more guesses than allowed, the secret last (the
  game is over by then, so it is refused);
- secret after the game ended: `max_guesses` wrong guesses, then the secret;
- openers only: the reference's guesses but the last (the secret), the answer still naming it;
- a near miss: a word one letter from the secret guessed in its place (where the list has one);
- invalid guesses only: words the game refuses (too short, not a word), the answer naming the secret;
- invalid guess first (a variant): a refused guess before the reference's, which costs no guess and
  so keeps the reward.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from gymhall import Probe
from gymhall.envs.wordle.game import WORDS

__all__ = ["INVALID_GUESSES", "probes", "row_secret"]

#: Guesses the game refuses: too short, too long, not a word, not letters.
INVALID_GUESSES = ("cat", "cranes", "qzxvj", "cr4ne")


def row_secret(row: Mapping[str, Any]) -> str | None:
    """The row's secret, lower-case: its `secret`, or the word its `seed` picks (as the game does)."""
    secret = row.get("secret")
    if isinstance(secret, str) and secret.strip():
        return secret.strip().lower()
    seed = row.get("seed")
    return random.Random(seed).choice(WORDS) if isinstance(seed, int) else None


def _guesses(words: list[str]) -> list[dict[str, Any]]:
    return [{"name": "guess", "arguments": {"word": word}} for word in words]


def probes(row: Mapping[str, Any]) -> list[Probe]:
    """The wordle probes of `row` (none for a row without a secret or a seed)."""
    secret = row_secret(row)
    if secret is None:
        return []
    limit = int(row.get("max_guesses") or 6)
    reference = row.get("reference_solution") or {}
    calls = list(reference.get("tool_calls") or [])
    others = [word for word in WORDS if word != secret]
    found = [
        Probe("every word guessed", tool_calls=_guesses([*others[: limit + 4], secret])),
        Probe("secret after the game ended", tool_calls=_guesses([*others[-limit:], secret])),
        Probe("invalid guesses only", tool_calls=_guesses(list(INVALID_GUESSES))),
        Probe("invalid guess first", tool_calls=[*_guesses([INVALID_GUESSES[0]]), *calls], expect="same"),
    ]
    if len(calls) > 1:
        found.append(Probe("openers only", tool_calls=calls[:-1]))
    near = [word for word in others if sum(a != b for a, b in zip(word, secret, strict=True)) == 1]
    if near and calls:
        found.append(Probe("a near miss", tool_calls=[*calls[:-1], *_guesses([near[0]])]))
    return found
