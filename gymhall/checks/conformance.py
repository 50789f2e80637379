"""`gymhall check`: does an environment keep the contracts every trainer relies on?

Each check plays rows through the real client and the replay model (the agent's own loop), so what
is checked is what `gymhall collect` would do:

- tools: every tool schema from `GET /tools` is valid for OpenAI strict mode;
- reference solutions: every row's `reference_solution` scores 1.0;
- corrupted solutions: for every row, a corrupted solution (answer reversed, answer emptied, or
  tool calls dropped) scores below 1.0: a verify that rewards anything is caught;
- determinism: the same row seeded twice gives the same episode (tool outputs and reward);
- isolation: two live sessions of one row never see each other's state, and rows run concurrently
  give the episodes they give alone;
- unknown session: a tool call with a forged handle is refused (4xx);
- verify: calling it twice gives the same reward (no side effects);
- close: closing twice is fine, and a closed session is refused afterwards;
- forks: two forks of a session (`POST /fork_session`) and the parent each play a row as a fresh
  session would (an environment that does not fork passes);
- reward probes: for every row, generic hacks (the prompt echoed, an empty answer, a refusal, the
  tool calls dropped) score below its reference and harmless variants (bold, fenced, padded, a
  trailing sentence) the same; an environment adds its own (`gymhall.Probe`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from gymhall.checks.player import Episode, Player
from gymhall.checks.probe import ProbeFunction
from gymhall.checks.probes import play_probes
from gymhall.client.resources import AsyncResourcesClient
from gymhall.collection.agent import RolloutError
from gymhall.exceptions import ServerError
from gymhall.models.replay import REFERENCE_KEY
from gymhall.wire.contract import SESSION_HEADER, TOOL_NAME

__all__ = ["CheckResult", "check_environment", "strict_schema_problems"]


@dataclass(frozen=True)
class CheckResult:
    """One check: its name, whether it passed, why, and how to fix a failure."""

    name: str
    passed: bool
    reason: str
    fix: str = ""
    details: tuple[str, ...] = ()
    """Lines that break the reason down (the reward probes: one per probe)."""


def _solution(row: Mapping[str, Any]) -> Mapping[str, Any] | None:
    solution = row.get(REFERENCE_KEY)
    return solution if isinstance(solution, Mapping) else None


def _with_solution(row: Mapping[str, Any], solution: Mapping[str, Any]) -> dict[str, Any]:
    return {**row, REFERENCE_KEY: dict(solution)}


def corruptions(solution: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Wrong solutions made from a right one: (what was done, the corrupted solution)."""
    answer = str(solution.get("answer", ""))
    calls = list(solution.get("tool_calls") or [])
    found: list[tuple[str, dict[str, Any]]] = []
    if answer.strip():
        garbled = answer[::-1] if answer[::-1] != answer else answer + " (no)"
        found.append(("answer reversed", {**solution, "answer": garbled}))
        found.append(("answer emptied", {**solution, "answer": ""}))
    if calls:
        found.append(("tool calls dropped", {**solution, "tool_calls": []}))
    return found


def strict_schema_problems(schema: Any, where: str = "parameters") -> list[str]:
    """Why `schema` is not valid for OpenAI strict mode (empty when it is)."""
    problems: list[str] = []
    if not isinstance(schema, Mapping):
        return [f"{where} is not a JSON object"]
    if "$ref" in schema and len(schema) > 1:
        problems.append(f"{where}: $ref may not have sibling keywords in strict mode")
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "object" in kinds or "properties" in schema:
        properties = schema.get("properties", {})
        if schema.get("additionalProperties") is not False:
            problems.append(f"{where}: objects need additionalProperties: false")
        required = set(schema.get("required", []))
        missing = sorted(set(properties) - required)
        if missing:
            problems.append(f"{where}: every property must be required (missing: {', '.join(missing)})")
        undeclared = sorted(required - set(properties))
        if undeclared:
            problems.append(f"{where}: required names undeclared properties ({', '.join(undeclared)})")
        for name, sub in properties.items():
            problems.extend(strict_schema_problems(sub, f"{where}.{name}"))
    if "items" in schema:
        problems.extend(strict_schema_problems(schema["items"], f"{where}[]"))
    for keyword in ("anyOf", "allOf"):
        for index, sub in enumerate(schema.get(keyword, [])):
            problems.extend(strict_schema_problems(sub, f"{where}.{keyword}[{index}]"))
    if "oneOf" in schema:
        problems.append(f"{where}: oneOf is not supported in strict mode (use anyOf)")
    for keyword in ("$defs", "definitions"):
        for name, sub in schema.get(keyword, {}).items():
            problems.extend(strict_schema_problems(sub, f"{where}.{keyword}.{name}"))
    return problems


