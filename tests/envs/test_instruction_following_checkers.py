"""gymhall/envs/instruction_following/instructions: each checker, the registry of ids, the text measures."""

from __future__ import annotations

from typing import Any

import pytest

from gymhall.envs.instruction_following.instructions import (
    INSTRUCTIONS,
    Instruction,
    InstructionError,
    build_instruction,
    case,
    content,
    formats,
    keywords,
    length,
    punctuation,
    split_sentences,
    start_end,
)


def check(instruction_id: str, kwargs: dict[str, Any] | None, text: str) -> bool:
    return build_instruction(instruction_id, kwargs).check(text)


# --- the checkers ------------------------------------------------------------------------------------

# (instruction id, kwargs, text, followed): each pins the meaning IFEval / NeMo Gym give the instruction.
CASES: list[tuple[str, dict[str, Any] | None, str, bool]] = [
    ("keywords:existence", {"keywords": ["otter", "River"]}, "Otters live by the river.", True),
    ("keywords:existence", {"keywords": ["otter", "lake"]}, "Otters live by the river.", False),
    ("keywords:existence", {"keywords": ["cat"]}, "A category error.", True),  # substring, as in IFEval
    ("keywords:frequency", {"keyword": "fish", "frequency": 2, "relation": "at least"}, "Fish eat FISH.", True),
    ("keywords:frequency", {"keyword": "fish", "frequency": 2, "relation": "less than"}, "Fish eat fish.", False),
    ("keywords:frequency", {"keyword": " fish ", "frequency": 1, "relation": "less than"}, "No trout.", True),
    ("keywords:forbidden_words", {"forbidden_words": ["cat", "dog"]}, "A category of hotdogs.", True),
    ("keywords:forbidden_words", {"forbidden_words": ["cat", "dog"]}, "My Dog sleeps.", False),
    ("keywords:letter_frequency", {"letter": "A", "let_frequency": 3, "let_relation": "at least"}, "a bAnana", True),
    ("keywords:letter_frequency", {"letter": "z", "let_frequency": 1, "let_relation": "less than"}, "Zoo", False),
    ("keywords:start_end", None, "Rain falls and rain", True),
    ("keywords:start_end", None, "Rain falls and rain.", False),
    ("keywords:start_end", None, "Rain", False),
    ("length_constraints:number_words", {"num_words": 4, "relation": "less than"}, "One two, three!", True),
    ("length_constraints:number_words", {"num_words": 4, "relation": "at least"}, "don't stop-now", True),
    ("length_constraints:number_words", {"num_words": 4, "relation": "at least"}, "One two three", False),
    ("length_constraints:number_sentences", {"num_sentences": 3, "relation": "at least"}, "A b. C d! E f?", True),
    ("length_constraints:number_sentences", {"num_sentences": 2, "relation": "less than"}, "Dr. Who came.", True),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "One\n***\nTwo", True),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "***\nOne\n***\nTwo\n***", True),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "One\n***\n***\nTwo", False),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 3}, "One\n***\nTwo", False),
    (
        "length_constraints:nth_paragraph_first_word",
        {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "Crash"},
        'Intro here.\n\n"Crash, went the waves.',
        True,
    ),
    (
        "length_constraints:nth_paragraph_first_word",
        {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "crash"},
        "Intro here.\n\nSplash went the waves.",
        False,
    ),
    (
        "length_constraints:nth_paragraph_first_word",
        {"num_paragraphs": 2, "nth_paragraph": 1, "first_word": "intro"},
        "Intro here.\n\nTwo.\n\nThree.",
        False,
    ),
    ("detectable_content:number_placeholders", {"num_placeholders": 2}, "Dear [name], at [address].", True),
    ("detectable_content:number_placeholders", {"num_placeholders": 2}, "[a [b] c] and [d\ne]", False),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Bye.\np. s. see you", True),
    ("detectable_content:postscript", {"postscript_marker": "P.P.S"}, "Bye.\nP.S. see you", False),
    ("detectable_content:postscript", {"postscript_marker": "Note:"}, "Bye.\nnote: later", True),
    ("detectable_format:number_bullet_lists", {"num_bullets": 3}, "Items:\n* one\n  * two\n- three", True),
    ("detectable_format:number_bullet_lists", {"num_bullets": 2}, "* one\n** bold line\n* two\n* three", False),
    ("detectable_format:constrained_response", None, "Well. My answer is maybe.", True),
    ("detectable_format:constrained_response", None, "my answer is yes.", False),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2}, "*one* and **two**", True),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 1}, "** ** and * *", False),
    (
        "detectable_format:multiple_sections",
        {"section_spliter": "Section", "num_sections": 2},
        "Section 1\na\nSection 2\nb",
        True,
    ),
    (
        "detectable_format:multiple_sections",
        {"section_spliter": "SECTION", "num_sections": 2},
        "Section 1\na\nSection 2",
        False,
    ),
    ("detectable_format:json_format", None, '```json\n{"a": [1, 2]}\n```', True),
    ("detectable_format:json_format", None, 'Here it is: {"a": 1}', False),
    ("detectable_format:json_format", None, "[" * 100_000, False),
    ("detectable_format:title", None, "<<A Title>>\nBody", True),
    ("detectable_format:title", None, "<<  >> and <<a\nb>>", False),
    ("combination:two_responses", None, "First one.\n******\nSecond one.", True),
    ("combination:two_responses", None, "Same.\n******\nSame.", False),
    ("combination:two_responses", None, "A\n******\n\n******\nB", False),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Tell me a joke."}, "  tell me a JOKE. Why...", True),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Tell me a joke."}, "Sure! Tell me a joke.", False),
    ("startend:end_checker", {"end_phrase": "Any other questions?"}, '"That is all. Any other questions?"\n', True),
    ("startend:end_checker", {"end_phrase": "Any other questions?"}, "Any other questions? Bye.", False),
    ("startend:quotation", None, ' "wrapped" ', True),
    ("startend:quotation", None, '"', False),
    ("first_word:first_word_answer", {"first_word": "hello"}, "Hello there", True),
    ("first_word:first_word_answer", {"first_word": "hello"}, "Hello, there", False),
    ("first_word:first_word_answer", {"first_word": "hello"}, "", False),
    ("first_word:first_word_sent", {"first_word": "so"}, "So it goes. so it ends.", True),
    ("first_word:first_word_sent", {"first_word": "so"}, "So it goes. It ends.", False),
    ("last_word:last_word_answer", {"last_word": "contest"}, "It was a CONTEST!", True),
    ("last_word:last_word_answer", {"last_word": "contest"}, "", False),
    ("last_word:last_word_sent", {"last_word": "now"}, "Go now. Stop now!", True),
    ("last_word:last_word_sent", {"last_word": "now"}, "Go now. Stop here!", False),
    ("change_case:english_capital", None, "ALL CAPS, 100%.", True),
    ("change_case:english_capital", None, "ALL CAPS but one.", False),
    ("change_case:english_lowercase", None, "all lower, 100%.", True),
    ("change_case:english_lowercase", None, "all lower but I.", False),
    (
        "change_case:capital_word_frequency",
        {"capital_frequency": 2, "capital_relation": "at least"},
        "BIG and LOUD.",
        True,
    ),
    (
        "change_case:capital_word_frequency",
        {"capital_frequency": 2, "capital_relation": "less than"},
        "BIG and LOUD.",
        False,
    ),
    ("count:lowercase_counting", {"N": 2}, "Two words HERE.", True),
    ("count:lowercase_counting", {"N": 2}, "three small words", False),
    ("letters:letter_counting", {"N": 5, "relation": "at least"}, "abc de", True),
    ("letters:letter_counting", {"N": 5, "relation": "less than"}, "abc de", False),
    ("punctuation:no_comma", None, "No commas here.", True),
    ("punctuation:no_comma", None, "Yes, one.", False),
    ("punctuation:punctuation_dot", None, "No dots here", True),
    ("punctuation:punctuation_dot", None, "A dot.", False),
    ("punctuation:punctuation_exclamation", None, "Calm.", True),
    ("punctuation:punctuation_exclamation", None, "Wow!", False),
    ("paragraphs:paragraphs", None, "One\n***\nTwo", True),
    ("paragraphs:paragraphs", None, "One\n\nTwo", False),
    ("paragraphs:paragraphs2", None, "\n\nOne\n\nTwo\n\n", True),
    ("paragraphs:paragraphs2", None, "One\n***\nTwo", False),
]


