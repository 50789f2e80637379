"""The domain module that `server.py` wraps: the bundled environment's Wordle game, re-exported.

    game = WordleGame(seed=7)           # secret chosen from WORDS by a seeded RNG
    game.guess("crane")                 # 'Guess 1/6: CRANE -> _ Y _ _ G. 5 guesses left.'

The game lives in `gymhall.envs.wordle.game` (one copy, shared with the bundled `wordle`
environment); this file keeps the seed's `from wordle import WordleGame` working.
"""

from gymhall.envs.wordle.game import WORDS, WordleGame, score

__all__ = ["WORDS", "WordleGame", "score"]