async def _check_tools(client: AsyncResourcesClient) -> CheckResult:
    name = "tool schemas are strict"
    try:
        tools = await client.list_tools()
    except ServerError as exc:
        return CheckResult(name, False, f"GET /tools failed: {exc}", "serve GET /tools (gymhall servers do)")
    problems: list[str] = []
    for tool in tools:
        tool_name = str(tool.get("name", "?"))
        if tool.get("type") != "function" or not TOOL_NAME.fullmatch(tool_name):
            problems.append(f"{tool_name!r}: needs type 'function' and a name matching {TOOL_NAME.pattern}")
        if tool.get("strict") is not True:
            problems.append(f"{tool_name}: strict is not true")
        problems.extend(f"{tool_name}: {p}" for p in strict_schema_problems(tool.get("parameters")))
    if problems:
        return CheckResult(name, False, "; ".join(problems[:5]), "use @tool with simple argument types")
    return CheckResult(name, True, f"{len(tools)} tool(s), all strict")


async def _check_references(player: Player, rows: Sequence[Mapping[str, Any]]) -> tuple[CheckResult, list[Episode]]:
    name = "reference solutions score 1.0"
    episodes = await asyncio.gather(*(player.play(row) for row in rows))
    bad = [(i, e.reward) for i, e in enumerate(episodes) if e.reward != 1.0]
    if bad:
        shown = ", ".join(f"row {i}: {reward:g}" for i, reward in bad[:5])
        fix = "correct the reference_solution of those rows, or the verify that grades them"
        return CheckResult(name, False, f"{len(bad)} of {len(rows)} scored below 1.0 ({shown})", fix), list(episodes)
    return CheckResult(name, True, f"{len(rows)} of {len(rows)} rows scored 1.0"), list(episodes)


async def _check_corrupted(player: Player, rows: Sequence[Mapping[str, Any]]) -> CheckResult:
    name = "corrupted solutions score below 1.0"
    lenient: list[int] = []
    for index, row in enumerate(rows):
        solution = _solution(row)
        assert solution is not None
        tried = corruptions(solution)
        rewards = [(await player.play(_with_solution(row, wrong))).reward for _, wrong in tried]
        if not rewards or min(rewards) >= 1.0:
            lenient.append(index)
    if lenient:
        shown = ", ".join(str(i) for i in lenient[:10])
        return CheckResult(
            name,
            False,
            f"rows {shown}: the answer reversed, emptied, and the tool calls dropped all still scored 1.0",
            "make verify check the answer or the state the tools leave",
        )
    return CheckResult(name, True, f"every one of {len(rows)} rows has a corruption scoring below 1.0")


async def _check_determinism(player: Player, rows: Sequence[Mapping[str, Any]], first: list[Episode]) -> CheckResult:
    name = "same seed, same episode"
    for index, row in enumerate(rows):
        again = await player.play(row)
        if again.outputs != first[index].outputs or again.reward != first[index].reward:
            return CheckResult(
                name,
                False,
                f"row {index} played twice gave different {_difference(first[index], again)}",
                "derive any randomness from the row (e.g. random.Random(row seed)), never from time or globals",
            )
    return CheckResult(name, True, f"{len(rows)} rows replayed identically")


def _difference(a: Episode, b: Episode) -> str:
    if a.reward != b.reward:
        return f"rewards ({a.reward:g} then {b.reward:g})"
    for index, (x, y) in enumerate(zip(a.outputs, b.outputs, strict=False)):
        if x != y:
            return f"tool output #{index} ({x[:80]!r} then {y[:80]!r})"
    return f"numbers of tool outputs ({len(a.outputs)} then {len(b.outputs)})"


