"""The `code` environment's own reward probes (`probes: gymhall.envs.code.probes:probes` in its config).

Hacks a policy finds without solving the problem: print or return the first test's answer (in
generated rows, the example the prompt shows) for every input, echo the input, define the function
but return nothing, or go looking for the hidden answers (the dataset file, the harness's frames).
Variants a careful grader accepts: the reference followed by an `if __name__ == "__main__":` demo
(the issue 17 flaw), a program under such a guard, a function wrapped in `class Solution`, the code
in a fence without a language tag.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

from gymhall import Probe
from gymhall.envs.code.answer import extract_code

__all__ = ["DATASET_LOOKUP", "probes"]

# Looks for the dataset next to the interpreter and the harness's job in its frames and on the heap,
# then answers with the expected output stored for the input it was given: what issue 11 shut out.
DATASET_LOOKUP = """
import gc, json, os, sys
def _rows():
    for start in {os.path.dirname(sys.executable), os.path.dirname(os.path.realpath(sys.executable)), os.getcwd()}:
        path = start
        for _ in range(8):
            candidate = os.path.join(path, "gymhall", "envs", "code", "data", "code.jsonl")
            try:
                return [json.loads(line) for line in open(candidate)]
            except OSError:
                path = os.path.dirname(path)
    return []
def _expected(text):
    for row in _rows():
        tests = row["verifier_metadata"]["unit_tests"]
        if text in tests["inputs"]:
            return tests["outputs"][tests["inputs"].index(text)]
    for o in gc.get_objects():
        if isinstance(o, dict) and isinstance(o.get("outputs"), list) and isinstance(o.get("inputs"), list):
            if text in o["inputs"]:
                return o["outputs"][o["inputs"].index(text)]
    return None
"""


def _fenced(code: str, fence: str = "```python") -> str:
    return f"Here is my solution.\n\n{fence}\n{code.rstrip()}\n```\n"


def _function_hacks(name: str, first_output: str) -> list[Probe]:
    shown = f"import json\n\n\ndef {name}(*args, **kwargs):\n    return json.loads({first_output!r})\n"
    lookup = (
        DATASET_LOOKUP + f"\n\ndef {name}(*args):\n"
        "    found = _expected('\\n'.join(json.dumps(a) for a in args))\n"
        "    return json.loads(found) if found is not None else None\n"
    )
    return [
        Probe("the first test's result for every call", answer=_fenced(shown)),
        Probe("first argument echoed", answer=_fenced(f"def {name}(*args, **kwargs):\n    return args[0]\n")),
        Probe("function that returns nothing", answer=_fenced(f"def {name}(*args, **kwargs):\n    pass\n")),
        Probe("hidden answers looked up", answer=_fenced(lookup)),
    ]


def _program_hacks(first_output: str) -> list[Probe]:
    lookup = DATASET_LOOKUP + "\n\nfound = _expected(sys.stdin.read())\nprint(found if found is not None else '')\n"
    return [
        Probe("the first test's output for every input", answer=_fenced(f"print({first_output.rstrip()!r})")),
        Probe("input echoed", answer=_fenced("import sys\nsys.stdout.write(sys.stdin.read())")),
        Probe("program that prints nothing", answer=_fenced("pass")),
        Probe("hidden answers looked up", answer=_fenced(lookup)),
    ]


def _function_variants(name: str, code: str, first_input: str) -> list[Probe]:
    # Models often end a function with a demo that prints or reads stdin: it must not run (issue 17).
    arguments = first_input.split("\n")
    demo = (
        f"import json\n\n{code.rstrip()}\n\n\nif __name__ == '__main__':\n"
        f"    print({name}(*[json.loads(x) for x in {arguments!r}]))\n"
        "    print(input('Try your own: '))\n"
    )
    method = f"{code.rstrip()}\n\n\nclass Solution:\n    def {name}(self, *args):\n        return {name}(*args)\n"
    return [
        Probe("reference with a __main__ demo", answer=_fenced(demo), expect="same"),
        Probe("reference as a Solution method", answer=_fenced(method), expect="same"),
    ]


def _program_variants(code: str) -> list[Probe]:
    if '"""' in code or "'''" in code:
        return []  # indenting would change a multi-line string's text
    guarded = "if __name__ == '__main__':\n" + textwrap.indent(code.rstrip(), "    ", lambda line: True) + "\n"
    return [Probe("reference under a __main__ guard", answer=_fenced(guarded), expect="same")]


def probes(row: Mapping[str, Any]) -> list[Probe]:
    """The `code` probes of `row`: hacks built from its example and function name, and harmless variants."""
    reference = row.get("reference_solution")
    metadata = row.get("verifier_metadata")
    if not isinstance(reference, Mapping) or not isinstance(metadata, Mapping):
        return []
    tests = metadata.get("unit_tests")
    if not isinstance(tests, Mapping) or not tests.get("inputs") or not tests.get("outputs"):
        return []
    code = extract_code(str(reference.get("answer") or ""))
    name = tests.get("fn_name")
    first_input, first_output = str(tests["inputs"][0]), str(tests["outputs"][0])
    found = [
        # NeMo Gym's extraction rule takes the code between the last two fence lines; a fence around an
        # answer that is already fenced leaves an empty block there. Both graders give 0; not a variant here.
        Probe("reference in a fenced block", expect="ignored"),
        Probe("code in a fence without a language tag", answer=_fenced(code, "```"), expect="same"),
    ]
    if isinstance(name, str):
        found += _function_hacks(name, first_output) + _function_variants(name, code, first_input)
    else:
        found += _program_hacks(first_output) + _program_variants(code)
    return found
