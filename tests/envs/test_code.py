"""gymhall.envs.code: code generation graded by hidden unit tests in the sandbox."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from gymhall import build_app, load_config
from gymhall.checks.probes import probes_for, prompt_text
from gymhall.collection.runs import CollectOptions, run_collect
from gymhall.envs.code.answer import extract_code
from gymhall.envs.code.comparison import program_output_matches, return_value_matches
from gymhall.envs.code.config import CodeConfig
from gymhall.envs.code.probes import probes
from gymhall.envs.code.rows import UnitTests
from gymhall.envs.code.server import CodeGen
from gymhall.grading.sandbox import namespaces_available
from gymhall.testing import client_for, make_response, make_row

ENV_DIR = Path(__file__).resolve().parents[2] / "gymhall" / "envs" / "code"
DATASET = ENV_DIR / "data" / "code.jsonl"
CONFIG = ENV_DIR / "configs" / "code.yaml"
ROWS = [json.loads(line) for line in DATASET.read_text(encoding="utf-8").splitlines()]

SQUARE = {"unit_tests": {"inputs": ["2\n", "5\n", "-3\n"], "outputs": ["4", "25", "9\n"], "fn_name": None}}
ADD = {"unit_tests": {"inputs": ["1\n2", "[1]\n[2]", "0.1\n0.2"], "outputs": ["3", "[1, 2]", "0.3"], "fn_name": "add"}}
SQUARE_CODE = "n = int(input())\nprint(n * n)"


def fenced(code: str, prose: str = "Here you go:") -> str:
    return f"{prose}\n```python\n{code}\n```\n"


def env(**settings: Any) -> CodeGen:
    return CodeGen(CodeConfig(name="code", **{"time_limit_s": 2.0, **settings}))


async def verify(environment: CodeGen, metadata: dict[str, Any], answer: str, **response: Any) -> dict[str, Any]:
    async with client_for(environment) as client, await client.seed_session(make_row("solve it")) as session:
        return await session.verify(make_response(answer, **response) if answer is not None else make_response())


def http(environment: CodeGen) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(build_app(environment)), base_url="http://testserver")


async def grade(answer: str, metadata: dict[str, Any] = SQUARE, **settings: Any) -> dict[str, Any]:
    async with http(env(**settings)) as client:
        reply = await client.post(
            "/verify", json={**make_row("solve", verifier_metadata=metadata), "response": make_response(answer)}
        )
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


# -- extraction and comparison (NeMo Gym's rules) -----------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("```python\nprint(1)\n```", "print(1)"),
        ("first\n```python\nprint(1)\n```\nthen\n```python\nprint(2)\n```", "print(2)"),
        ("```\nx = 1\n```", "x = 1"),
        ("no fences at all", ""),
        ("```python\nunclosed", ""),
    ],
)
def test_extract_code_takes_the_last_fenced_block(text: str, code: str) -> None:
    assert extract_code(text) == code


@pytest.mark.parametrize(
    ("actual", "expected", "matches"),
    [
        ("4\n", "4", True),
        ("  1 2 \n\n", "1 2", True),
        ("1.50\n", "1.5", True),
        ("1 2\n3", "1 2", False),
        ("abc", "abd", False),
        ("100000000000000001", "100000000000000000", False),  # exact decimals, not floats
    ],
)
def test_program_output_comparison(actual: str, expected: str, matches: bool) -> None:
    assert program_output_matches(actual, expected) is matches


@pytest.mark.parametrize(
    ("actual", "expected", "matches"),
    [
        ([1, 2], [1, 2], True),
        (0.30000000000000004, 0.3, True),
        (True, 1, True),
        ({"1": 2}, {"1": 2}, True),
        ([1, 2], [2, 1], False),
        (1.1, 1.0, False),
        ("1", 1, True),
        (None, 0, False),
    ],
)
def test_return_value_comparison(actual: Any, expected: Any, matches: bool) -> None:
    assert return_value_matches(actual, expected) is matches


# -- rewards ---------------------------------------------------------------------------------------


async def test_a_correct_program_scores_one_with_metrics() -> None:
    result = await grade(fenced(SQUARE_CODE))
    assert result["reward"] == 1.0 and result["result"] == [True, True, True]
    assert (result["tests_passed"], result["tests_total"], result["tests_timed_out"]) == (3, 3, 0)
    assert result["extracted_model_code"] == SQUARE_CODE and result["verifier_metadata"] == SQUARE  # echoed


async def test_a_wrong_answer_scores_zero_and_says_where() -> None:
    result = await grade(fenced("n = int(input())\nprint(n + n)"))
    assert result["reward"] == 0.0 and result["result"][1] == -2 and result["tests_passed"] == 1
    assert result["metadata"]["error_message"] == "Wrong Answer" and result["metadata"]["expected"] == "25"


async def test_fraction_mode_rewards_the_share_of_tests_passed() -> None:
    assert (await grade(fenced("n = int(input())\nprint(n + n)"), reward_mode="fraction"))["reward"] == pytest.approx(
        1 / 3
    )


@pytest.mark.parametrize("answer", ["", "I would use a loop.", "```python\n\n```"])
async def test_no_code_scores_zero(answer: str) -> None:
    result = await grade(answer)
    assert result["reward"] == 0.0 and result["tests_passed"] == 0 and result["error"]


@pytest.mark.parametrize(
    ("code", "error_code"),
    [
        ("while True:\n    pass", -3),
        ("import time\ntime.sleep(30)", -3),
        ("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass", -3),
        ("chunks = []\nwhile True:\n    chunks.append(bytearray(64 * 1024 * 1024))", -4),
        ("import socket\nsocket.create_connection(('127.0.0.1', 9), timeout=1)", -4),
        ("def broken(:\n    pass", -4),
        ("raise RuntimeError('boom')", -4),
    ],
    ids=["infinite-loop", "sleep", "fork-bomb", "memory-hog", "network", "syntax-error", "crash"],
)
async def test_hostile_or_broken_code_is_contained_and_scores_zero(code: str, error_code: int) -> None:
    result = await grade(fenced(code), time_limit_s=1.0, memory_limit_mb=256)
    assert result["reward"] == 0.0 and result["result"][0] == error_code
    assert result["timed_out"] == float(error_code == -3)


async def test_catching_the_time_limit_does_not_help() -> None:
    slow = "import time\ntry:\n    time.sleep(3)\nexcept BaseException:\n    time.sleep(1)\nprint(int(input()) ** 2)"
    assert (await grade(fenced(slow), time_limit_s=0.5))["result"][0] == -3


async def test_a_forged_late_verdict_counts_as_a_timeout() -> None:
    # The harness shares the solution's process, so a solution can find it and write a record itself,
    # after the alarm is switched off; the sandbox's supervisor kills it at the time limit regardless.
    forger = (
        "import gc, os, signal, sys, time\n"
        "signal.setitimer(signal.ITIMER_REAL, 0)\n"
        "harness = next(o for o in gc.get_objects() if type(o).__name__ == 'Harness')\n"
        "time.sleep(1.6)\n"
        "harness.report({'status': 'ok', 'output': str(int(sys.stdin.read()) ** 2), 'error': '', 'seconds': 0.1})\n"
        "os._exit(0)\n"
    )
    result = await grade(fenced(forger), time_limit_s=0.3)  # allowed: 0.3 s plus the harness's grace
    assert result["reward"] == 0.0 and result["result"][0] == -3


async def test_function_tests_accept_a_function_or_a_solution_class() -> None:
    function = "def add(a, b):\n    return a + b"
    method = "class Solution:\n    def add(self, a, b):\n        return a + b"
    for code in (function, method):
        assert (await grade(fenced(code), ADD))["reward"] == 1.0
    # The prelude has `operator.add`; a solution that does not define `add` must not pass with it.
    missing = await grade(fenced("def plus(a, b):\n    return a + b"), ADD)
    assert missing["reward"] == 0.0 and "add" in missing["metadata"]["error"]


DEMO_BLOCKS = {
    "input": "if __name__ == '__main__':\n    a, b = map(int, input().split())\n    print(add(a, b))\n",
    "failing assert": 'if __name__ == "__main__":\n    assert add(1, 1) == 3, "a demo that is wrong"\n',
    "endless loop": "if __name__ == '__main__':\n    while True:\n        pass\n",
}


@pytest.mark.parametrize("block", DEMO_BLOCKS.values(), ids=DEMO_BLOCKS.keys())
async def test_a_demo_block_after_a_correct_function_does_not_run(block: str) -> None:
    # Issue 17: the harness ran function solutions as `__main__`, so a demo reading stdin, asserting or
    # looping made a correct function score 0; NeMo Gym's grader runs them as a module and passes them.
    result = await grade(fenced(f"def add(a, b):\n    return a + b\n\n\n{block}"), ADD, time_limit_s=1.0)
    assert result["reward"] == 1.0 and result["result"] == [True] * 3, result.get("metadata")
    # A program still runs as `__main__`, so its `main()` guard runs: test_prelude_names_and_input_idioms.


async def test_a_function_solution_runs_as_a_module_that_dataclasses_can_find() -> None:
    # `dataclasses` looks a class's module up in sys.modules (string annotations): the module is registered.
    code = (
        "from __future__ import annotations\nfrom dataclasses import dataclass, field\n\n\n"
        "@dataclass\nclass Total:\n    value: int\n    parts: list[int] = field(default_factory=list)\n\n\n"
        "def add(a, b):\n    return Total(a + b, [a, b]).value if __name__ != '__main__' else None\n"
    )
    assert (await grade(fenced(code), ADD))["reward"] == 1.0


async def test_function_returning_a_tuple_or_unserializable_value() -> None:
    pair = {"unit_tests": {"inputs": ["3"], "outputs": ["[3, 9]"], "fn_name": "f"}}
    assert (await grade(fenced("def f(x):\n    return x, x * x"), pair))["reward"] == 1.0
    assert (await grade(fenced("def f(x):\n    return {x, x * x}"), pair))["result"] == [-2]


async def test_prelude_names_and_input_idioms_work_as_in_nemo_gym() -> None:
    metadata = {"unit_tests": {"inputs": ["3\n1 2 3\n"], "outputs": ["6 3"], "fn_name": None}}
    for code in (
        "input()\nprint(sum(map(int, input().split())), max(Counter([3])))",  # Counter without an import
        "import sys\ndata = sys.stdin.buffer.read().split()\nprint(sum(map(int, data[1:])), 3)",
        "data = open(0).read().split()\nprint(sum(map(int, data[1:])), 3)",
        "def main():\n    input()\n    print(sum(map(int, input().split())), 3)\n\n"
        "if __name__ == '__main__':\n    main()",
        "input()\nprint(6, 3)\nexit()\nprint('never')",
    ):
        assert (await grade(fenced(code), metadata))["reward"] == 1.0, code


async def test_think_tags_in_the_answer_get_the_reasoning_format_penalty() -> None:
    answer = "<think>hmm</think>" + fenced(SQUARE_CODE)
    result = await grade(answer)
    assert result["reward"] == 0.0 and result["reasoning_format_violation_rate"] == 1.0 and result["tests_passed"] == 3
    assert (await grade(answer, reasoning_format_penalty=0.5))["reward"] == 0.5


async def test_a_nemo_gym_code_gen_row_works_unchanged() -> None:
    row = {
        "responses_create_params": {"input": [{"role": "user", "content": "Read n, print n squared."}]},
        "verifier_metadata": {"unit_tests": {"inputs": ["2\n", "5\n"], "outputs": ["4", "25"]}},
        "hash_id": "abc123",
        "dataset": "example",
        "source": "codeforces",
    }
    config = CodeConfig.model_validate(
        {"name": "code", "num_processes": 2, "unit_test_timeout_secs": 3, "debug": False}
    )
    assert (config.pool_size, config.time_limit_s) == (2, 3.0)
    async with http(CodeGen(config)) as client:
        reply = await client.post("/verify", json={**row, "response": make_response(fenced(SQUARE_CODE))})
    assert reply.json()["reward"] == 1.0 and reply.json()["hash_id"] == "abc123"


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({"unit_tests": {"inputs": ["1"], "outputs": []}}, "1 inputs but 0 outputs"),
        ({"unit_tests": {"inputs": [], "outputs": []}}, "no tests"),
        ({"unit_tests": {"inputs": ["1"], "outputs": ["{oops"], "fn_name": "f"}}, "not JSON"),
        ({"unit_tests": {"inputs": ["1"], "outputs": ["1"], "fn_name": "not a name"}}, "identifier"),
        ({}, "unit_tests"),
    ],
)
async def test_malformed_tests_are_refused_with_a_clear_422(metadata: dict[str, Any], message: str) -> None:
    async with http(env()) as client:
        reply = await client.post(
            "/verify", json={**make_row("x", verifier_metadata=metadata), "response": make_response("```\nx\n```")}
        )
    assert reply.status_code == 422 and message in reply.text


async def test_verify_needs_no_session_and_has_no_tools() -> None:
    async with client_for(env()) as client:
        assert await client.list_tools() == []
    assert (await grade(fenced(SQUARE_CODE)))["reward"] == 1.0  # graded above without seed_session


def test_unit_tests_model_accepts_livecodebench_shape() -> None:
    tests = UnitTests.model_validate({"inputs": ["1\n2"], "outputs": ["3"], "fn_name": "add"})
    assert tests.fn_name == "add"


# -- the dataset ---------------------------------------------------------------------------------


def test_the_generator_reproduces_the_dataset_byte_for_byte(import_file: Callable[[Path, str], ModuleType]) -> None:
    generator = import_file(ENV_DIR / "data" / "generate.py", "gymhall_code_generate")
    assert generator.render() == DATASET.read_bytes()


def test_dataset_shape() -> None:
    assert len(ROWS) >= 500 and len({row["id"] for row in ROWS}) == len(ROWS)
    kinds = {row["verifier_metadata"]["unit_tests"]["fn_name"] is None for row in ROWS}
    assert kinds == {True, False}  # both stdin/stdout programs and functions
    tiers = [row["difficulty"] for row in ROWS]
    assert {tier: tiers.count(tier) >= 100 for tier in ("easy", "medium", "hard")} == dict.fromkeys(tiers, True)
    assert sum("humaneval" in row["id"] for row in ROWS) >= 150
    for row in ROWS:
        assert "```python" in row["responses_create_params"]["input"][0]["content"]
        tests = row["verifier_metadata"]["unit_tests"]
        assert len(tests["inputs"]) >= 3 and len(set(tests["outputs"])) >= 2  # a constant answer cannot pass
        assert row["verifier_metadata"]["difficulty"] == row["difficulty"]  # echoed by verify
        assert row["reference_solution"]["tool_calls"] == []


async def test_a_humaneval_row_keeps_the_package_asserts_and_grades_a_typical_answer() -> None:
    # HumanEval/0's check() begins `assert candidate([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3) == True`.
    (row,) = [row for row in ROWS if "-humaneval0-has_close_elements" in row["id"]]
    tests = row["verifier_metadata"]["unit_tests"]
    assert (tests["fn_name"], tests["inputs"][0], tests["outputs"][0]) == (
        "has_close_elements",
        "[1.0, 2.0, 3.9, 4.0, 5.0, 2.2]\n0.3",
        "true",
    )
    assert "def has_close_elements(numbers: List[float], threshold: float) -> bool:" in prompt_text(row)
    typical = (
        "from typing import List\n\n\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:\n"
        "    ordered = sorted(numbers)\n    return any(b - a < threshold for a, b in zip(ordered, ordered[1:]))\n\n\n"
        "if __name__ == '__main__':\n    import doctest\n    doctest.testmod()\n"
    )
    wrong = typical.replace("b - a < threshold", "b - a <= threshold / 2")
    rewards = [r["reward"] for r in await _grade_rows([row, row], [fenced(typical), fenced(wrong)])]
    assert rewards == [1.0, 0.0]


async def _grade_rows(rows: list[dict[str, Any]], answers: list[str], time_limit: float = 10.0) -> list[dict[str, Any]]:
    async with client_for(CodeGen(CodeConfig(name="code", time_limit_s=time_limit))) as client:

        async def one(row: dict[str, Any], answer: str) -> dict[str, Any]:
            async with await client.seed_session(row) as session:
                return await session.verify(make_response(answer))

        return list(await asyncio.gather(*(one(row, answer) for row, answer in zip(rows, answers, strict=True))))


async def test_every_reference_solution_scores_one() -> None:
    results = await _grade_rows(ROWS, [row["reference_solution"]["answer"] for row in ROWS])
    failing = [(row["id"], r.get("metadata")) for row, r in zip(ROWS, results, strict=True) if r["reward"] != 1.0]
    assert failing == []


async def test_corrupted_reference_solutions_score_below_one() -> None:
    # A solution for another problem of the same kind: it runs, but gives the wrong answers. Another
    # tier of the same template can share the reference's code, so the swap takes a row half the
    # dataset away whose reference differs. A fixed sample (every 8th row): each is a sandboxed verify.
    swapped, sample = [], ROWS[::8]
    for row in sample:
        kind = row["verifier_metadata"]["unit_tests"]["fn_name"] is None
        index = ROWS.index(row) + len(ROWS) // 2
        other = next(
            r
            for r in ROWS[index:] + ROWS[:index]
            if (r["verifier_metadata"]["unit_tests"]["fn_name"] is None) == kind
            and extract_code(r["reference_solution"]["answer"]) != extract_code(row["reference_solution"]["answer"])
        )
        swapped.append(other["reference_solution"]["answer"])
    results = await _grade_rows(sample, swapped, time_limit=1.0)  # some wrong programs loop for long
    assert [row["id"] for row, r in zip(sample, results, strict=True) if r["reward"] >= 1.0] == []
    reversed_answers = await _grade_rows(ROWS[:5], [row["reference_solution"]["answer"][::-1] for row in ROWS[:5]])
    assert all(r["reward"] == 0.0 for r in reversed_answers)


# A fixed sample of rows (every k-th, about 24): each distinct probe answer is a sandboxed verify of
# ~100 ms, and the whole dataset's probes would take minutes on a shared two-core machine.
PROBE_SAMPLE = ROWS[:: max(1, len(ROWS) // 24)]


async def test_reward_probes_keep_their_rule_on_a_sample_of_rows() -> None:
    plays = [
        (row, probe, answer)
        for row in PROBE_SAMPLE
        for probe in probes_for(row, probes(row))
        for answer in [probe.solution(row["reference_solution"])["answer"]]
    ]
    assert {probe.name for _, probe, _ in plays} >= {"hidden answers looked up", "reference with a __main__ demo"}
    # The reward depends on the answer only through the code it extracts and its think tags (server.verify),
    # so answers alike in both (bold, padded, a trailing sentence) are verified once per row.
    keys = [(row["id"], extract_code(answer) or answer, "<think>" in answer) for row, _, answer in plays]
    distinct = {key: (row, answer) for key, (row, _, answer) in zip(keys, plays, strict=True)}
    results = await _grade_rows([row for row, _ in distinct.values()], [a for _, a in distinct.values()], 2.0)
    reward = {key: result["reward"] for key, result in zip(distinct, results, strict=True)}
    broken = [
        (row["id"], probe.name, reward[key])
        for (row, probe, _), key in zip(plays, keys, strict=True)
        if (reward[key] >= 1.0 if probe.expect == "below" else reward[key] != 1.0)
    ]
    assert broken == []


def test_config() -> None:
    config = load_config([CONFIG], env_file=None)
    (instance,) = config.of_kind("resources_servers")
    assert (instance.name, instance.implementation) == ("code_resources_server", "code")
    assert instance.settings["entrypoint"] == "gymhall.envs.code.server:CodeGen"
    assert instance.settings["domain"] == "coding"
    settings = instance.config_model(CodeConfig)
    assert (settings.pool_size, settings.time_limit_s, settings.reward_mode) == (4, 10.0, "all")


async def test_collect_with_replay_scores_one(tmp_path: Path) -> None:
    # A slice: every row's reference is graded in process above; this proves the served path end to end.
    options = CollectOptions(input=DATASET, output=tmp_path / "out.jsonl", configs=[str(CONFIG)], limit=12)
    stats = await run_collect(options)
    assert (stats.ok, stats.failed, stats.mean_reward) == (12, 0, 1.0)


# -- attacks (issue 11) ------------------------------------------------------------------------------

ISOLATIONS = [
    "audit-hook",
    pytest.param(
        "namespace",
        marks=pytest.mark.skipif(not namespaces_available(), reason="unshare --user --net --pid does not work here"),
    ),
]

# Finds the dataset from sys.executable, and the harness's job through the stack frames (or the heap),
# then prints the expected output of whatever test it is given: the reward hack of issue 11.
REWARD_HACK = """
import gc, json, os, sys
def dataset():
    for start in {os.path.dirname(sys.executable), os.path.dirname(os.path.realpath(sys.executable))}:
        path = start
        for _ in range(8):
            candidate = os.path.join(path, "gymhall", "envs", "code", "data", "code.jsonl")
            try:
                return [json.loads(line) for line in open(candidate)]
            except OSError:
                path = os.path.dirname(path)
    return []