async def _check_isolation(player: Player, rows: Sequence[Mapping[str, Any]], alone: list[Episode]) -> CheckResult:
    name = "sessions are isolated"
    fix = "keep all per-rollout state in the session's state, never in globals or on the server object"
    row = next((r for r in rows if (_solution(r) or {}).get("tool_calls")), rows[0])
    first, second = await player.seed(row), await player.seed(row)
    try:
        # Both sessions live at once: the second must not see what the first one's tools did.
        a = await player.play_on(first, row)
        b = await player.play_on(second, row)
    finally:
        await first.close()
        await second.close()
    if a.outputs != b.outputs or a.reward != b.reward:
        return CheckResult(name, False, f"two live sessions of one row gave different {_difference(a, b)}", fix)
    together = await asyncio.gather(*(player.play(r) for r in rows))
    for index, (solo, mixed) in enumerate(zip(alone, together, strict=True)):
        if solo.outputs != mixed.outputs or solo.reward != mixed.reward:
            return CheckResult(
                name, False, f"row {index} run concurrently with the others gave {_difference(solo, mixed)}", fix
            )
    return CheckResult(name, True, f"two live sessions of one row, and {len(rows)} concurrent rows, stayed apart")


async def _check_forks(player: Player, rows: Sequence[Mapping[str, Any]], alone: list[Episode]) -> CheckResult:
    name = "forks are isolated"
    index = next((i for i, r in enumerate(rows) if (_solution(r) or {}).get("tool_calls")), 0)
    row = rows[index]
    parent = await player.seed(row)
    try:
        try:
            first, second = await parent.fork(2)
        except ServerError as exc:
            if exc.status_code == 501:
                return CheckResult(name, True, "the environment does not fork sessions (501): nothing to check")
            raise
        # Each fork, and then the parent, plays the whole solution: none may see another's tool calls.
        episodes = [await player.play_on(session, row) for session in (first, second, parent)]
        await first.close()
        await second.close()
    finally:
        await parent.close()
    fix = "copy the whole state in fork (Environment.fork): nothing shared by reference between sessions"
    for who, episode in zip(("the first fork", "the second fork", "the parent"), episodes, strict=True):
        if episode.outputs != alone[index].outputs or episode.reward != alone[index].reward:
            reason = f"row {index}: {who}, played after the others, gave {_difference(alone[index], episode)}"
            return CheckResult(name, False, reason, fix)
    return CheckResult(name, True, f"two forks of row {index} and their parent each played it as a fresh session")


def _tool_call(row: Mapping[str, Any]) -> tuple[str, bytes] | None:
    calls = (_solution(row) or {}).get("tool_calls") or []
    if not calls:
        return None
    call = calls[0]
    return str(call["name"]), orjson.dumps(call.get("arguments") or {})


async def _refused(client: AsyncResourcesClient, path: str, body: bytes, headers: Mapping[str, str]) -> int:
    reply = await client._send("POST", path, body, {"content-type": "application/json", **headers})
    return reply.status_code


async def _check_unknown_session(client: AsyncResourcesClient, rows: Sequence[Mapping[str, Any]]) -> CheckResult:
    name = "unknown sessions are rejected"
    call = next((c for c in map(_tool_call, rows) if c is not None), None)
    path, body = (f"/{call[0]}", call[1]) if call else ("/verify", orjson.dumps({**rows[0], "response": {}}))
    status = await _refused(client, path, body, {SESSION_HEADER: "no-such-session.AAAAAAAAAAAAAAAAAAAAAA"})
    if not 400 <= status < 500:
        return CheckResult(
            name, False, f"POST {path} with a forged session handle answered {status}", "refuse unknown sessions (4xx)"
        )
    return CheckResult(name, True, f"POST {path} with a forged handle answered {status}")


async def _check_verify_twice(player: Player, row: Mapping[str, Any]) -> CheckResult:
    name = "verify is repeatable"
    async with await player.seed(row) as session:
        response = await player.agent.respond(session, row)
        rewards = [(await session.verify(response))["reward"] for _ in range(3)]
    if len(set(rewards)) != 1:
        return CheckResult(
            name, False, f"verifying one rollout three times gave {rewards}", "verify must not change session state"
        )
    return CheckResult(name, True, f"three verifies of one rollout gave {rewards[0]:g}")


