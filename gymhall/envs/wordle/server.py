"""Wordle as an environment: one tool, `guess(word)`, and a reward for finding the row's secret word.

Each session plays one game of `game.WordleGame`. The secret is the row's `secret`, or a word of the
bundled list picked with `random.Random(row.seed)`, so the same row always gives the same game.
A refused guess (wrong length, not in the word list, game over) is a `ToolError` the model can
read and costs no guess. The reward is 1.0 when the game was solved; with `partial_credit: true`
an unsolved game earns half of its best guess's feedback value, which is always below 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import Field, field_validator, model_validator

from gymhall import BaseResourcesServerConfig, BaseSeedSessionRequest, BaseVerifyRequest, Environment, ToolError, tool
from gymhall.envs.wordle.game import InvalidGuess, WordleGame, is_word_shaped

__all__ = ["PARTIAL_CREDIT_WEIGHT", "Wordle", "WordleConfig", "WordleRow", "WordleState"]

#: An unsolved game earns at most this fraction of its best guess's feedback value.
PARTIAL_CREDIT_WEIGHT = 0.5


class WordleConfig(BaseResourcesServerConfig):
    """Settings of the `wordle` environment."""

    partial_credit: bool = False  # unsolved games earn a partial reward below 0.5 (see the README)
    any_word: bool = False  # accept any five letters as a guess, not only the bundled word list
    dataset: str | None = None  # read by the registry (relative to the environment's directory)


class WordleRow(BaseSeedSessionRequest):
    """The fields of a dataset row that start a game: `secret`, or a `seed` to pick one; `max_guesses`."""

    secret: str | None = None
    seed: int | None = None
    max_guesses: int = Field(default=6, ge=1, le=20)

    @field_validator("secret")
    @classmethod
    def _check_secret(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().lower()
        if not is_word_shaped(value):
            raise ValueError(f"secret must be a five-letter word (ASCII letters only), got {value!r}")
        return value

    @model_validator(mode="after")
    def _secret_or_seed(self) -> WordleRow:
        if self.secret is None and self.seed is None:
            raise ValueError("a wordle row needs `secret` (the word to find) or `seed` (to pick one from the list)")
        return self


@dataclass
class WordleState:
    """A session's state: its game."""

    game: WordleGame


class Wordle(Environment):
    """Guess the five-letter word in at most `max_guesses` tries, with per-letter feedback after each guess."""

    config_class = WordleConfig
    domain = "games"
    config: WordleConfig

    async def seed_session(self, row: WordleRow) -> WordleState:
        game = WordleGame(row.secret, seed=row.seed, max_guesses=row.max_guesses, any_word=self.config.any_word)
        return WordleState(game)

    @tool
    async def guess(self, state: WordleState, word: str) -> dict[str, Any]:
        """Guess the five-letter word: returns each letter's result (correct, present, absent) and guesses left."""
        try:
            result = state.game.play(word)
        except InvalidGuess as refused:
            raise ToolError(str(refused)) from None
        return {
            "guess": result.word.upper(),
            "feedback": result.letters(),
            "guesses_left": result.guesses_left,
            "solved": result.solved,
            "message": result.message,
        }

    async def verify(self, state: WordleState, body: BaseVerifyRequest) -> dict[str, float]:
        """1.0 if the game was solved; else 0.0, or with `partial_credit` half the best guess's feedback value."""
        game = state.game
        if game.solved:
            reward = 1.0
        elif self.config.partial_credit:
            reward = PARTIAL_CREDIT_WEIGHT * game.best_feedback
        else:
            reward = 0.0
        return {
            "reward": reward,
            "solved": float(game.solved),
            "guesses_used": float(len(game.history)),
            "best_feedback": game.best_feedback,
        }


if __name__ == "__main__":
    Wordle.run_webserver()
