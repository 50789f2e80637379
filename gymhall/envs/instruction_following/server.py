"""`instruction_following`: verifiable instructions in the IFEval style, graded without a model.

A row asks for a response that follows 1 to 3 instructions ("answer with less than 200 words",
"wrap your title in <<double angular brackets>>", ...). The model answers in one message; there
are no tools. Verify runs each instruction's checker on the final message's text (see
`instructions.py`) and combines the results by the row's `grading_mode`: "binary" gives 1.0 when
every instruction is followed, else 0.0; "fraction" gives the fraction followed.

Rows are NeMo Gym's instruction_following rows, unchanged: `id`, `instruction_id_list`, `kwargs`,
`prompt` and `grading_mode` at the top level (as NeMo Gym's server declares them), or the last four
inside `verifier_metadata`. With `reward_components: true` in the config, verify also returns one
named reward component per instruction (the multi-reward variant).

A response that restates the prompt (a whole line of it, see `restatement.py`) follows nothing:
the checkers alone would pay an echo of "Include the keywords ..." for including them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from gymhall import BaseResourcesServerConfig, BaseSeedSessionRequest, BaseVerifyRequest, Environment, Response
from gymhall.envs.instruction_following.instructions import (
    Instruction,
    InstructionError,
    build_instruction,
    loose_variants,
)
from gymhall.envs.instruction_following.restatement import restates_prompt

__all__ = [
    "Grade",
    "InstructionFollowing",
    "InstructionFollowingConfig",
    "InstructionFollowingRow",
    "InstructionFollowingVerifyRequest",
    "VerifierMetadata",
    "combine",
    "component_names",
    "final_text",
    "grade",
]

GradingMode = Literal["binary", "fraction"]

_LEGACY_FIELDS = ("instruction_id_list", "prompt", "kwargs", "grading_mode")
# Checking runs a few linear scans per instruction; past this many characters it moves off the event loop.
_THREAD_THRESHOLD = 20_000


class InstructionFollowingConfig(BaseResourcesServerConfig):
    """Settings of the instruction_following environment."""

    # "strict" checks the response as written (NeMo Gym's instruction_following); "loose" also accepts
    # it without its first or last line, or without asterisks (IFEval's loose accuracy).
    evaluation: Literal["strict", "loose"] = "strict"
    # Also return `reward_components`: one 0/1 component per instruction (the multi-reward variant).
    reward_components: bool = False


# The pydantic mypy plugin's __init__ takes extras as **kwargs, which clashes with the `kwargs` field.
class VerifierMetadata(BaseModel):  # type: ignore[no-redef]
    """What verify reads: the instructions, their kwargs, the prompt and how results combine into a reward."""

    model_config = ConfigDict(extra="allow")

    instruction_id_list: list[str] = Field(min_length=1)
    kwargs: list[dict[str, Any] | None]
    prompt: str = ""
    grading_mode: GradingMode = "binary"

    _instructions: tuple[Instruction, ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _build_instructions(self) -> VerifierMetadata:
        count = len(self.instruction_id_list)
        if len(self.kwargs) != count:
            raise ValueError(
                f"kwargs has {len(self.kwargs)} entries for {count} instructions; give one per instruction "
                "({} or null when it takes none)"
            )
        built = []
        pairs = zip(self.instruction_id_list, self.kwargs, strict=True)
        for position, (instruction_id, kwargs) in enumerate(pairs, start=1):
            try:
                built.append(build_instruction(instruction_id, kwargs))
            except InstructionError as exc:
                raise ValueError(f"instruction {position} of {count}: {exc}") from None
        self._instructions = tuple(built)
        return self

    @property
    def instructions(self) -> tuple[Instruction, ...]:
        """The checkers of `instruction_id_list`, in order."""
        return self._instructions

    @property
    def repeated_requests(self) -> list[str]:
        """The texts `combination:repeat_prompt` asks the response to repeat (they are no restatement)."""
        return [str((kwargs or {}).get("prompt_to_repeat") or "") for kwargs in self.kwargs]


class _TaskFields(BaseModel):
    """The row fields of an instruction-following task, shared by seeding and verify."""

    id: int | str | None = None
    verifier_metadata: VerifierMetadata

    @model_validator(mode="before")
    @classmethod
    def _accept_top_level_fields(cls, data: Any) -> Any:
        # NeMo Gym's server reads the verifier fields at the top level; fields inside
        # `verifier_metadata` win when both are given.
        if not isinstance(data, dict):
            return data
        legacy = {key: data[key] for key in _LEGACY_FIELDS if key in data}
        metadata = data.get("verifier_metadata")
        if legacy and (metadata is None or isinstance(metadata, dict)):
            return {**data, "verifier_metadata": {**legacy, **(metadata or {})}}
        if metadata is None:
            raise ValueError(
                "the row needs verifier_metadata: {instruction_id_list, kwargs, prompt, grading_mode} "
                "(or those fields at the top level)"
            )
        return data


class InstructionFollowingRow(_TaskFields, BaseSeedSessionRequest):
    """A dataset row as `POST /seed_session` receives it."""


class InstructionFollowingVerifyRequest(_TaskFields, BaseVerifyRequest):
    """`POST /verify`: the row and the episode's response."""


