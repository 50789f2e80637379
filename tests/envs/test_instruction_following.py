"""gymhall/envs/instruction_following: rows in NeMo Gym's shape, the dataset, both configs (checkers: *_checkers.py)."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from collections.abc import Callable
from itertools import combinations
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from gymhall import ServerError, get_env, load_config
from gymhall.checks.probes import probes_for
from gymhall.collection.runs import CollectOptions, run_collect
from gymhall.envs.instruction_following.conflicts import (
    CONFLICTS,
    CONSTRAINED_FRIENDLY,
    JSON_FRIENDLY,
    TWO_RESPONSES_FRIENDLY,
    conflicts_of,
    may_combine,
)
from gymhall.envs.instruction_following.instructions import build_instruction
from gymhall.envs.instruction_following.probes import probes
from gymhall.envs.instruction_following.server import (
    InstructionFollowing,
    InstructionFollowingConfig,
    component_names,
)
from gymhall.testing import client_for, function_call, make_response, make_row

ENV = Path(__file__).resolve().parents[2] / "gymhall" / "envs" / "instruction_following"
DATASET = ENV / "data" / "instruction_following.jsonl"
CONFIG = ENV / "configs" / "instruction_following.yaml"
COMPONENTS_CONFIG = ENV / "configs" / "instruction_following_components.yaml"
ROWS = [json.loads(line) for line in DATASET.read_text(encoding="utf-8").splitlines()]

STRICT = InstructionFollowingConfig(name="instruction_following")
LOOSE = InstructionFollowingConfig(name="instruction_following", evaluation="loose")
COMPONENTS = InstructionFollowingConfig(name="instruction_following_components", reward_components=True)


def nemo_row(ids: list[str], kwargs: list[Any], *, legacy: bool = False, mode: str | None = None) -> dict[str, Any]:
    """A row in NeMo Gym's instruction_following shape: `verifier_metadata`, or the legacy top-level fields."""
    prompt = "Tell me about otters.\n\nYour response should comply with these constraints:\n1. ..."
    fields: dict[str, Any] = {"instruction_id_list": ids, "prompt": prompt, "kwargs": kwargs}
    if mode is not None:
        fields["grading_mode"] = mode
    row = make_row([{"role": "user", "content": prompt}], id=4242)
    return {**row, **fields} if legacy else {**row, "verifier_metadata": fields}


async def verify(
    row: dict[str, Any], response: dict[str, Any] | str, config: InstructionFollowingConfig = STRICT
) -> Any:
    body = {**row, "response": make_response(response) if isinstance(response, str) else response}
    async with client_for(InstructionFollowing(config)) as client:
        return await client.verify(body)


# --- verify on rows in NeMo Gym's shape -------------------------------------------------------------

TITLE_WORDS_PARAGRAPHS = (
    ["paragraphs:paragraphs", "detectable_format:title", "length_constraints:number_words"],
    [{}, None, {"num_words": 40, "relation": "less than"}],
)
GOOD_ANSWER = "<<Otters>>\n\nOtters hold hands while they sleep.\n\n***\nThey also juggle small stones."


@pytest.mark.parametrize("legacy", [False, True], ids=["verifier_metadata", "top-level"])
async def test_a_nemo_gym_row_gets_nemo_gyms_fields(legacy: bool) -> None:
    row = nemo_row(*TITLE_WORDS_PARAGRAPHS, legacy=legacy)
    result = await verify(row, GOOD_ANSWER)
    assert result["reward"] == 1.0
    assert result["follow_all_instructions"] is True
    assert result["follow_instruction_list"] == [True, True, True]
    assert result["verifier_metadata"]["instruction_id_list"] == TITLE_WORDS_PARAGRAPHS[0]
    assert result["id"] == 4242  # the row is echoed


