"""gymhall/envs/mcqa: NeMo Gym's grading modes on rows in its shape, the dataset, and a replay collection."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from typer.testing import CliRunner

from gymhall import Probe, ServerError, load_config
from gymhall.checks.probes import probes_for
from gymhall.cli.main import app
from gymhall.envs.mcqa.grading import GradingMode, grade
from gymhall.envs.mcqa.probes import in_format, probes
from gymhall.envs.mcqa.server import MCQA, MCQAConfig
from gymhall.testing import client_for, function_call, function_call_output, make_response

ENV = Path(__file__).resolve().parents[2] / "gymhall" / "envs" / "mcqa"
DATASET = ENV / "data" / "mcqa.jsonl"
CONFIG = ENV / "configs" / "mcqa.yaml"
ROWS = [json.loads(line) for line in DATASET.read_text(encoding="utf-8").splitlines()]
OPTIONS = [{"A": "Triangle"}, {"B": "Square"}, {"C": "Pentagon"}, {"D": "Hexagon"}]
NEMO_ROW_MODES = {"strict_single_letter_boxed", "lenient_boxed", "lenient_answer_colon"}


def nemo_row(expected: str = "C", **fields: Any) -> dict[str, Any]:
    """A row in NeMo Gym's mcqa shape: which shape has five sides?"""
    prompt = "Which shape has five sides?\nA: Triangle\nB: Square\nC: Pentagon\nD: Hexagon"
    row: dict[str, Any] = {
        "responses_create_params": {"input": [{"role": "user", "content": prompt}]},
        "options": OPTIONS,
        "expected_answer": expected,
        "uuid": "0b7e6f4e-shape-5",
    }
    return {**row, **fields}


async def verify(row: dict[str, Any], response: dict[str, Any] | str, config: MCQAConfig | None = None) -> Any:
    body = {**row, "response": make_response(response) if isinstance(response, str) else response}
    async with client_for(MCQA(config)) as client:
        return await client.verify(body)


# (answer text, letter read from it) per grading mode, as NeMo Gym reads it except where marked gymhall;
# the row expects C.
CASES: dict[str, list[tuple[str, str | None]]] = {
    "strict_single_letter_boxed": [
        (r"\boxed{C}", "C"),
        (r"Final: \boxed{ [C] }", "C"),
        (r"\boxed{(C)}", "C"),
        (r"\boxed{\text{C}}", "C"),
        (r"\boxed{\text{C: Pentagon}}", "C"),
        (r"\boxed{C) Pentagon}", "C"),
        (r"\boxed{C. Pentagon}", "C"),
        (r"first \boxed{A}, on reflection \boxed{C}", None),  # two different boxed letters are a hedge (gymhall)
        (r"\boxed{C} since the rest are wrong, so \boxed{C}", "C"),  # boxes that agree
        (r"\boxed{A}\n\boxed{B}\n\boxed{C}\n\boxed{D}", None),  # every letter in turn (gymhall)
        (r"\boxed{A: Triangle; B: Square; C: Pentagon; D: Hexagon}", None),  # every option labelled (gymhall)
        (r"\boxed{(C) Pentagon}", "C"),  # a bracketed label (gymhall)
        (r"\boxed{\text{an idea}} and then \boxed{C}", "C"),
        (r"\boxed{B}", "B"),
        (r"\boxed{c}", None),  # capitals only
        (r"\boxed{Pentagon}", None),  # option text is lenient_boxed's job
        (r"\boxed{C", None),  # unclosed
        (r"\boxed{E}", None),  # not an offered letter
        ("The answer is C.", None),
        ("Answer: C", None),
    ],
    "lenient_boxed": [
        (r"\boxed{C}", "C"),
        (r"\boxed{pentagon}", "C"),
        (r"\boxed{  The   PENTAGON  }", "C"),
        (r"\boxed{\text{Pentagon}}", "C"),
        (r"\boxed{Pentagon or Hexagon}", None),  # two options' texts
        (r"\boxed{Pentagon} \boxed{nothing}", "C"),  # every box is read; one that names nothing is ignored (gymhall)
        (r"\boxed{The pentagon, since it has five sides}", None),  # the box must be the option's text (gymhall)
        (r"\boxed{Triangle, Square, Pentagon, Hexagon}", None),
        ("Pentagon", None),
    ],
    "lenient_answer_colon": [
        ("Answer: C", "C"),
        ("answer:c", "C"),
        ("Reasoning...\nFinal Answer:\n  C", "C"),
        ("Answer: pentagon", "C"),
        (r"Answer: \text{C}", "C"),
        ("Answer: A\nAnswer: C", None),  # Answer: lines that disagree are a hedge (gymhall)
        ("Answer: C\nAnswer: C", "C"),
        ("Answer: C.", "C"),  # gymhall reads these as a human would; NeMo Gym reads no letter
        ("Answer: C because it has five sides", "C"),
        ("**Answer: C**", "C"),
        ("**Answer:** C", "C"),
        ("Answer: (C) Pentagon", "C"),
        ("Answer: C because A and B are wrong", None),  # names three letters
        ("Answer: A, B, C, D", None),
        ("Answer: A or C", None),
        ("Answer: the pentagon", "C"),
        ("Answer: E", None),
        ("The answer is C", None),
    ],
    "lenient_answer_colon_md": [
        ("**Answer: C**", "C"),
        ("__Answer__: C", "C"),
        ("**Answer:** C", "C"),
        ("Answer: C because it has five sides", "C"),
        ("Answer: C because A and B are wrong", None),  # "A and B" reads as a list of choices
        ("Answer: (C)", "C"),
        ("Answer: $C$", "C"),
        ("Answer: C/C", "C"),
        ("Answer: the Pentagon, C", "C"),  # the last standalone capital
        ("Answer: A\nAnswer: C", None),  # Answer: lines that disagree are a hedge (gymhall)
        ("Answer: C\nAnswer: unknown", "C"),
        ("Answer: C\nAnswer: A/B", None),
        ("Answer: Ｃ", "C"),  # full-width letters are read
        ("Answer: A/C", None),  # a list of choices is no answer
        ("Answer: A or C", None),
        ("Answer: A, C", None),
        ("Answer: E", None),
        ("I think it is C", None),
    ],
}


