r"""Generate `math.jsonl`: seeded problems in 16 families and three difficulty tiers, each with a `\boxed{}` answer.

    python gymhall/envs/math/data/generate.py    # rewrites math.jsonl next to this file

The output depends only on SEED: running this again reproduces the committed file byte for byte
(the test suite checks it). The problem makers live in `algebra.py` and `counting.py` beside this
file; each row names the form its answer must take (`answer_form`), and its prompt says it in words.
Hand-written rows go in `extra.jsonl` (one JSON object per line, same fields); they are appended
after the generated ones, unchanged.
"""

from __future__ import annotations

import importlib.util
import json
import random
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from gymhall.envs.math.forms import FORM_INSTRUCTIONS

SEED = 20240918
TIERS = ("easy", "medium", "hard")
PER_TIER = 12  # problems per family and tier
HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "math.jsonl"
EXTRA = HERE / "extra.jsonl"  # hand-written rows, appended as they are
INSTRUCTION = "Solve the problem below. {form} Put your final answer, and nothing else, inside \\boxed{{}}.\n\n"

Made = tuple[str, str, str]  # (question, expected answer in LaTeX, answer form)


def _sibling(name: str) -> ModuleType:
    """A module beside this file (this folder is not a package: the script also runs on its own)."""
    spec = importlib.util.spec_from_file_location(f"gymhall_math_data_{name}", HERE / f"{name}.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {name}.py beside {__file__}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclass-like types look their module up while it loads
    spec.loader.exec_module(module)
    return module


_algebra, _counting = _sibling("algebra"), _sibling("counting")
FAMILIES: list[Callable[[random.Random, str], Made]] = [
    _algebra.arithmetic,
    _algebra.fraction_sum,
    _algebra.linear_equation,
    _algebra.quadratic,
    _algebra.radical,
    _algebra.inequality,
    _algebra.expansion,
    _algebra.system,
    _algebra.exponent,
    _counting.word_problem,
    _counting.gcd_lcm,
    _counting.modular,
    _counting.combinatorics,
    _counting.probability,
    _counting.series,
    _counting.divisors,
]


def problems(seed: int = SEED) -> list[tuple[str, str, Made]]:
    """(family, tier, problem) triples: PER_TIER distinct problems per family and tier, in a fixed order."""
    rng = random.Random(seed)
    found: list[tuple[str, str, Made]] = []
    for family in FAMILIES:
        for tier in TIERS:
            seen: set[str] = set()
            for _ in range(100 * PER_TIER):
                question, answer, form = family(rng, tier)
                if question not in seen:
                    seen.add(question)
                    found.append((family.__name__, tier, (question, answer, form)))
                if len(seen) == PER_TIER:
                    break
            else:
                raise RuntimeError(f"{family.__name__} ({tier}) made fewer than {PER_TIER} distinct problems")
    return found


def rows(seed: int = SEED) -> list[dict[str, object]]:
    """The dataset rows, in NeMo Gym's math_with_judge shape plus tier, form and a reference solution."""
    result: list[dict[str, object]] = []
    for index, (family, tier, (question, answer, form)) in enumerate(problems(seed)):
        # A few expected answers keep math delimiters, as rows from other datasets often do.
        expected = f"\\({answer}\\)" if family == "fraction_sum" and index % 4 == 0 else answer
        prompt = INSTRUCTION.format(form=FORM_INSTRUCTIONS[form]) + question
        result.append(
            {
                "responses_create_params": {"input": [{"role": "user", "content": prompt}]},
                "question": question,
                "expected_answer": expected,
                "answer_form": form,
                "family": family,
                "difficulty": tier,
                "reference_solution": {"tool_calls": [], "answer": f"The final answer is $\\boxed{{{answer}}}$."},
            }
        )
    if EXTRA.is_file():
        result += [json.loads(line) for line in EXTRA.read_text(encoding="utf-8").splitlines() if line.strip()]
    return result


def render(seed: int = SEED) -> str:
    """The JSONL text of the dataset."""
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows(seed))


if __name__ == "__main__":
    OUTPUT.write_text(render(), encoding="utf-8")
    print(f"wrote {len(rows())} rows to {OUTPUT}")