@pytest.mark.parametrize(
    ("mode", "reward"), [(None, 0.0), ("binary", 0.0), ("fraction", 2 / 3)], ids=["default", "binary", "fraction"]
)
async def test_grading_mode_combines_the_instructions(mode: str | None, reward: float) -> None:
    row = nemo_row(*TITLE_WORDS_PARAGRAPHS, mode=mode)
    result = await verify(row, GOOD_ANSWER.replace("<<Otters>>", "Otters"))
    assert result["follow_instruction_list"] == [True, False, True]
    assert result["reward"] == pytest.approx(reward)


async def test_verify_metadata_wins_over_top_level_fields() -> None:
    row = {**nemo_row(["punctuation:no_comma"], [{}]), "instruction_id_list": ["detectable_format:title"]}
    assert (await verify(row, "No title, but a comma"))["follow_instruction_list"] == [False]


async def test_the_final_message_is_graded() -> None:
    row = nemo_row(["detectable_format:title"], [None])
    call = function_call("search", {"q": "otters"})
    assert (await verify(row, make_response(output=[call])))["reward"] == 0.0  # last item is not a message
    two_parts = make_response("<<Ot")
    two_parts["output"][-1]["content"].append({"type": "output_text", "text": "ters>>", "annotations": []})
    assert (await verify(row, two_parts))["reward"] == 1.0
    earlier = make_response("no title here", output=[make_response("<<Title>>")["output"][0]])
    assert (await verify(row, earlier))["reward"] == 0.0


async def test_loose_evaluation_forgives_a_chatty_first_line() -> None:
    row = nemo_row(["startend:quotation", "detectable_format:number_highlighted_sections"], [{}, {"num_highlights": 1}])
    answer = 'Sure, here it is:\n"*Otters* are playful."'
    strict = await verify(row, answer, STRICT)
    assert strict["reward"] == 0.0 and strict["reward_loose"] == 1.0
    assert strict["follow_instruction_list_loose"] == [True, True]
    assert (await verify(row, answer, LOOSE))["reward"] == 1.0
    empty = await verify(nemo_row(["punctuation:no_comma"], [{}]), "", LOOSE)
    assert empty["reward"] == 0.0 and empty["follow_instruction_list"] == [True]  # strict: as NeMo Gym has it


async def test_a_long_answer_is_graded_off_the_event_loop() -> None:
    row = nemo_row(["length_constraints:number_words"], [{"num_words": 50_000, "relation": "at least"}])
    assert (await verify(row, "word " * 60_000))["reward"] == 1.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"instruction_id_list": ["language:response_language"], "kwargs": [{"language": "fr"}]},
            "language:response_language",
        ),
        ({"instruction_id_list": ["detectable_format:title"], "kwargs": []}, "kwargs has 0 entries for 1 instructions"),
        ({"kwargs": [{}, None, {"num_words": "many", "relation": "less than"}]}, "num_words"),
        ({"grading_mode": "partial"}, "grading_mode"),
        ({"instruction_id_list": [], "kwargs": []}, "instruction_id_list"),
    ],
    ids=["unknown-id", "kwargs-count", "kwargs-type", "grading-mode", "no-instructions"],
)
async def test_bad_rows_are_a_readable_422_at_seed_and_verify(change: dict[str, Any], message: str) -> None:
    row = nemo_row(*TITLE_WORDS_PARAGRAPHS)
    row["verifier_metadata"] = {**row["verifier_metadata"], **change}
    async with client_for(InstructionFollowing()) as client:
        with pytest.raises(ServerError, match="422") as seeded:
            await client.seed_session(row)
        with pytest.raises(ServerError, match="422") as verified:
            await client.verify({**row, "response": make_response("x")})
    for raised in (seeded, verified):
        assert message in str(raised.value.body)
    if "unknown" in str(seeded.value.body):
        assert "known ids: change_case:capital_word_frequency" in str(seeded.value.body)


async def test_a_row_without_instructions_is_refused() -> None:
    async with client_for(InstructionFollowing()) as client:
        with pytest.raises(ServerError, match="422") as raised:
            await client.verify({**make_row("hi"), "response": make_response("x")})
    assert "verifier_metadata" in str(raised.value.body)


