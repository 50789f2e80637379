"""One Wordle rollout against a running server, with a scripted solver in place of the LLM.

    python server.py --port 8080 &
    python rollout.py --url http://127.0.0.1:8080          # MAX_TURNS=6 by default

The seed's rollout, done the gymhall way: `ResourcesClient` keeps the session's cookie, and the
tool schemas come from the server's `GET /tools` rather than being copied by hand. The "policy"
keeps the words of the list that agree with every feedback so far and guesses the word that
splits them best, which finds any word of the list within 6 guesses. The episode is recorded as
a Responses object (function_call and function_call_output items, then a final message), graded
with `POST /verify`, and the reward is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from wordle import WORDS, score

from gymhall import ResourcesClient

HERE = Path(__file__).resolve().parent
MARKS = re.compile(r"([A-Z]{5}) -> ([GY_](?: [GY_]){4})")


class Solver:
    """Guesses from `words`, keeping only the candidates consistent with the feedback so far."""

    def __init__(self, words: tuple[str, ...]) -> None:
        self.words = words
        self.candidates = list(words)

    def next_guess(self) -> str:
        """The word whose worst-case feedback leaves the fewest candidates (ties: a candidate, then A-Z)."""
        if len(self.candidates) <= 2:
            return self.candidates[0]
        candidates = set(self.candidates)
        best: tuple[int, int, bool, str] | None = None
        for word in self.words:
            groups = Counter(score(secret, word) for secret in self.candidates)
            key = (max(groups.values()), -len(groups), word not in candidates, word)
            best = key if best is None or key < best else best
        assert best is not None
        return best[3]

    def observe(self, word: str, marks: str) -> None:
        """Drop the candidates that would not have produced `marks` for `word`."""
        self.candidates = [c for c in self.candidates if score(c, word) == marks] or self.candidates


def _output_of(text: str) -> str:
    """The `output` of a tool answer's JSON body, or the whole text when it has none (an error)."""
    try:
        return str(json.loads(text)["output"])
    except (ValueError, KeyError, TypeError):
        return text


def read_row(path: Path, index: int) -> dict[str, Any]:
    """Row `index` of a JSONL dataset."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return rows[index % len(rows)]


def play(url: str, row: dict[str, Any], max_turns: int) -> dict[str, Any]:
    """Play one episode on the server at `url`; returns the verify answer (with `reward`)."""
    with ResourcesClient(url) as client:
        tools = client.list_tools()  # the server's own schemas: nothing to keep in sync by hand
        params = {**row["responses_create_params"], "tools": tools}
        solver = Solver(WORDS)
        output: list[dict[str, Any]] = []
        final = f"I did not find the word in {max_turns} guesses."
        with client.seed_session({**row, "responses_create_params": params}) as session:
            for turn in range(max_turns):
                word = solver.next_guess()
                call_id = f"call_{turn}"
                arguments = json.dumps({"word": word})
                output.append(
                    {
                        "type": "function_call",
                        "id": f"fc_{turn}",
                        "call_id": call_id,
                        "name": "guess",
                        "arguments": arguments,
                        "status": "completed",
                    }
                )
                text = session.call_text("guess", arguments)  # the body, as NeMo Gym's agent passes it on
                output.append({"type": "function_call_output", "call_id": call_id, "output": text})
                feedback = _output_of(text)
                print(f"turn {turn + 1}: guess {word!r} -> {feedback}")
                if "You won" in feedback:
                    final = f"The word is {word.upper()}."
                    break
                found = MARKS.search(feedback)
                if found is None:  # refused, or the game is over
                    break
                solver.observe(found.group(1).lower(), found.group(2).replace(" ", ""))
            output.append(
                {
                    "type": "message",
                    "id": "msg_final",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": final, "annotations": []}],
                }
            )
            response = {
                "id": "resp_wordle_rollout",
                "object": "response",
                "created_at": time.time(),
                "model": "scripted-solver",
                "output": output,
                "parallel_tool_calls": False,
                "tool_choice": "auto",
                "tools": tools,
            }
            return session.verify(response)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Play one scripted Wordle rollout against a running server.")
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the resources server's URL")
    parser.add_argument("--data", type=Path, default=HERE / "data" / "example.jsonl", help="dataset (JSONL)")
    parser.add_argument("--row", type=int, default=0, help="which row of the dataset to play")
    args = parser.parse_args(argv)
    max_turns = int(os.environ.get("MAX_TURNS", "6"))
    result = play(args.url, read_row(args.data, args.row), max_turns)
    print(f"reward: {result['reward']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
