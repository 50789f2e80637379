"""gymhall.checks.probes: the generic probes of a row, an environment's own merged in, and the probe check."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest

from gymhall import BaseVerifyRequest, ConfigError, Environment, Probe, tool
from gymhall.checks.conformance import check_environment
from gymhall.checks.probes import (
    GENERIC_PROBES,
    REFUSAL,
    generic_probes,
    load_probe_function,
    probes_for,
    prompt_text,
)
from gymhall.testing import client_for

BOXED_ROW = {
    "responses_create_params": {
        "input": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "input_text", "text": "Compute $39 \\times 33 - 512$."}]},
        ]
    },
    "question": "Compute $39 \\times 33 - 512$.",
    "expected_answer": "775",
    "reference_solution": {"tool_calls": [], "answer": "So $\\boxed{775}$."},
}


def by_name(probes: list[Probe]) -> dict[str, Probe]:
    return {probe.name: probe for probe in probes}


def test_the_prompt_is_the_last_user_message_in_any_input_shape() -> None:
    assert prompt_text(BOXED_ROW) == "Compute $39 \\times 33 - 512$."
    assert prompt_text({"responses_create_params": {"input": "Say hi."}}) == "Say hi."
    assert prompt_text({"responses_create_params": {"input": [{"role": "user", "content": "a"}]}}) == "a"
    assert prompt_text({}) == ""


def test_a_boxed_reference_gets_the_question_boxed_and_no_tool_probe() -> None:
    probes = by_name(generic_probes(BOXED_ROW))
    assert probes["question echoed in the answer format"].answer == "So $\\boxed{39 \\times 33 - 512}$."
    assert "tool calls dropped" not in probes  # the reference makes none
    assert probes["refusal"].answer == REFUSAL and probes["empty answer"].answer == ""
    assert probes["reference in bold"].answer == "**So $\\boxed{775}$.**"
    assert probes["reference with a trailing sentence"].answer.startswith("So $\\boxed{775}$.\n\n")
    assert [p.expect for p in generic_probes(BOXED_ROW)] == ["below"] * 4 + ["same"] * 4
    assert set(probes) <= set(GENERIC_PROBES)


def test_hacks_do_no_work_and_variants_keep_the_reference_calls() -> None:
    calls = [{"name": "add", "arguments": {"by": 2}}]
    row = {"responses_create_params": {"input": "Add two."}, "reference_solution": {"tool_calls": calls, "answer": "4"}}
    probes = by_name(generic_probes(row))
    assert "question echoed in the answer format" not in probes  # nothing boxed to echo into
    for name in ("prompt echoed", "empty answer", "refusal", "tool calls dropped"):
        assert probes[name].solution(row["reference_solution"])["tool_calls"] == []
    assert probes["tool calls dropped"].solution(row["reference_solution"])["answer"] == "4"
    assert probes["reference in bold"].solution(row["reference_solution"]) == {"tool_calls": calls, "answer": "**4**"}


def test_a_row_without_a_reference_has_no_probes_and_an_empty_answer_no_variants() -> None:
    assert generic_probes({"responses_create_params": {"input": "x"}}) == []
    names = by_name(generic_probes({"responses_create_params": {"input": "x"}, "reference_solution": {"answer": ""}}))
    assert not any(name.startswith("reference") for name in names)


def test_an_environment_s_own_probe_replaces_the_generic_one_of_its_name_and_ignored_drops_it() -> None:
    own = [
        Probe("reference in bold", answer="**775**", expect="below"),
        Probe("reference in a fenced block", expect="ignored"),
        Probe("every option listed", answer="A B C D"),
    ]
    merged = by_name(probes_for(BOXED_ROW, own))
    assert merged["reference in bold"].expect == "below"
    assert "reference in a fenced block" not in merged
    assert list(merged)[-1] == "every option listed"
    assert len(merged) == len(generic_probes(BOXED_ROW)) - 1 + 1


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("no_colon", "is not module:function"),
        ("gymhall_no_such_module:probes", "cannot import 'gymhall_no_such_module'"),
        ("gymhall.checks.probes:no_such_function", "has no function 'no_such_function'"),
    ],
)
def test_a_bad_probe_function_name_is_a_config_error_with_the_fix(spec: str, problem: str) -> None:
    with pytest.raises(ConfigError, match="Fix:") as caught:
        load_probe_function(spec)
    assert problem in str(caught.value)


def test_a_probe_function_is_loaded_by_name() -> None:
    assert load_probe_function("gymhall.checks.probes:generic_probes") is generic_probes


class Answer(BaseVerifyRequest):
    expected_answer: str


class LastNumber(Environment):
    """Pays when the last number said is the expected one: bold or a closing sentence keep the score."""

    async def verify(self, state: None, body: Answer) -> float:
        numbers = re.findall(r"-?\d+", body.response.output_text)
        return float(bool(numbers) and numbers[-1] == body.expected_answer)


class AnyNumber(LastNumber):
    """Pays when the expected number appears anywhere: listing every number is a hack it pays for."""

    async def verify(self, state: None, body: Answer) -> float:
        return float(body.expected_answer in re.findall(r"-?\d+", body.response.output_text))


class ExactText(LastNumber):
    """Pays only for the bare answer: any harmless variant loses its score."""

    async def verify(self, state: None, body: Answer) -> float:
        return float(body.response.output_text == body.expected_answer)


def quiz_rows(count: int = 3) -> list[dict[str, Any]]:
    return [
        {
            "responses_create_params": {"input": "What is six times seven, plus the row number?"},
            "expected_answer": str(42 + i),
            "reference_solution": {"tool_calls": [], "answer": str(42 + i)},
        }
        for i in range(count)
    ]


def every_number(row: Mapping[str, Any]) -> list[Probe]:
    return [Probe("every number listed", answer=" ".join(str(n) for n in range(100)))]


async def probe_result(env: Environment, own: Any = None) -> Any:
    async with client_for(env) as client:
        results = await check_environment(client, quiz_rows(), probes=own)
    return next(r for r in results if r.name == "reward probes")


async def test_a_sound_environment_passes_the_probes_with_a_line_per_probe() -> None:
    result = await probe_result(LastNumber(), every_number)
    assert result.passed, result.reason
    assert len(result.details) == 8  # 3 generic hacks (no boxed answer, no tools), 4 variants, 1 of its own
    assert "hack 'every number listed': paid on 0 of 3 rows" in result.details


async def test_a_hack_the_environment_pays_for_fails_the_check_naming_the_probe_and_rows() -> None:
    result = await probe_result(AnyNumber(), every_number)
    assert not result.passed
    assert "'every number listed' on 3" in result.reason and "gymhall.Probe" in result.fix
    assert "hack 'every number listed': paid on 3 of 3 rows (rows 0, 1, 2)" in result.details
    # Without the environment's probe, the generic ones find nothing wrong with it.
    assert (await probe_result(AnyNumber())).passed


async def test_a_variant_that_loses_its_score_fails_the_check() -> None:
    result = await probe_result(ExactText())
    assert not result.passed
    assert "variant 'reference in bold': lost its score on 3 of 3 rows (rows 0, 1, 2)" in result.details
    assert (
        "variant 'reference with a trailing sentence': lost its score on 3 of 3 rows (rows 0, 1, 2)" in result.details
    )


class BrokenTool(LastNumber):
    @tool
    async def lookup(self, state: None, key: str) -> str:
        """Look `key` up (it always fails: the server answers 500)."""
        raise RuntimeError("the lookup table is gone")


async def test_a_probe_whose_rollout_fails_breaks_its_rule_and_says_why() -> None:
    def calls_the_broken_tool(row: Mapping[str, Any]) -> list[Probe]:
        return [Probe("calls the broken tool", tool_calls=[{"name": "lookup", "arguments": {"key": "x"}}])]

    result = await probe_result(BrokenTool(), calls_the_broken_tool)
    line = next(line for line in result.details if "broken tool" in line)
    assert not result.passed and "paid on 3 of 3 rows" in line and "first error: row " in line


async def test_a_probe_that_is_a_hack_on_some_rows_and_a_variant_on_others_is_tallied_as_each() -> None:
    def bold_is_forbidden_on_even_rows(row: Mapping[str, Any]) -> list[Probe]:
        if int(row["expected_answer"]) % 2:
            return []
        return [Probe("reference in bold", answer=f"**{row['expected_answer']}**", expect="below")]

    result = await probe_result(LastNumber(), bold_is_forbidden_on_even_rows)
    assert "variant 'reference in bold': lost its score on 0 of 1 rows" in result.details  # row 1 (43)
    assert "hack 'reference in bold': paid on 2 of 2 rows (rows 0, 2)" in result.details  # 42 and 44 pay