async def test_sessions_are_optional_and_verify_is_repeatable() -> None:
    row = nemo_row(*TITLE_WORDS_PARAGRAPHS)
    async with client_for(InstructionFollowing()) as client:
        async with await client.seed_session(row) as session:
            rewards = [(await session.verify(make_response(GOOD_ANSWER)))["reward"] for _ in range(2)]
        stateless = await client.verify({**row, "response": make_response(GOOD_ANSWER)})
        assert await client.list_tools() == []
    assert rewards == [1.0, 1.0]
    assert stateless["reward"] == 1.0


# --- the multi-reward variant -----------------------------------------------------------------------


async def test_components_name_each_instruction() -> None:
    row = nemo_row(*TITLE_WORDS_PARAGRAPHS, mode="fraction")
    result = await verify(row, GOOD_ANSWER.replace("<<Otters>>", "Otters"), COMPONENTS)
    components = {"paragraphs:paragraphs": 1.0, "detectable_format:title": 0.0, "length_constraints:number_words": 1.0}
    assert result["reward_components"] == components
    assert not any(name in result for name in components)  # nested only, as NeMo Gym's multi-reward servers
    assert result["reward"] == pytest.approx(2 / 3)  # combined by the row's grading_mode
    binary = await verify(nemo_row(*TITLE_WORDS_PARAGRAPHS), GOOD_ANSWER.replace("<<Otters>>", "Otters"), COMPONENTS)
    assert binary["reward"] == 0.0 and binary["reward_components"] == components
    assert "reward_components" not in await verify(row, GOOD_ANSWER)


def test_repeated_instructions_get_numbered_component_names() -> None:
    assert component_names(["a:x", "b:y", "a:x", "a:x"]) == ["a:x", "b:y", "a:x#2", "a:x#3"]


def test_both_configs_load_and_share_the_dataset() -> None:
    for path, components in ((CONFIG, False), (COMPONENTS_CONFIG, True)):
        (instance,) = load_config([path], env_file=None).of_kind("resources_servers")
        config = instance.config_model(InstructionFollowingConfig)
        assert instance.settings["entrypoint"] == "gymhall.envs.instruction_following.server:InstructionFollowing"
        assert config.domain == "instruction_following"
        assert config.reward_components is components
        assert get_env(instance.implementation).dataset == DATASET


# --- the dataset ------------------------------------------------------------------------------------


def test_the_generator_reproduces_the_dataset_byte_for_byte(import_file: Callable[[Path, str], ModuleType]) -> None:
    generator = import_file(ENV / "data" / "generate.py", "gymhall_instruction_following_generate")
    assert generator.render(generator.generate_rows()).encode() == DATASET.read_bytes()


def test_the_dataset_has_500_rows_of_1_to_4_varied_instructions_in_three_tiers() -> None:
    assert len(ROWS) >= 500
    ids = [row["instruction_id_list"] for row in ROWS]
    assert all(1 <= len(row_ids) <= 4 for row_ids in ids)
    assert len({i for row_ids in ids for i in row_ids}) >= 30
    tiers = Counter(row["difficulty"] for row in ROWS)
    assert set(tiers) == {"easy", "medium", "hard"} and min(tiers.values()) >= len(ROWS) // 5
    for row in ROWS:
        assert row["responses_create_params"]["input"][0]["content"] == row["prompt"]
        assert row["reference_solution"]["tool_calls"] == []


class NemoGym04Row(BaseModel):
    """NeMo Gym 0.4.0's `InstructionFollowingRunRequest`, strict: what its server needs of a row."""

    model_config = ConfigDict(extra="ignore", strict=True)

    id: int
    instruction_id_list: list[str]
    prompt: str
    kwargs: list[dict[str, Any] | None]
    responses_create_params: dict[str, Any]


NEMO_GYM_FIELDS = {"id", "responses_create_params", "instruction_id_list", "prompt", "kwargs", "grading_mode"}
GYMHALL_FIELDS = {"difficulty", "reference_solution"}