@pytest.mark.parametrize(
    ("mode", "text", "letter"),
    [(mode, text, letter) for mode, cases in CASES.items() for text, letter in cases],
)
async def test_grading_modes_read_the_letter(mode: str, text: str, letter: str | None) -> None:
    # The md mode is NeMo Gym's config-only mode, so it is set the way NeMo Gym sets it.
    config = MCQAConfig(name="mcqa", grading_mode="lenient_answer_colon_md") if mode.endswith("_md") else None
    row = nemo_row(grading_mode=mode) if config is None else nemo_row()
    verified = await verify(row, text, config)
    assert verified["extracted_answer"] == letter
    assert verified["reward"] == (1.0 if letter == "C" else 0.0)
    assert verified["expected_answer"] == "C"


@pytest.mark.parametrize(
    ("template", "text", "letter"),
    [
        ({"output_regex": r"Final choice:\s*([A-Za-z])"}, "Final choice: c", "C"),
        ({"output_regex": r"Final choice:\s*([A-Za-z])"}, "Final choice: A. No wait. Final choice: C", None),  # hedge
        ({"output_regex": r"Final choice:\s*([A-Za-z])"}, "Final choice: C\nso: Final choice: C", "C"),
        ({"output_regex": r"Final choice:\s*([A-Za-z])"}, "Final choice: A, B, C, D", None),  # every letter
        ({"output_regex": r"Final choice:\s*([A-Za-z])"}, "Final choice: A, B, C, D\n\boxed{C}", None),
        ({"output_regex": r"Final choice:\s*([A-Za-z])"}, "Final choice: C (Pentagon)", "C"),
        ({"output_regex": r"Final choice:\s*([A-Za-z])"}, "Final choice: F", "F"),  # the row's regex is trusted
        ({"output_regex": r"Final choice:\s*(\w+)"}, "Final choice: pentagon", "C"),  # or names an option
        ({"output_regex": r"Final choice:\s*([A-Za-z])"}, "No choice, but \\boxed{C}", "C"),  # falls back to the mode
        ({"output_regex": r"(["}, r"\boxed{C}", "C"),  # an invalid regex captures nothing
        ({"output_regex": [r"Antwort:\s*([A-Z])", r"Answer:\s*([A-Z])"]}, "Answer: C", "C"),
        ({"output_regex": r"الإجابة:\s*(\S+)"}, "الإجابة: ج", "C"),  # Arabic letters read as A-D
        ({"output_regex": r"Final choice:\s*([A-Za-z])", "template_id": "x"}, "Final choice: B", "B"),
        ({"template_id": "no regex"}, r"\boxed{C}", "C"),
    ],
)
async def test_template_regex_is_tried_before_the_grading_mode(
    template: dict[str, Any], text: str, letter: str | None
) -> None:
    verified = await verify(nemo_row(grading_mode="strict_single_letter_boxed", template_metadata=template), text)
    assert verified["extracted_answer"] == letter
    assert verified["reward"] == (1.0 if letter == "C" else 0.0)