@pytest.mark.parametrize(("instruction_id", "kwargs", "text", "followed"), CASES)
def test_checker(instruction_id: str, kwargs: dict[str, Any] | None, text: str, followed: bool) -> None:
    assert check(instruction_id, kwargs, text) is followed


def test_every_instruction_is_tested_and_described() -> None:
    assert len(INSTRUCTIONS) >= 15
    assert {case[0] for case in CASES} == set(INSTRUCTIONS)
    for instruction_id, kwargs, _, _ in CASES:
        assert build_instruction(instruction_id, kwargs).describe().strip()


def test_the_registry_lists_every_checker_of_every_family_module_under_its_own_id() -> None:
    defined = {
        cls
        for module in (case, content, formats, keywords, length, punctuation, start_end)
        for cls in vars(module).values()
        if isinstance(cls, type) and issubclass(cls, Instruction) and cls is not Instruction
    }
    assert defined == set(INSTRUCTIONS.values())
    assert all(cls.instruction_id == instruction_id for instruction_id, cls in INSTRUCTIONS.items())


def test_null_kwargs_are_ignored_as_nemo_gym_does() -> None:
    instruction = build_instruction(
        "length_constraints:number_words", {"num_words": 3, "relation": "at least", "x": None}
    )
    assert instruction.check("one two three")