def test_every_row_has_exactly_nemo_gyms_shape() -> None:
    for row in ROWS:
        assert set(row) == NEMO_GYM_FIELDS | GYMHALL_FIELDS, row["id"]  # no verifier_metadata: one source of truth
        loaded = NemoGym04Row.model_validate(row)
        assert type(row["id"]) is int and loaded.id == row["id"]
        assert len(loaded.kwargs) == len(loaded.instruction_id_list)
        assert row["grading_mode"] in ("binary", "fraction")
        assert set(row["reference_solution"]) == {"tool_calls", "answer"}
    assert [row["id"] for row in ROWS] == list(range(1, len(ROWS) + 1))


def test_no_row_combines_conflicting_instructions() -> None:
    for row in ROWS:
        assert conflicts_of(row["instruction_id_list"], row["kwargs"]) == [], row["id"]


@pytest.mark.parametrize(
    ("ids", "kwargs"),
    [
        (["combination:two_responses", "detectable_format:number_bullet_lists"], [{}, {"num_bullets": 2}]),
        (
            ["detectable_format:multiple_sections", "detectable_format:constrained_response"],
            [{"section_spliter": "Section", "num_sections": 3}, {}],
        ),
        (["combination:repeat_prompt", "change_case:english_lowercase"], [{"prompt_to_repeat": "Hi there."}, {}]),
        (
            ["detectable_content:postscript", "startend:end_checker"],
            [{"postscript_marker": "P.S."}, {"end_phrase": "Bye."}],
        ),
        (
            ["combination:repeat_prompt", "length_constraints:number_words"],
            [{"prompt_to_repeat": "Hi."}, {"num_words": 50, "relation": "less than"}],
        ),
        (["keywords:existence", "keywords:forbidden_words"], [{"keywords": ["tea"]}, {"forbidden_words": ["TEA"]}]),
    ],
    ids=["two-responses+bullets", "sections+constrained", "repeat+lowercase", "ps+end", "repeat+less-than", "kw"],
)
def test_the_conflict_table_names_the_contradictory_pairs(ids: list[str], kwargs: list[dict[str, Any]]) -> None:
    assert len(conflicts_of(ids, kwargs)) == 1
    assert len(conflicts_of(ids[::-1], kwargs[::-1])) == 1  # read in both directions
    conditional = "repeat_prompt" in ids[0] and "number_words" in ids[1] or ids[0] == "keywords:existence"
    assert may_combine(ids[:1], ids[1]) is conditional  # drawn, then refused for these kwargs; or never drawn


def test_conditional_conflicts_only_hold_for_their_kwargs() -> None:
    repeat_at_least = [{"prompt_to_repeat": "Hi."}, {"num_words": 50, "relation": "at least"}]
    assert conflicts_of(["combination:repeat_prompt", "length_constraints:number_words"], repeat_at_least) == []
    end = ["startend:end_checker", "last_word:last_word_answer"]
    assert conflicts_of(end, [{"end_phrase": "Any other questions?"}, {"last_word": "questions"}]) == []
    assert conflicts_of(end, [{"end_phrase": "Any other questions?"}, {"last_word": "other"}])
    assert all(entry.why for entry in CONFLICTS)


# Instructions a one-word lowercase answer follows: a row of only these pays "garbage", so the
# generator never makes one (it is not a contradiction; it asks for nothing to be written).
VACUOUS = {
    "punctuation:no_comma",
    "punctuation:punctuation_exclamation",
    "keywords:forbidden_words",
    "change_case:english_lowercase",
    "count:lowercase_counting",
}