@dataclass(frozen=True)
class Grade:
    """Which instructions a response follows, strictly and loosely (one entry per instruction)."""

    strict: list[bool]
    loose: list[bool]


def final_text(response: Response) -> str:
    """The text of the response's last output item when it is a message, else "" (as NeMo Gym reads it).

    Its `output_text` parts are joined; NeMo Gym reads only the first part, which is the same for
    the usual one-part message.
    """
    if not response.output:
        return ""
    last = response.output[-1]
    if getattr(last, "type", None) != "message":
        return ""
    parts = getattr(last, "content", None) or []
    return "".join(str(part.text) for part in parts if getattr(part, "type", None) == "output_text")


def grade(instructions: Sequence[Instruction], text: str) -> Grade:
    """Check `text` against each instruction, strictly and loosely.

    Strict checks the text as it is, blank or not (as NeMo Gym's instruction_following does).
    Loose passes an instruction when any non-blank loose variant of the text follows it (IFEval).
    """
    variants = [variant for variant in loose_variants(text) if variant.strip()]
    strict = [instruction.check(text) for instruction in instructions]
    loose = [
        followed or any(instruction.check(variant) for variant in variants[1:])
        for instruction, followed in zip(instructions, strict, strict=True)
    ]
    # The raw text is loose variant 0: a blank text follows nothing loosely.
    if not text.strip():
        loose = [False] * len(instructions)
    return Grade(strict, loose)


def combine(followed: Sequence[bool], grading_mode: GradingMode) -> float:
    """The reward of per-instruction results: all-or-nothing ("binary") or the fraction followed."""
    if not followed:
        return 0.0
    if grading_mode == "binary":
        return float(all(followed))
    return sum(followed) / len(followed)


def component_names(instruction_ids: Sequence[str]) -> list[str]:
    """One name per instruction: its id, with "#2", "#3", ... added to repeats."""
    seen: dict[str, int] = {}
    names = []
    for instruction_id in instruction_ids:
        seen[instruction_id] = seen.get(instruction_id, 0) + 1
        names.append(instruction_id if seen[instruction_id] == 1 else f"{instruction_id}#{seen[instruction_id]}")
    return names


class InstructionFollowing(Environment):
    """Grades one answer against the row's verifiable instructions; no tools, no session state."""

    config_class = InstructionFollowingConfig
    domain = "instruction_following"
    config: InstructionFollowingConfig

    async def seed_session(self, row: InstructionFollowingRow) -> None:
        """Nothing to keep; validating the row here refuses a bad one before any model call."""
        return None

    async def verify(self, state: None, body: InstructionFollowingVerifyRequest) -> dict[str, Any]:
        """The reward, NeMo Gym's `follow_*` fields, their loose twins, and reward components if enabled."""
        metadata = body.verifier_metadata
        text = final_text(body.response)
        if len(text) > _THREAD_THRESHOLD:
            result = await asyncio.to_thread(grade, metadata.instructions, text)
        else:
            result = grade(metadata.instructions, text)
        restated = restates_prompt(text, metadata.prompt, metadata.repeated_requests)
        if restated:
            result = Grade([False] * len(result.strict), [False] * len(result.loose))
        followed = result.loose if self.config.evaluation == "loose" else result.strict
        fields: dict[str, Any] = {
            "restates_prompt": restated,
            "reward": combine(followed, metadata.grading_mode),
            "follow_all_instructions": all(result.strict),
            "follow_instruction_list": result.strict,
            "follow_all_instructions_loose": all(result.loose),
            "follow_instruction_list_loose": result.loose,
            "reward_loose": combine(result.loose, metadata.grading_mode),
        }
        if self.config.reward_components:
            names = component_names(metadata.instruction_id_list)
            components = {name: float(ok) for name, ok in zip(names, followed, strict=True)}
            fields["reward_components"] = components  # metrics summarize each as reward_components/<name>
        return fields


if __name__ == "__main__":
    InstructionFollowing.run_webserver()
