"""gymhall/envs/instruction_following: rows in NeMo Gym's shape, the dataset, both configs (checkers: *_checkers.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from gymhall import ServerError, get_env, load_config
from gymhall.collection.runs import CollectOptions, run_collect
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


def test_the_dataset_has_50_rows_of_1_to_3_varied_instructions() -> None:
    assert len(ROWS) >= 50
    ids = [row["verifier_metadata"]["instruction_id_list"] for row in ROWS]
    assert all(1 <= len(row_ids) <= 3 for row_ids in ids)
    assert len({i for row_ids in ids for i in row_ids}) >= 15
    for row in ROWS:
        assert row["responses_create_params"]["input"][0]["content"] == row["verifier_metadata"]["prompt"]
        assert row["reference_solution"]["tool_calls"] == []


@pytest.mark.parametrize("config", [STRICT, LOOSE, COMPONENTS], ids=["strict", "loose", "components"])
async def test_every_reference_answer_scores_1_and_its_corruptions_do_not(config: InstructionFollowingConfig) -> None:
    async with client_for(InstructionFollowing(config)) as client:
        for row in ROWS:
            answer = row["reference_solution"]["answer"]
            graded = await client.verify({**row, "response": make_response(answer)})
            assert graded["reward"] == 1.0, row["id"]
            if config.evaluation == "strict":
                for corrupted in (answer[::-1], "", "garbage"):
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
