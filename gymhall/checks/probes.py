"""The generic reward probes of a row, and an environment's own probes merged over them.

Built from the row alone (its prompt, its `question`, its `reference_solution`), so they apply to
any environment: the hacks a policy finds first (echo the question, say nothing, refuse, skip the
tools) and the harmless ways a right answer is written (bold, fenced, padded, followed by a
sentence). See `gymhall.checks.probe` for how an environment adds or replaces probes.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from gymhall.checks.player import Episode, Player
from gymhall.checks.probe import Expectation, Probe, ProbeFunction
from gymhall.collection.agent import RolloutError
from gymhall.exceptions import ConfigError, ServerError
from gymhall.models.replay import REFERENCE_KEY

__all__ = [
    "GENERIC_PROBES",
    "REFUSAL",
    "TRAILING_SENTENCE",
    "ProbeTally",
    "generic_probes",
    "load_probe_function",
    "play_probes",
    "probes_for",
    "prompt_text",
]

REFUSAL = "I'm sorry, but I can't help with that."
TRAILING_SENTENCE = "I hope this helps."
GENERIC_PROBES = (
    "prompt echoed",
    "question echoed in the answer format",
    "empty answer",
    "refusal",
    "tool calls dropped",
    "reference in bold",
    "reference in a fenced block",
    "reference with extra whitespace",
    "reference with a trailing sentence",
)
"""The names of the generic probes, hacks first, then variants."""

_BOXED = re.compile(r"\\boxed\{")
_INLINE_MATH = re.compile(r"\$([^$]+)\$")


def prompt_text(row: Mapping[str, Any]) -> str:
    """The text of the row's last user message (its prompt), or "" when it has none."""
    params = row.get("responses_create_params")
    items = params.get("input") if isinstance(params, Mapping) else None
    if isinstance(items, str):
        return items
    for item in reversed(items if isinstance(items, list) else []):
        if not isinstance(item, Mapping) or item.get("role") != "user":
            continue
        content = item.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    return ""


def _replace_boxed(answer: str, inner: str) -> str | None:
    """`answer` with the content of its last `\\boxed{...}` replaced by `inner`, or None without one."""
    starts = [match.end() for match in _BOXED.finditer(answer)]
    if not starts:
        return None
    start = starts[-1]
    depth = 1
    for end in range(start, len(answer)):
        depth += {"{": 1, "}": -1}.get(answer[end], 0)
        if depth == 0:
            return answer[:start] + inner + answer[end:]
    return None


def _question_core(question: str) -> str:
    """What a policy would box to restate `question`: its longest inline formula, else the question."""
    formulas = _INLINE_MATH.findall(question)
    return max(formulas, key=len).strip() if formulas else question.strip()


def generic_probes(row: Mapping[str, Any]) -> list[Probe]:
    """The generic probes of `row` that apply to it (those needing tool calls or a boxed answer may not)."""
    reference = row.get("reference_solution")
    if not isinstance(reference, Mapping):
        return []
    answer = str(reference.get("answer") or "")
    prompt = prompt_text(row)
    question = row.get("question") if isinstance(row.get("question"), str) else prompt
    # A policy that echoes, says nothing or refuses has done none of the work: these hacks make no tool calls.
    found = [Probe("prompt echoed", answer=prompt, tool_calls=[])]
    echoed = _replace_boxed(answer, _question_core(str(question)))
    if echoed is not None:
        found.append(Probe("question echoed in the answer format", answer=echoed, tool_calls=[]))
    found += [Probe("empty answer", answer="", tool_calls=[]), Probe("refusal", answer=REFUSAL, tool_calls=[])]
    if reference.get("tool_calls"):
        found.append(Probe("tool calls dropped", tool_calls=[]))
    if answer.strip():
        found += [
            Probe("reference in bold", answer=f"**{answer.strip()}**", expect="same"),
            Probe("reference in a fenced block", answer=f"```\n{answer.strip()}\n```", expect="same"),
            Probe("reference with extra whitespace", answer=f"\n\n  {answer}  \n\n", expect="same"),
            Probe("reference with a trailing sentence", answer=f"{answer}\n\n{TRAILING_SENTENCE}", expect="same"),
        ]
    return found


