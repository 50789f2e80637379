"""Wordle: guess a five-letter word with per-letter feedback (a pure-Python game environment)."""