def test_every_pair_is_a_listed_conflict_or_generated_with_a_reference_that_follows_both(
    import_file: Callable[[Path, str], ModuleType],
) -> None:
    """The systematic sweep: every pair of instructions the generator knows, seeded per pair."""
    generator = import_file(ENV / "data" / "generate.py", "gymhall_instruction_following_generate")
    never = []
    for first, second in combinations(sorted(generator.SPECS), 2):
        if not may_combine([first], second) or {first, second} <= VACUOUS:
            continue
        rng = random.Random(f"{first}+{second}")
        drafts = (generator._draft_row(0, rng, [first, second]) for _ in range(300))
        row = next((row for row in drafts if row is not None), None)
        if row is None:
            never.append((first, second))
            continue
        graded = [
            build_instruction(i, k).check(row["reference_solution"]["answer"])
            for i, k in zip(row["instruction_id_list"], row["kwargs"], strict=True)
        ]
        assert graded == [True, True] and conflicts_of(row["instruction_id_list"], row["kwargs"]) == []
    assert never == []  # a pair no draft can follow is a conflict missing from conflicts.py
    for first in generator.SPECS:  # "friendly" lists: every other id is excluded, new ones included
        assert not may_combine(["detectable_format:constrained_response"], first) or first in CONSTRAINED_FRIENDLY
        assert not may_combine(["detectable_format:json_format"], first) or first in JSON_FRIENDLY
        assert not may_combine(["combination:two_responses"], first) or first in TWO_RESPONSES_FRIENDLY


def test_hand_written_rows_join_in_the_same_shape_or_are_refused_by_line(
    import_file: Callable[[Path, str], ModuleType], tmp_path: Path
) -> None:
    generator = import_file(ENV / "data" / "generate.py", "gymhall_instruction_following_generate")
    path = tmp_path / "hand_written.jsonl"
    good = {"prompt": "Describe otters.\n\n1. Wrap it in quotes.", "instruction_id_list": ["startend:quotation"]}
    good |= {"kwargs": [{}], "answer": '"Otters are playful."'}
    path.write_text(json.dumps(good) + "\n", encoding="utf-8")
    (row,) = generator.hand_written_rows(path, first_id=len(ROWS) + 1)
    assert set(row) == NEMO_GYM_FIELDS | GYMHALL_FIELDS and row["id"] == len(ROWS) + 1
    vacuous = {**good, "instruction_id_list": ["punctuation:no_comma"], "answer": "Otters play."}
    conflicting = {
        **good,
        "instruction_id_list": ["combination:two_responses", "detectable_format:number_bullet_lists"],
    }
    conflicting |= {"kwargs": [{}, {"num_bullets": 1}], "answer": "* One\n******\nTwo"}
    for bad, message in ((vacuous, "a trivial answer"), (conflicting, "two_responses \\+ detectable_format")):
        path.write_text(json.dumps(bad) + "\n", encoding="utf-8")
        with pytest.raises(ValueError, match=message):
            generator.hand_written_rows(path)


# --- reward probes ----------------------------------------------------------------------------------


BEES_PROMPT = "Tell me about bees.\n\nRules:\n1. Include the keywords 'nectar' and 'wax' in your response."
KEYWORD_ROW = {
    **make_row(
        [
            {
                "role": "user",
                "content": BEES_PROMPT,
            }
        ],
        id=7,
    ),
    "instruction_id_list": ["keywords:existence"],
    "kwargs": [{"keywords": ["nectar", "wax"]}],
    "prompt": BEES_PROMPT,
}


@pytest.mark.parametrize(
    ("answer", "reward"),
    [
        (KEYWORD_ROW["prompt"], 0.0),  # the prompt echoed
        ("1. Include the keywords 'nectar' and 'wax' in your response.", 0.0),  # the instruction restated
        ('{"answer": "Include the keywords \\"nectar\\" and \\"wax\\" in your response."}', 0.0),
        ("**INCLUDE THE KEYWORDS NECTAR AND WAX IN YOUR RESPONSE.**", 0.0),
        ("Bees turn nectar into honey and build their comb from wax.", 1.0),  # a real answer
        ("Tell me about bees? Gladly: they store nectar and make wax.", 1.0),  # short lines may recur
    ],
    ids=["echo", "restated", "restated-in-json", "restated-bold-caps", "answer", "short-overlap"],
)
async def test_restating_the_prompt_follows_nothing(answer: str, reward: float) -> None:
    result = await verify(KEYWORD_ROW, answer)
    assert result["reward"] == reward
    assert result["restates_prompt"] is (reward == 0.0)
    assert result["follow_all_instructions"] is (reward == 1.0)