async def test_a_template_regex_captures_a_letter_even_without_options() -> None:
    row = nemo_row(options=None, template_metadata={"output_regex": r"Selected:\s*([A-Z])"})
    assert (await verify(row, "Selected: C"))["reward"] == 1.0
    assert (await verify(nemo_row(options=None), r"\boxed{C}"))["reward"] == 0.0  # no options, no letters


async def test_config_grading_mode_overrides_the_rows() -> None:
    row = nemo_row(grading_mode="strict_single_letter_boxed")
    assert (await verify(row, "Answer: C"))["reward"] == 0.0
    config = MCQAConfig(name="mcqa", grading_mode="lenient_answer_colon")
    assert (await verify(row, "Answer: C", config))["reward"] == 1.0


async def test_default_grading_mode_applies_to_rows_naming_none() -> None:
    assert (await verify(nemo_row(), r"\boxed{C}"))["reward"] == 1.0  # NeMo Gym's row default: strict
    config = MCQAConfig(name="mcqa", default_grading_mode="lenient_answer_colon")
    assert (await verify(nemo_row(), "Answer: C", config))["reward"] == 1.0
    assert (await verify(nemo_row(grading_mode="lenient_boxed"), "Answer: C", config))["reward"] == 0.0


@pytest.mark.parametrize("text", ["", "   \n"])
async def test_an_empty_answer_scores_zero(text: str) -> None:
    verified = await verify(nemo_row(template_metadata={"output_regex": r"(.*)"}), text)
    assert verified["reward"] == 0.0 and verified["extracted_answer"] is None


async def test_expected_answer_is_normalised_and_the_row_echoed() -> None:
    verified = await verify(nemo_row(expected=" c ", metadata={"source": "test"}), r"\boxed{C}")
    assert verified["reward"] == 1.0
    assert verified["expected_answer"] == "C"
    assert verified["uuid"] == "0b7e6f4e-shape-5" and verified["metadata"] == {"source": "test"}
    assert (await verify(nemo_row(expected=""), r"\boxed{C}"))["reward"] == 0.0


async def test_null_options_offer_no_letter() -> None:
    options = [{"A": "Triangle"}, {"B": None}, {"C": "Pentagon"}]
    assert (await verify(nemo_row(options=options), r"\boxed{B}"))["extracted_answer"] is None
    row = nemo_row(options=options, grading_mode="lenient_answer_colon")
    assert (await verify(row, "Answer: Pentagon"))["extracted_answer"] == "C"


async def test_all_assistant_messages_are_graded_together() -> None:
    # NeMo Gym grades `response.output_text`: every assistant message's text, joined.
    first = {**make_response(r"I think \boxed{C}.")["output"][0], "id": "msg_0"}
    calls = [function_call("lookup", {"q": "pentagon"}, "c1"), function_call_output("c1", "five sides")]
    response = make_response("Confirmed: five sides.", output=[first, *calls])
    verified = await verify(nemo_row(), response)
    assert verified["reward"] == 1.0 and verified["extracted_answer"] == "C"
    # A letter in one message and another in the next disagree: a hedge (gymhall; NeMo Gym reads the last).
    changed = make_response(r"No: \boxed{A}", output=[first, *calls])
    assert (await verify(nemo_row(), changed))["extracted_answer"] is None


