"""Write `mcqa.jsonl`: generated multiple-choice questions in NeMo Gym's mcqa row shape.

    python gymhall/envs/mcqa/data/generate.py

Six kinds of question (multiplication, percentages, unit conversions, number sequences, weekdays,
orderings), each with deterministic distractors; rows rotate through the grading modes, and some
carry their own answer format (`template_metadata.output_regex`). A fixed seed makes re-running
rewrite the same bytes.
"""

from __future__ import annotations

import json
import random
import string
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

SEED = 1729
ROWS_PER_KIND = 10
OUTPUT = Path(__file__).resolve().parent / "mcqa.jsonl"
UUID_NAMESPACE = uuid.UUID("6f1c1e4e-4b8a-5a57-9c36-0d4a2f0c7e11")

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
NAMES = ("Ana", "Bruno", "Chen", "Dara", "Emeka", "Farah", "Goran", "Hiro", "Ivo", "Jun")
UNITS = (  # (question unit, answer unit, factor)
    ("metres", "centimetres", 100),
    ("kilometres", "metres", 1000),
    ("hours", "minutes", 60),
    ("days", "hours", 24),
    ("kilograms", "grams", 1000),
    ("litres", "millilitres", 1000),
    ("minutes", "seconds", 60),
    ("weeks", "days", 7),
)

# A question: its text, the right option's text, and candidate distractors (filtered below).
Question = tuple[str, str, list[str]]


def multiplication(rng: random.Random) -> Question:
    a, b = rng.randint(12, 49), rng.randint(3, 19)
    product = a * b
    near = [product + a, product - a, product + b, product - b, product + 10, product - 10, (a + 1) * (b - 1)]
    return f"What is {a} × {b}?", str(product), [str(n) for n in near]


def percentage(rng: random.Random) -> Question:
    percent = rng.choice((5, 10, 15, 20, 25, 30, 40, 60, 75))
    whole = rng.randrange(40, 801, 20)
    part = whole * percent // 100
    near = [part + percent, part * 2, whole - part, part + 5, part - 5, whole * (percent + 10) // 100]
    return f"What is {percent}% of {whole}?", str(part), [str(n) for n in near if n > 0]


def conversion(rng: random.Random) -> Question:
    source, target, factor = rng.choice(UNITS)
    amount = rng.randint(2, 12) + rng.choice((0, 0.5))
    shown = f"{amount:g}"
    right = amount * factor
    wrong = [right * 10, right / 10, amount * (factor + 10), right + factor, right - factor]
    text = f"How many {target} are there in {shown} {source}?"
    return text, f"{right:g} {target}", [f"{w:g} {target}" for w in wrong if w > 0]


def sequence(rng: random.Random) -> Question:
    start, step = rng.randint(1, 30), rng.randint(2, 12)
    if rng.random() < 0.5:
        terms = [start + step * i for i in range(5)]
        following = terms[-1] + step
        near = [following + 1, following - 1, following + step, terms[-1] + step + 2, following * 2]
    else:
        ratio = rng.choice((2, 3))
        terms = [start * ratio**i for i in range(4)]
        following = terms[-1] * ratio
        near = [terms[-1] + (terms[-1] - terms[-2]), following + ratio, following - ratio, terms[-1] * (ratio + 1)]
    shown = ", ".join(str(t) for t in terms)
    return f"What number comes next in the sequence {shown}, ...?", str(following), [str(n) for n in near]


def weekday(rng: random.Random) -> Question:
    today, days = rng.randrange(7), rng.randint(3, 60)
    right = WEEKDAYS[(today + days) % 7]
    text = f"If today is {WEEKDAYS[today]}, what day of the week will it be in {days} days?"
    return text, right, [d for d in WEEKDAYS if d != right]


def ordering(rng: random.Random) -> Question:
    people = rng.sample(NAMES, 4)  # tallest first
    facts = [f"{people[i]} is taller than {people[i + 1]}" for i in range(3)]
    rng.shuffle(facts)
    if rng.random() < 0.5:
        return f"{'; '.join(facts)}. Who is the shortest?", people[-1], people[:-1]
    return f"{'; '.join(facts)}. Who is the tallest?", people[0], people[1:]


KINDS: dict[str, Callable[[random.Random], Question]] = {
    "multiplication": multiplication,
    "percentage": percentage,
    "unit conversion": conversion,
    "sequence": sequence,
    "weekday": weekday,
    "ordering": ordering,
}

MODES = ("strict_single_letter_boxed", "lenient_boxed", "lenient_answer_colon")
# The row's own answer format (NeMo Gym's template_metadata), tried before its grading mode.
TEMPLATE = {"output_regex": "Final choice:\\s*([A-Za-z])\\b", "template_id": "gymhall_final_choice"}
INSTRUCTIONS = {
    "strict_single_letter_boxed": "Think it through if you like, then give only the letter of your answer inside "
    "\\boxed{}, e.g. \\boxed{A}.",
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


def _options(rng: random.Random, right: str, candidates: list[str], count: int) -> tuple[list[str], int]:
    """`count` option texts, the right one among them, and its index.

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
    rng.shuffle(chosen)
    return chosen, chosen.index(right)


def build_rows() -> list[dict[str, Any]]:
    """The dataset's rows, in order."""
    rng = random.Random(SEED)
    rows = []
    for number in range(ROWS_PER_KIND * len(KINDS)):
        kind = list(KINDS)[number % len(KINDS)]
        question, right, candidates = KINDS[kind](rng)
        rng.shuffle(candidates)
        texts, index = _options(rng, right, candidates, count=min(len(candidates) + 1, rng.choice((4, 4, 5))))
        letters = string.ascii_uppercase[: len(texts)]
        mode = MODES[(number // len(KINDS)) % len(MODES)]  # every kind is asked in every mode
        templated = number % 5 == 4
        answer_format = "template" if templated else mode
        listing = "\n".join(f"{letter}: {text}" for letter, text in zip(letters, texts, strict=True))
        prompt = f"{question}\n{listing}\n\n{INSTRUCTIONS[answer_format]}"
        rows.append(
            {
                "responses_create_params": {"input": [{"role": "user", "content": prompt}]},
                "options": [{letter: text} for letter, text in zip(letters, texts, strict=True)],
                "expected_answer": letters[index],
                "grading_mode": mode,
                **({"template_metadata": TEMPLATE} if templated else {}),
                "uuid": str(uuid.uuid5(UUID_NAMESPACE, prompt)),
                "metadata": {"kind": kind},
                "reference_solution": {
                    "tool_calls": [],
                    "answer": reference_answer(answer_format, letters[index], texts[index]),
                },
            }
        )
    return rows


def render(rows: list[dict[str, Any]]) -> bytes:
    """The JSONL bytes of `rows`."""
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()


def main() -> None:
    OUTPUT.write_bytes(render(build_rows()))
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