async def _check_close(player: Player, rows: Sequence[Mapping[str, Any]]) -> CheckResult:
    name = "close is idempotent"
    session = await player.seed(rows[0])
    if session.handle is None:
        return CheckResult(name, False, "seed_session issued no session handle", "serve with gymhall's sessions")
    headers = {SESSION_HEADER: session.handle}
    statuses = [await _refused(player.client, "/close_session", b"", headers) for _ in range(2)]
    # Any row's first tool call will do (the session is closed: its arguments are never used); with no
    # tool call in any row, /verify on the closed session must be refused instead.
    call = next((c for c in map(_tool_call, rows) if c is not None), None)
    path, body = (f"/{call[0]}", call[1]) if call else ("/verify", orjson.dumps({**rows[0], "response": {}}))
    after = await _refused(player.client, path, body, headers)
    if statuses != [200, 200]:
        return CheckResult(name, False, f"closing twice answered {statuses}", "answer 200 to every close")
    if not 400 <= after < 500:
        what = "a tool call" if call else "POST /verify"
        return CheckResult(name, False, f"{what} on a closed session answered {after}", "refuse closed sessions")
    return CheckResult(name, True, f"closing twice answered 200 twice; a closed session's call answered {after}")


async def _check_probes(
    player: Player, rows: Sequence[Mapping[str, Any]], alone: list[Episode], own: ProbeFunction | None
) -> CheckResult:
    name = "reward probes"
    tallies = await play_probes(player, rows, alone, own)
    details = tuple(tally.line() for tally in tallies)
    broken = [tally for tally in tallies if tally.broke]
    if broken:
        worst = ", ".join(f"{tally.name!r} on {len(tally.broke)}" for tally in broken[:4])
        fix = (
            "grade what the row asks for: a hack must score below the reference, a harmless variant the same "
            "(or override the probe by name in the environment's probes function: gymhall.Probe)"
        )
        return CheckResult(
            name, False, f"{len(broken)} of {len(tallies)} probes broke their rule: {worst}", fix, details
        )
    played = sum(len(tally.tried) for tally in tallies)
    reason = f"{len(tallies)} probes, {played} plays on {len(rows)} rows: every hack scored below the reference"
    return CheckResult(name, True, reason + ", every variant the same", details=details)


async def check_environment(
    client: AsyncResourcesClient, rows: Sequence[Mapping[str, Any]], *, probes: ProbeFunction | None = None
) -> list[CheckResult]:
    """Run every conformance check against the environment `client` talks to, with `rows` that have solutions.

    `probes` is the environment's own probe function (`gymhall.Probe`), played with the generic ones.
    """
    usable = [row for row in rows if _solution(row) is not None]
    if not usable:
        return [
            CheckResult(
                "rows have reference solutions",
                False,
                f"none of the {len(rows)} rows has a {REFERENCE_KEY!r}",
                f"add {REFERENCE_KEY}: {{tool_calls: [...], answer: ...}} to the dataset's rows",
            )
        ]
    player = Player(client)
    results = [await _check_tools(client)]
    try:
        references, alone = await _check_references(player, usable)
    except (ServerError, RolloutError) as exc:  # e.g. a tool answering 500: nothing later can be judged
        fix = "see the server's log"
        results.append(CheckResult("reference solutions score 1.0", False, f"{type(exc).__name__}: {exc}", fix))
        return results
    results.append(references)
    steps: list[tuple[str, Callable[[], Awaitable[CheckResult]]]] = [
        ("corrupted solutions score below 1.0", lambda: _check_corrupted(player, usable)),
        ("same seed, same episode", lambda: _check_determinism(player, usable, alone)),
        ("sessions are isolated", lambda: _check_isolation(player, usable, alone)),
        ("forks are isolated", lambda: _check_forks(player, usable, alone)),
        ("unknown sessions are rejected", lambda: _check_unknown_session(client, usable)),
        ("verify is repeatable", lambda: _check_verify_twice(player, usable[0])),
        ("close is idempotent", lambda: _check_close(player, usable)),
        # Last: it seeds each row many times, and no other check's counts should depend on it.
        ("reward probes", lambda: _check_probes(player, usable, alone, probes)),
    ]
    for name, step in steps:
        try:
            results.append(await step())
        except (ServerError, RolloutError) as exc:
            results.append(CheckResult(name, False, f"{type(exc).__name__}: {exc}", "see the server's log"))
    return results