def job():
    frame, found = sys._getframe(), []
    while frame:
        found += [v for v in frame.f_locals.values() if isinstance(getattr(v, "job", None), dict)]
        frame = frame.f_back
    found += [o for o in gc.get_objects() if isinstance(o, dict) and "inputs" in o and "token" in o]
    return next((getattr(o, "job", o) for o in found), None)
text = sys.stdin.read()
rows = dataset()
current = job()
for row in rows:
    tests = row["verifier_metadata"]["unit_tests"]
    if current is not None and current["inputs"] == tests["inputs"]:
        answers = tests["outputs"][tests["inputs"].index(text)] if text in tests["inputs"] else None
        print(answers if answers is not None else tests["outputs"][0])
        break
    if text in tests["inputs"]:
        print(tests["outputs"][tests["inputs"].index(text)])
        break
"""


@pytest.mark.parametrize("isolation", ISOLATIONS)
async def test_a_solution_cannot_read_the_dataset_or_the_harness_job(isolation: str) -> None:
    rows = [row for row in ROWS if row["verifier_metadata"]["unit_tests"]["fn_name"] is None][:3]
    for row in rows:
        result = await grade(fenced(REWARD_HACK), row["verifier_metadata"], isolation=isolation)
        assert result["reward"] == 0.0, (row["id"], result.get("metadata"))


@pytest.mark.parametrize("isolation", ISOLATIONS)
async def test_a_solution_sees_only_its_own_test_input(isolation: str) -> None:
    secrets = [f"hidden-{i}-{uuid.uuid4().hex}\n" for i in range(3)]
    peek = (
        "import gc, sys\n"
        "mine, found = sys.stdin.read().strip(), set()\n"
        "for o in gc.get_objects():\n"
        "    items = o if isinstance(o, (list, tuple)) else o.values() if isinstance(o, dict) else ()\n"
        "    found.update(x.strip() for x in items if isinstance(x, str) and x.startswith('hidden-') and len(x) > 9)\n"
        "print(len(found - {mine}))\n"
    )
    metadata = {"unit_tests": {"inputs": secrets, "outputs": ["0"] * 3, "fn_name": None}}
    result = await grade(fenced(peek), metadata, isolation=isolation)
    assert result["reward"] == 1.0, result.get("metadata")


@pytest.mark.parametrize("isolation", ISOLATIONS)
async def test_catching_the_alarm_and_sleeping_holds_the_slot_for_one_test_only(isolation: str) -> None:
    sleeper = (
        "import signal, time\n"
        "signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
        "signal.setitimer(signal.ITIMER_REAL, 0)\n"
        "time.sleep(60)\n"
    )
    metadata = {"unit_tests": {"inputs": ["1\n"] * 4, "outputs": ["1"] * 4, "fn_name": None}}
    started = time.monotonic()
    result = await grade(fenced(sleeper), metadata, time_limit_s=0.5, isolation=isolation)
    assert result["reward"] == 0.0 and result["result"] == [-3]
    assert time.monotonic() - started < 3.0  # was 0.5 x (4 + 1) + 5 s: the whole run's wall timeout
