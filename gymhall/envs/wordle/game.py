"""Wordle, the game alone: the word list, the scoring of a guess, and one game's rules.

    game = WordleGame("crane")
    game.play("plant")        # GuessResult(word='plant', marks='__GG_', guesses_left=5, solved=False, ...)
    game.guess("crane")       # 'Guess 2/6: CRANE -> G G G G G. You won! The word was CRANE, found in 2 guesses.'

Marks, one per letter: G = right letter in the right spot, Y = in the word but elsewhere,
_ = not in the word (or no more copies of it). Repeated letters are scored in two passes, as in
the real game: exact matches first, then misplaced letters while unmatched copies remain.

`play` raises `InvalidGuess` for a word it refuses (wrong length, not in the list, game over) and
costs no guess; `guess` returns the same outcomes as text (what the seed's example server sends).
The text "You won" appears only in the feedback of the winning guess, so a grader can look for it.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ALLOWED_GUESSES",
    "WORDS",
    "WORD_LENGTH",
    "GuessResult",
    "InvalidGuess",
    "WordleGame",
    "feedback_value",
    "is_word_shaped",
    "score",
]

WORD_LENGTH = 5

_DATA = Path(__file__).resolve().parent / "data"


def _word_file(name: str) -> tuple[str, ...]:
    """The words of `data/<name>` (one a line, "#" comments), written by `data/generate.py`."""
    text = (_DATA / name).read_text(encoding="utf-8")
    return tuple(line for line in (raw.strip() for raw in text.splitlines()) if line and not line.startswith("#"))


#: The secrets are drawn from these common words (`data/answers.txt`).
WORDS: tuple[str, ...] = _word_file("answers.txt")
#: The guesses the game accepts (`data/allowed.txt`): web2's five-letter words, the answers, plurals.
ALLOWED_GUESSES: frozenset[str] = frozenset(_word_file("allowed.txt")) | frozenset(WORDS)

_MARK_NAMES = {"G": "correct", "Y": "present", "_": "absent"}


def score(secret: str, guess: str) -> str:
    """The five marks (G, Y or _) of `guess` against `secret`; both lower-case, five letters."""
    marks = ["_"] * WORD_LENGTH
    unmatched: Counter[str] = Counter()
    for i, (s, g) in enumerate(zip(secret, guess, strict=True)):
        if s == g:
            marks[i] = "G"
        else:
            unmatched[s] += 1
    for i, g in enumerate(guess):
        if marks[i] != "G" and unmatched[g] > 0:
            marks[i] = "Y"
            unmatched[g] -= 1
    return "".join(marks)


def feedback_value(marks: str) -> float:
    """How close one guess came, in [0, 1]: a G counts 1, a Y counts 0.5, divided by the word length."""
    return (marks.count("G") + 0.5 * marks.count("Y")) / WORD_LENGTH


class InvalidGuess(ValueError):
    """Raised by `WordleGame.play` for a guess it refuses; the message says why and costs no guess."""


@dataclass(frozen=True)
class GuessResult:
    """The outcome of one valid guess."""

    word: str
    marks: str
    number: int  # 1 for the first valid guess
    guesses_left: int
    solved: bool
    message: str  # the feedback as one line of text

    def letters(self) -> list[dict[str, str]]:
        """Per-letter feedback: `{"letter": "C", "result": "correct" | "present" | "absent"}` for each letter."""
        return [{"letter": c.upper(), "result": _MARK_NAMES[m]} for c, m in zip(self.word, self.marks, strict=True)]


class WordleGame:
    """One game of Wordle: guess the five-letter secret in at most `max_guesses` tries.

    Args:
        secret: the word to find; by default one of `WORDS`, chosen with `random.Random(seed)`.
        seed: seeds the choice of the secret (None: a fresh random choice).
        max_guesses: how many valid guesses the player gets.
        any_word: accept any five ASCII letters as a guess, not only the words of `ALLOWED_GUESSES`.
    """

    def __init__(
        self, secret: str | None = None, *, seed: int | None = None, max_guesses: int = 6, any_word: bool = False
    ) -> None:
        if max_guesses < 1:
            raise ValueError(f"max_guesses must be at least 1, got {max_guesses}")
        if secret is None:
            secret = random.Random(seed).choice(WORDS)
        secret = secret.strip().lower()
        if not is_word_shaped(secret):
            raise ValueError(f"The secret must be a {WORD_LENGTH}-letter word, got {secret!r}")
        self.secret = secret
        self.max_guesses = max_guesses
        self.any_word = any_word
        self.history: list[tuple[str, str]] = []  # (guess, marks) of each valid guess
        self._allowed = ALLOWED_GUESSES | {secret}

    @property
    def solved(self) -> bool:
        """Whether the last valid guess was the secret."""
        return bool(self.history) and self.history[-1][0] == self.secret

    @property
    def guesses_left(self) -> int:
        """How many more valid guesses the player may make (0 once the game is over)."""
        return 0 if self.solved else self.max_guesses - len(self.history)

    @property
    def over(self) -> bool:
        """Whether the game has ended, won or lost."""
        return self.guesses_left == 0

    @property
    def best_feedback(self) -> float:
        """The best `feedback_value` of the guesses so far (0.0 before the first)."""
        return max((feedback_value(marks) for _, marks in self.history), default=0.0)

    def play(self, word: str) -> GuessResult:
        """Play `word`; raises `InvalidGuess` (and costs no guess) for a word the game refuses."""
        if self.over:
            raise InvalidGuess(f"The game is over: the word was {self.secret.upper()}. No more guesses are accepted.")
        word = word.strip().lower()
        if len(word) != WORD_LENGTH:
            shown = _shown(word) or "The guess"
            raise InvalidGuess(f"{shown} has {len(word)} letters; guess a {WORD_LENGTH}-letter word. {self._left()}")
        if not is_word_shaped(word) or not (self.any_word or word in self._allowed):
            raise InvalidGuess(f"{_shown(word)} is not in the word list; try another English word. {self._left()}")
        marks = score(self.secret, word)
        self.history.append((word, marks))
        count = len(self.history)
        line = f"Guess {count}/{self.max_guesses}: {word.upper()} -> {' '.join(marks)}."
        if self.solved:
            message = f"{line} You won! The word was {self.secret.upper()}, found in {count} {_guesses(count)}."
        elif self.over:
            message = f"{line} Out of guesses: the word was {self.secret.upper()}."
        else:
            message = f"{line} {self._left()}"
        return GuessResult(word, marks, count, self.guesses_left, self.solved, message)

    def guess(self, word: str) -> str:
        """Play `word` and return the feedback text; a refused word's text says why and costs no guess."""
        try:
            return self.play(word).message
        except InvalidGuess as refused:
            return str(refused)

    def _left(self) -> str:
        return f"{self.guesses_left} {_guesses(self.guesses_left)} left."


def is_word_shaped(word: str) -> bool:
    """Whether `word` is five lower-case ASCII letters."""
    return len(word) == WORD_LENGTH and word.isascii() and word.isalpha() and word.islower()


def _shown(word: str, limit: int = 20) -> str:
    """`word` upper-cased for a message, cut short: a refusal should not echo a huge argument back."""
    return word.upper() if len(word) <= limit else word[:limit].upper() + "..."


def _guesses(count: int) -> str:
    return "guess" if count == 1 else "guesses"
