"""Write `mcqa.jsonl`: generated multiple-choice questions in NeMo Gym's mcqa row shape.

    python gymhall/envs/mcqa/data/generate.py

Twelve kinds of question (`questions.py` beside this file), each at three difficulty tiers, with
deterministic distractors. Rows rotate through the grading modes, and every fifth carries its own
answer format (`template_metadata.output_regex`). The right letter is spread evenly over the
positions (a shuffled bag per option count), so answering one letter always scores about 1/k.
Hand-written rows go in `extra.jsonl` (one row per line, same fields) and are appended unchanged.
A fixed seed makes re-running rewrite the same bytes.
"""

from __future__ import annotations

import importlib.util
import json
import random
import string
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

SEED = 1729
TIERS = ("easy", "medium", "hard")
PER_TIER = 15  # rows per kind and tier
OPTION_COUNTS = ((4,), (4, 5), (5,))  # by tier
HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "mcqa.jsonl"
EXTRA = HERE / "extra.jsonl"  # hand-written rows, appended as they are
UUID_NAMESPACE = uuid.UUID("6f1c1e4e-4b8a-5a57-9c36-0d4a2f0c7e11")


def _sibling(name: str) -> ModuleType:
    """A module beside this file (this folder is not a package: the script also runs on its own)."""
    spec = importlib.util.spec_from_file_location(f"gymhall_mcqa_data_{name}", HERE / f"{name}.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {name}.py beside {__file__}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


KINDS = _sibling("questions").KINDS
MODES = ("strict_single_letter_boxed", "lenient_boxed", "lenient_answer_colon")
# The row's own answer format (NeMo Gym's template_metadata), tried before its grading mode. `\W*`
# lets the letter be bold or bracketed ("Final choice: **B**", "Final choice: (B) 90").
TEMPLATE = {"output_regex": "Final choice:\\W*([A-Za-z])\\b", "template_id": "gymhall_final_choice"}
# The examples use X, never an offered letter: a prompt echoed back must not answer it.
INSTRUCTIONS = {
    "strict_single_letter_boxed": "Think it through if you like, then give only the letter of your answer inside "
    "\\boxed{}, as in \\boxed{X}.",
    "lenient_boxed": "Put your final answer inside \\boxed{}: either the option's letter or its text.",
    "lenient_answer_colon": "End your reply with a line of the form 'Answer: X', where X is the letter of your choice.",
    "template": "Finish with a line 'Final choice: X', where X is the letter of the option you pick.",
}


def reference_answer(answer_format: str, letter: str, text: str) -> str:
    """A right answer in `answer_format` (a grading mode, or "template")."""
    if answer_format == "strict_single_letter_boxed":
        return f"The right option is {text}, so the answer is \\boxed{{{letter}}}."
    if answer_format == "lenient_boxed":
        return f"Working it out gives \\boxed{{{text}}}"
    if answer_format == "lenient_answer_colon":
        return f"The right option is {text}.\nAnswer: {letter}"
    return f"The right option is {text}.\nFinal choice: {letter}"


def _options(rng: random.Random, right: str, candidates: list[str], count: int, slot: int) -> list[str]:
    """`count` option texts with the right one at index `slot`.

    Distractors are chosen so that no option's text contains another's: with `lenient_boxed`, a
    boxed option text must match exactly one option.
    """
    chosen = [right]
    for candidate in dict.fromkeys(candidates):
        if len(chosen) == count:
            break
        if all(candidate.lower() not in c.lower() and c.lower() not in candidate.lower() for c in chosen):
            chosen.append(candidate)
    if len(chosen) < count:
        raise ValueError(f"only {len(chosen) - 1} usable distractors for {right!r}")
    distractors = chosen[1:]
    rng.shuffle(distractors)
    return [*distractors[:slot], right, *distractors[slot:]]


def build_rows() -> list[dict[str, Any]]:
    """The dataset's rows, in order: generated ones, then those of `extra.jsonl`."""
    rng = random.Random(SEED)
    bags: dict[int, list[int]] = {}  # per option count, the right answer's positions still to deal
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    number = 0
    for tier, difficulty in enumerate(TIERS):
        for kind, make in KINDS.items():
            made = 0
            while made < PER_TIER:
                question, right, candidates = make(rng, tier)
                rng.shuffle(candidates)
                count = rng.choice(OPTION_COUNTS[tier])
                bag = bags.setdefault(count, [])
                if not bag:
                    bag.extend(rng.sample(range(count), count))
                try:
                    texts = _options(rng, right, candidates, count, bag[-1])
                except ValueError:
                    continue  # too few distinct distractors for this draw: draw another
                letters = string.ascii_uppercase[:count]
                mode = MODES[number % len(MODES)]
                answer_format = "template" if number % 5 == 4 else mode
                listing = "\n".join(f"{letter}: {text}" for letter, text in zip(letters, texts, strict=True))
                prompt = f"{question}\n{listing}\n\n{INSTRUCTIONS[answer_format]}"
                if prompt in seen:
                    continue  # the same question again: draw another
                seen.add(prompt)
                index = bag.pop()
                rows.append(
                    {
                        "responses_create_params": {"input": [{"role": "user", "content": prompt}]},
                        "options": [{letter: text} for letter, text in zip(letters, texts, strict=True)],
                        "expected_answer": letters[index],
                        "grading_mode": mode,
                        **({"template_metadata": TEMPLATE} if answer_format == "template" else {}),
                        "uuid": str(uuid.uuid5(UUID_NAMESPACE, prompt)),
                        "difficulty": difficulty,
                        "metadata": {"kind": kind},
                        "reference_solution": {
                            "tool_calls": [],
                            "answer": reference_answer(answer_format, letters[index], texts[index]),
                        },
                    }
                )
                made += 1
                number += 1
    if EXTRA.exists():
        rows += [json.loads(line) for line in EXTRA.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows


def render(rows: list[dict[str, Any]]) -> bytes:
    """The JSONL bytes of `rows`."""
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()


def main() -> None:
    OUTPUT.write_bytes(render(build_rows()))
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
