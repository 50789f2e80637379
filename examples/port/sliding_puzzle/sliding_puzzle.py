"""The 8-puzzle: slide tiles on a 3x3 board until they read 1-8 with the blank last.

A plain game module with no gymhall import; `gymhall port` serves it as an environment
(from this directory):

    gymhall port sliding_puzzle.py --dataset data/example.jsonl --validate
"""

from __future__ import annotations

from typing import Literal

Direction = Literal["up", "down", "left", "right"]

SIZE = 3
GOAL = tuple(range(1, SIZE * SIZE)) + (0,)
_STEPS = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}


class SlidingPuzzle:
    """A 3x3 sliding puzzle; 0 is the blank.

    Args:
        tiles: the board row by row, the nine numbers 0-8 (0 is the blank).
        max_moves: slides allowed before the puzzle refuses more.
    """

    def __init__(self, tiles: list[int], max_moves: int = 30) -> None:
        if sorted(tiles) != list(range(SIZE * SIZE)):
            raise ValueError(f"tiles must be the numbers 0-8 once each, not {tiles}")
        self.tiles = list(tiles)
        self.max_moves = max_moves
        self.moves = 0

    def slide(self, direction: Direction) -> str:
        """Move the blank one square up, down, left or right; returns the board after the move.

        Args:
            direction: where the blank goes; the tile there takes its place.
        """
        if self.moves >= self.max_moves:
            raise ValueError(f"no moves left (the limit is {self.max_moves})")
        blank = self.tiles.index(0)
        row, col = divmod(blank, SIZE)
        d_row, d_col = _STEPS[direction]
        to_row, to_col = row + d_row, col + d_col
        if not (0 <= to_row < SIZE and 0 <= to_col < SIZE):
            raise ValueError(f"the blank is at row {row + 1}, column {col + 1} and cannot move {direction}")
        target = to_row * SIZE + to_col
        self.tiles[blank], self.tiles[target] = self.tiles[target], self.tiles[blank]
        self.moves += 1
        return self.board()

    def board(self) -> str:
        """The board as three lines of numbers, `_` for the blank."""
        cells = ["_" if tile == 0 else str(tile) for tile in self.tiles]
        return "\n".join(" ".join(cells[row * SIZE : (row + 1) * SIZE]) for row in range(SIZE))

    def is_solved(self) -> bool:
        """Whether the tiles read 1-8 with the blank in the bottom-right corner."""
        return tuple(self.tiles) == GOAL