@pytest.mark.parametrize(
    ("text", "template", "threaded"),
    [
        (r"\boxed{C}", None, False),
        ("Let me think. " * 2000 + r"\boxed{C}", None, True),  # long answers
        ("Final choice: C", {"output_regex": r"Final choice:\s*([A-Z])"}, True),  # the row's own regex
    ],
)
async def test_costly_grading_runs_in_a_worker_thread(
    monkeypatch: pytest.MonkeyPatch, text: str, template: dict[str, Any] | None, threaded: bool
) -> None:
    offloaded: list[object] = []

    async def to_thread(function: Any) -> Any:
        offloaded.append(function)
        return function()

    monkeypatch.setattr("gymhall.envs.mcqa.server.asyncio.to_thread", to_thread)
    assert (await verify(nemo_row(template_metadata=template), text))["reward"] == 1.0
    assert bool(offloaded) is threaded


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"grading_mode": "loose"}, "grading_mode"),
        ({"options": {"A": "Triangle"}}, "options"),
        ({"expected_answer": 3}, "expected_answer"),
        ({"template_metadata": "Answer: (.)"}, "template_metadata"),
    ],
)
async def test_malformed_rows_are_refused(fields: dict[str, Any], problem: str) -> None:
    with pytest.raises(ServerError, match="422") as refused:
        await verify(nemo_row(**fields), r"\boxed{C}")
    assert problem in str(refused.value)


async def test_verify_needs_no_session_and_is_repeatable() -> None:
    body = {**nemo_row(), "response": make_response(r"\boxed{C}")}
    async with client_for(MCQA()) as client:
        assert await client.list_tools() == []
        rewards = [(await client.verify(body))["reward"] for _ in range(3)]
        async with await client.seed_session(nemo_row()) as session:
            rewards.append((await session.verify(make_response(r"\boxed{C}")))["reward"])
    assert rewards == [1.0] * 4


@pytest.mark.parametrize(
    ("mode", "text"),
    [
        # A "last standalone capital" look-ahead search is quadratic here (about a minute).
        ("lenient_answer_colon_md", "Answer: 1 " + "X " * 50_000 + "y" * 50_000),
        # A lazy \text{...} regex backtracks in cubic time on runs of spaces (hours).
        ("lenient_boxed", "\\boxed{\\text{" + " " * 50_000 + "}" + " " * 50_000 + "x}"),
        ("lenient_answer_colon", "Answer: \\text{" + " " * 50_000 + "x"),
        ("lenient_boxed", "\\boxed{" + "\\text{" * 20_000 + "}" * 20_001),
        ("lenient_boxed", "\\boxed{" * 100_000),
    ],
)
def test_grading_takes_linear_time_on_adversarial_answers(mode: GradingMode, text: str) -> None:
    started = time.monotonic()
    assert grade(text, expected_answer="C", options=OPTIONS, mode=mode).extracted_answer is None
    assert time.monotonic() - started < 5.0


def test_the_dataset_is_what_the_generator_writes(import_file: Callable[[Path, str], ModuleType]) -> None:
    generator = import_file(ENV / "data" / "generate.py", "gymhall_mcqa_generate")
    assert generator.render(generator.build_rows()) == DATASET.read_bytes()


def test_the_dataset_rows_have_nemo_gyms_shape() -> None:
    assert len(ROWS) >= 50
    for row in ROWS:
        letters = [next(iter(option)) for option in row["options"]]
        texts = [next(iter(option.values())) for option in row["options"]]
        assert letters == list("ABCDE"[: len(letters)]) and all(len(option) == 1 for option in row["options"])
        assert row["expected_answer"] in letters
        assert row["grading_mode"] in NEMO_ROW_MODES  # modes NeMo Gym accepts in a row
        prompt = row["responses_create_params"]["input"][0]["content"]
        assert all(f"\n{letter}: {text}\n" in prompt + "\n" for letter, text in zip(letters, texts, strict=True))
        # No option's text contains another's, so a boxed option text names one option.
        assert not any(a != b and a.lower() in b.lower() for a in texts for b in texts)
        assert row["reference_solution"]["tool_calls"] == []
    assert {row["grading_mode"] for row in ROWS} == NEMO_ROW_MODES
    assert sum("template_metadata" in row for row in ROWS) >= 100
    assert len({row["uuid"] for row in ROWS}) == len(ROWS) >= 500
    tiers = Counter(row["difficulty"] for row in ROWS)
    assert set(tiers) == {"easy", "medium", "hard"} and min(tiers.values()) >= 150
    assert len({row["metadata"]["kind"] for row in ROWS}) >= 12
    # The examples in the instructions never name an offered letter, so an echoed prompt answers nothing.
    assert not any("\\boxed{A}" in row["responses_create_params"]["input"][0]["content"] for row in ROWS)