async def test_repeating_the_request_as_asked_is_no_restatement() -> None:
    request = "Write a long story about a brave little otter."
    row = {
        **KEYWORD_ROW,
        "prompt": f"{request}\n\n1. First repeat the request word for word without change.",
        "instruction_id_list": ["combination:repeat_prompt"],
        "kwargs": [{"prompt_to_repeat": request}],
    }
    assert (await verify(row, f"{request}\nOnce there was an otter."))["reward"] == 1.0


async def test_a_blank_line_before_the_answer_opens_no_paragraph() -> None:
    row = nemo_row(
        ["length_constraints:nth_paragraph_first_word"],
        [{"num_paragraphs": 2, "nth_paragraph": 1, "first_word": "otters"}],
    )
    assert (await verify(row, "\n\n  Otters swim.\n\nThey nap.  \n\n"))["reward"] == 1.0


async def test_every_probe_of_every_row_keeps_its_rule() -> None:
    broke: list[str] = []
    async with client_for(InstructionFollowing(STRICT)) as client:

        async def play(row: dict[str, Any]) -> None:
            reference = row["reference_solution"]
            expected = (await client.verify({**row, "response": make_response(reference["answer"])}))["reward"]
            assert expected == 1.0
            for probe in probes_for(row, probes(row)):
                answer = probe.solution(reference)["answer"]
                reward = (await client.verify({**row, "response": make_response(answer)}))["reward"]
                if not (reward < expected if probe.expect == "below" else reward == expected):
                    broke.append(f"row {row['id']}: {probe.name} ({probe.expect}) scored {reward}")

        await asyncio.gather(*(play(row) for row in ROWS))
    assert broke == []


def test_the_env_probes_cover_the_issue_and_the_configs_name_them() -> None:
    names = Counter(probe.name for row in ROWS for probe in probes(row))
    for name in ("instructions restated", "prompt echoed in the answer format", "only some instructions followed"):
        assert names[name] >= len(ROWS) * 0.9, name
    for path in (CONFIG, COMPONENTS_CONFIG):
        (instance,) = load_config([path], env_file=None).of_kind("resources_servers")
        assert instance.settings["probes"] == "gymhall.envs.instruction_following.probes:probes"


@pytest.mark.parametrize("config", [STRICT, LOOSE, COMPONENTS], ids=["strict", "loose", "components"])
async def test_every_reference_answer_scores_1_and_its_corruptions_do_not(config: InstructionFollowingConfig) -> None:
    async with client_for(InstructionFollowing(config)) as client:
        for row in ROWS:
            answer = row["reference_solution"]["answer"]
            graded = await client.verify({**row, "response": make_response(answer)})
            assert graded["reward"] == 1.0, row["id"]
            assert all(graded["follow_instruction_list"]), row["id"]  # the reference follows every instruction
            if config.evaluation == "strict":
                for corrupted in ("", "garbage", "I'm sorry, but I can't help with that."):
                    wrong = await client.verify({**row, "response": make_response(corrupted)})
                    assert wrong["follow_all_instructions"] is False, (row["id"], corrupted[:40])


async def test_replay_collection_scores_1_with_per_component_metrics(tmp_path: Path) -> None:
    for config, name in ((CONFIG, "plain"), (COMPONENTS_CONFIG, "components")):
        output = tmp_path / f"{name}.jsonl"
        options = CollectOptions(input=DATASET, output=output, configs=[str(config)], model="replay")
        stats = await run_collect(options)
        assert (stats.ok, stats.failed, stats.mean_reward) == (len(ROWS), 0, 1.0)
        overall = json.loads((tmp_path / f"{name}_metrics.json").read_text())["overall"]
        assert overall["mean/reward"] == 1.0
        assert ("mean/reward_components/detectable_format:title" in overall) is (name == "components")