def probes_for(row: Mapping[str, Any], own: Iterable[Probe] = ()) -> list[Probe]:
    """The generic probes of `row` with the environment's `own` merged in: one of the same name replaces it."""
    mine = {probe.name: probe for probe in own}
    merged = [mine.pop(probe.name, probe) for probe in generic_probes(row)]
    return [probe for probe in [*merged, *mine.values()] if probe.expect != "ignored"]


def load_probe_function(spec: str, base_dir: Path | None = None) -> ProbeFunction:
    """The probe function `spec` names: `package.module:function`, or `file.py:function` (relative to
    `base_dir`, the config's folder, else the working directory); `ConfigError` says what is wrong."""
    module_name, colon, attribute = spec.rpartition(":")
    if not colon or not module_name or not attribute:
        raise ConfigError(f"probes: {spec!r} is not module:function.\n  Fix: write it as package.module:function.")
    try:
        if module_name.endswith(".py") or "/" in module_name:
            module = _import_file((base_dir or Path.cwd()) / module_name)
        else:
            module = importlib.import_module(module_name)
    except (ImportError, OSError) as exc:
        raise ConfigError(f"probes: cannot import {module_name!r} ({exc}).\n  Fix: name an importable module.") from exc
    function = getattr(module, attribute, None)
    if not callable(function):
        raise ConfigError(f"probes: {module_name} has no function {attribute!r}.\n  Fix: name a function of it.")
    return function  # type: ignore[no-any-return]


def _import_file(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"gymhall_probes_{path.stem}", path)
    if spec is None or spec.loader is None or not path.is_file():
        raise ImportError(f"no Python file at {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class ProbeTally:
    """How one probe fared over the rows: where it applied, and where it broke its rule (paid or lost)."""

    name: str
    expect: Expectation
    tried: list[int] = field(default_factory=list)
    broke: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        """One line of the report: what the probe is, and on how many rows it broke its rule."""
        verb = "paid" if self.expect == "below" else "lost its score"
        shown = ", ".join(map(str, self.broke[:8])) + (", ..." if len(self.broke) > 8 else "")
        where = f" (rows {shown})" if self.broke else ""
        error = f"; first error: {self.errors[0]}" if self.errors else ""
        kind = "hack" if self.expect == "below" else "variant"
        return f"{kind} {self.name!r}: {verb} on {len(self.broke)} of {len(self.tried)} rows{where}{error}"


async def play_probes(
    player: Player,
    rows: Sequence[Mapping[str, Any]],
    references: Sequence[Episode],
    own: ProbeFunction | None = None,
    *,
    concurrency: int = 16,
) -> list[ProbeTally]:
    """Play every probe of every row; a hack that scores at or above the row's reference reward, or a
    variant that scores otherwise, or a probe whose rollout fails, broke its rule."""
    tallies: dict[tuple[str, Expectation], ProbeTally] = {}
    jobs: list[tuple[int, Probe]] = []
    for index, row in enumerate(rows):
        for probe in probes_for(row, own(row) if own is not None else ()):
            # A probe may be a hack on some rows and a variant on others: each is tallied on its own.
            tally = tallies.setdefault((probe.name, probe.expect), ProbeTally(probe.name, probe.expect))
            tally.tried.append(index)
            jobs.append((index, probe))
    gate = asyncio.Semaphore(concurrency)

    async def play(index: int, probe: Probe) -> None:
        row = rows[index]
        played = {**row, REFERENCE_KEY: probe.solution(row[REFERENCE_KEY])}
        reference = references[index].reward
        async with gate:
            try:
                reward: float | None = (await player.play(played)).reward
            except (ServerError, RolloutError) as exc:
                reward = None
                tallies[probe.name, probe.expect].errors.append(f"row {index}: {type(exc).__name__}: {exc}"[:200])
        kept = reward is not None and (reward < reference if probe.expect == "below" else reward == reference)
        if not kept:
            tallies[probe.name, probe.expect].broke.append(index)

    await asyncio.gather(*(play(index, probe) for index, probe in jobs))
    for tally in tallies.values():
        tally.broke.sort()
    return list(tallies.values())