def test_hand_written_rows_are_appended(import_file: Callable[[Path, str], ModuleType], tmp_path: Path) -> None:
    generator = import_file(ENV / "data" / "generate.py", "gymhall_mcqa_generate_extra")
    generated = generator.build_rows()
    mine = {**nemo_row(grading_mode="strict_single_letter_boxed"), "difficulty": "easy"}
    generator.EXTRA = tmp_path / "extra.jsonl"
    generator.EXTRA.write_text(json.dumps(mine) + "\n", encoding="utf-8")
    assert generator.build_rows() == [*generated, mine]


async def test_every_reference_solution_scores_one_and_its_corruptions_do_not() -> None:
    async with client_for(MCQA()) as client:
        for row in ROWS:
            answer = row["reference_solution"]["answer"]
            rewards = []
            for text in (answer, answer[::-1], ""):
                async with await client.seed_session(row) as session:
                    rewards.append((await session.verify(make_response(text)))["reward"])
            assert rewards == [1.0, 0.0, 0.0], row["uuid"]


async def test_every_probe_keeps_its_rule_on_every_row() -> None:
    # What `gymhall check` plays: each hack scores below the reference, each variant what it scores.
    plays = [(row, None) for row in ROWS] + [(row, p) for row in ROWS for p in probes_for(row, probes(row))]

    async def score(client: Any, row: dict[str, Any], probe: Probe | None) -> float:
        answer = (probe.solution(row["reference_solution"]) if probe else row["reference_solution"])["answer"]
        return float((await client.verify({**row, "response": make_response(answer)}))["reward"])

    async with client_for(MCQA()) as client:
        rewards = await asyncio.gather(*(score(client, row, probe) for row, probe in plays))
    assert all(reward == 1.0 for (_, probe), reward in zip(plays, rewards, strict=True) if probe is None)
    broken = [
        f"{probe.name} ({probe.expect}) scored {reward} on {row['uuid']}: {probe.answer!r}"
        for (row, probe), reward in zip(plays, rewards, strict=True)
        if probe is not None and (reward >= 1.0 if probe.expect == "below" else reward != 1.0)
    ]
    assert broken == []
    names = {probe.name for _, probe in plays if probe is not None}
    assert {"every option letter listed", "answer line repeated for every letter, right one last"} <= names


async def test_a_constant_letter_scores_chance() -> None:
    # The right letters are spread over the positions, so always answering one letter scores about
    # 1/k (k options), not more: before, always "A" scored 30 %.
    chance = sum(1 / len(row["options"]) for row in ROWS) / len(ROWS)
    async with client_for(MCQA()) as client:
        for letter in "ABCDE":
            answers = [f"The answer is {letter}.\n{in_format(row, letter)}" for row in ROWS]
            verified = await asyncio.gather(
                *(client.verify({**row, "response": make_response(a)}) for row, a in zip(ROWS, answers, strict=True))
            )
            mean = sum(v["reward"] for v in verified) / len(ROWS)
            offered = sum(1 / len(row["options"]) for row in ROWS if len(row["options"]) > "ABCDE".index(letter))
            assert abs(mean - offered / len(ROWS)) <= 0.02, (letter, mean)
            assert mean <= chance + 0.02, (letter, mean)


def test_config() -> None:
    config = load_config([CONFIG], env_file=None)
    (instance,) = config.of_kind("resources_servers")
    assert instance.implementation == "mcqa" and instance.settings["domain"] == "knowledge"
    settings = instance.config_model(MCQAConfig)
    assert settings.grading_mode is None and settings.default_grading_mode == "strict_single_letter_boxed"
    assert instance.settings["probes"] == "gymhall.envs.mcqa.probes:probes"


def test_collect_with_replay_through_the_cli(tmp_path: Path) -> None:
    output = tmp_path / "mcqa.jsonl"
    result = CliRunner().invoke(app, ["collect", "-i", str(DATASET), "-o", str(output), "-c", str(CONFIG)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == len(ROWS)
    assert all(line["status"] == "ok" and line["reward"] == 1.0 for line in lines)
    assert {line["extracted_answer"] for line in lines} <= set("ABCDE")