@pytest.mark.parametrize(
    ("instruction_id", "kwargs", "message"),
    [
        ("language:response_language", {}, "unknown instruction id 'language:response_language'; known ids:"),
        ("length_constraints:number_words", {"num_words": 10}, "relation: Field required"),
        ("length_constraints:number_words", {"num_words": -1, "relation": "at least"}, "num_words"),
        ("keywords:frequency", {"keyword": "a", "frequency": 1, "relation": "at most"}, "relation"),
        ("keywords:letter_frequency", {"letter": "ab", "let_frequency": 1, "let_relation": "at least"}, "one letter"),
        ("detectable_format:title", {"extra": 1}, "extra: Extra inputs are not permitted"),
        (
            "length_constraints:nth_paragraph_first_word",
            {"num_paragraphs": 2, "nth_paragraph": 3, "first_word": "a"},
            "past num_paragraphs",
        ),
    ],
)
def test_bad_instructions_are_named(instruction_id: str, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InstructionError) as raised:
        build_instruction(instruction_id, kwargs)
    assert message in str(raised.value)
    assert instruction_id in str(raised.value)


def test_sentences_keep_abbreviations_and_initialisms_whole() -> None:
    text = 'Dr. Smith met J. Doe in the U.S. on Monday. "Really?" she asked... Yes e.g. this'
    assert split_sentences(text) == [
        "Dr. Smith met J. Doe in the U.S. on Monday.",
        '"Really?"',
        "she asked...",
        "Yes e.g. this",
    ]


def test_placeholder_count_is_linear_on_hostile_input() -> None:
    # The naive lazy regex is quadratic on a long line of unmatched brackets.
    assert not check("detectable_content:number_placeholders", {"num_placeholders": 1}, "[" * 200_000)
