"""The short style: `Environment`, `@tool` and `build_app`."""

from dataclasses import dataclass
from typing import Annotated, Any

import httpx
import pytest
from pydantic import BaseModel, Field

from gymhall import (
    SESSION_HEADER,
    BaseSeedSessionRequest,
    BaseVerifyRequest,
    Environment,
    Session,
    build_app,
    tool,
)

ROW = {"responses_create_params": {"input": "play"}, "target": 3}


def response(text: str) -> dict[str, Any]:
    message = {
        "type": "message",
        "id": "m",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }
    return {
        "id": "r",
        "created_at": 0,
        "model": "m",
        "object": "response",
        "output": [message],
        "parallel_tool_calls": False,
        "tool_choice": "auto",
        "tools": [],
    }


class Row(BaseSeedSessionRequest):
    target: int


@dataclass
class Board:
    target: int
    moves: list[int]
    closed: bool = False


class Move(BaseModel):
    step: int


class Game(Environment):
    domain = "games"
    closed_states: list[Board] = []

    async def seed_session(self, row: Row) -> Board:
        return Board(target=row.target, moves=[])

    @tool
    async def move(self, state: Board, step: Annotated[int, Field(description="how far to move")]) -> dict[str, Any]:
        """Move forward by `step`."""
        state.moves.append(step)
        return {"position": sum(state.moves)}

    @tool(name="jump", description="Jump by a whole move.")
    def jump_by_model(self, state: Board, move: Move) -> int:
        state.moves.append(move.step * 2)
        return sum(state.moves)

    @tool
    async def whoami(self, session: Session) -> str:
        """Return the session id."""
        return session.id

    @tool
    async def hint(self, state: Board, style: str = "short") -> str:
        """A hint."""
        return f"{style}: reach {state.target}"

    async def verify(self, state: Board, body: BaseVerifyRequest) -> dict[str, Any]:
        done = sum(state.moves) == state.target
        return {"reward": float(done and body.response.output_text == "done"), "moves": len(state.moves)}

    async def on_session_close(self, state: Board) -> None:
        state.closed = True
        self.closed_states.append(state)


def client(env: Environment) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(build_app(env)), base_url="http://t")


async def test_state_flows_from_seed_through_tools_to_verify() -> None:
    async with client(Game()) as c:
        assert (await c.post("/seed_session", json=ROW)).status_code == 200
        assert (await c.post("/move", json={"step": 1})).json() == {"position": 1}
        assert (await c.post("/jump", json={"step": 1})).json() == 3  # the model is the body
        r = await c.post("/verify", json={**ROW, "response": response("done")})
        data = r.json()
        assert data["reward"] == 1.0 and data["moves"] == 2 and data["target"] == 3
        assert data["response"]["output"][0]["content"][0]["text"] == "done"


async def test_two_sessions_never_share_state() -> None:
    async with client(Game()) as c:
        a = (await c.post("/seed_session", json=ROW)).json()["session"]
        b = (await c.post("/seed_session", json=ROW)).json()["session"]
        await c.post("/move", json={"step": 3}, headers={SESSION_HEADER: a})
        ra = await c.post("/verify", json={**ROW, "response": response("done")}, headers={SESSION_HEADER: a})
        rb = await c.post("/verify", json={**ROW, "response": response("done")}, headers={SESSION_HEADER: b})
        assert ra.json()["reward"] == 1.0 and rb.json()["reward"] == 0.0


async def test_verify_is_repeatable_and_has_no_side_effects() -> None:
    async with client(Game()) as c:
        await c.post("/seed_session", json=ROW)
        await c.post("/move", json={"step": 3})
        first = (await c.post("/verify", json={**ROW, "response": response("done")})).json()
        second = (await c.post("/verify", json={**ROW, "response": response("done")})).json()
        assert first == second


async def test_verify_reading_state_needs_a_session() -> None:
    async with client(Game()) as c:
        r = await c.post("/verify", json={**ROW, "response": response("done")})
        assert r.status_code == 400 and r.json()["error"] == "session_required"


async def test_seed_validates_the_row() -> None:
    async with client(Game()) as c:
        r = await c.post("/seed_session", json={"responses_create_params": {"input": "x"}})
        assert r.status_code == 422 and "target" in r.json()["message"]


async def test_extra_and_missing_tool_arguments_are_422() -> None:
    async with client(Game()) as c:
        await c.post("/seed_session", json=ROW)
        assert (await c.post("/move", json={"step": 1, "speed": 2})).status_code == 422
        assert (await c.post("/move", json={})).status_code == 422
        assert (await c.post("/hint", json={})).json() == "short: reach 3"


async def test_tools_get_the_session_when_they_ask() -> None:
    async with client(Game()) as c:
        handle = (await c.post("/seed_session", json=ROW)).json()["session"]
        assert (await c.post("/whoami", json={})).json() == handle.split(".")[0]


async def test_close_runs_the_environment_hook() -> None:
    env = Game()
    env.closed_states = []
    async with client(env) as c:
        await c.post("/seed_session", json=ROW)
        await c.post("/close_session")
    assert len(env.closed_states) == 1 and env.closed_states[0].closed


async def test_tools_endpoint_describes_every_tool_in_strict_mode() -> None:
    async with client(Game()) as c:
        tools = {t["name"]: t for t in (await c.get("/tools")).json()}
    assert set(tools) == {"move", "jump", "whoami", "hint"}
    move = tools["move"]
    assert move["description"] == "Move forward by `step`."
    assert move["parameters"]["properties"]["step"] == {"type": "integer", "description": "how far to move"}
    assert tools["jump"]["description"] == "Jump by a whole move."
    assert tools["hint"]["parameters"]["required"] == ["style"]  # strict: every property required
    for schema in tools.values():
        assert schema["strict"] is True and schema["parameters"]["additionalProperties"] is False


async def test_reward_outside_unit_interval_is_an_error() -> None:
    class Bad(Environment):
        async def verify(self, state: Any, body: BaseVerifyRequest) -> float:
            return 2.0

    async with client(Bad()) as c:
        await c.post("/seed_session", json=ROW)
        r = await c.post("/verify", json={**ROW, "response": response("x")})
        assert r.status_code == 500 and "[0, 1]" in r.json()["detail"]


def test_tool_names_must_be_identifiers() -> None:
    with pytest.raises(ValueError, match="identifier"):

        @tool(name="no spaces")
        async def f(self: Any) -> None: ...


def test_tool_may_not_take_var_kwargs() -> None:
    with pytest.raises(TypeError, match=r"\*\*kwargs"):

        @tool
        async def f(self: Any, **kwargs: Any) -> None: ...


def test_tools_are_collected_in_definition_order() -> None:
    assert [spec.name for spec in Game.tools()] == ["move", "jump", "whoami", "hint"]


async def test_verify_that_accepts_no_state_grades_without_a_session() -> None:
    class Quiz(Environment):
        async def verify(self, state: Board | None, body: BaseVerifyRequest) -> float:
            assert state is None
            return float(body.response.output_text == "done")

    async with client(Quiz()) as c:
        r = await c.post("/verify", json={**ROW, "response": response("done")})
        assert r.status_code == 200 and r.json()["reward"] == 1.0


class Closing(Environment):
    shut: list[str] = []

    async def verify(self, state: Any, body: BaseVerifyRequest) -> float:
        return 1.0

    async def on_shutdown(self) -> None:
        self.shut.append("down")


async def test_on_shutdown_runs_once_when_an_owning_in_process_client_closes() -> None:
    from gymhall import AsyncResourcesClient
    from gymhall.testing import client_for

    env = Closing()
    async with client_for(env) as client:  # the test owns env: it stays up
        assert await client.health()
    assert env.shut == []
    async with AsyncResourcesClient.for_app(build_app(env), owns_app=True) as client:
        assert await client.health()
        assert env.shut == []
    assert env.shut == ["down"]
    app = build_app(Closing())
    await app.shutdown()
    await app.shutdown()
    assert Closing.shut == ["down", "down"]  # one more: each app runs its hooks once


class Judged(Environment):
    async def verify(self, state: Any, body: BaseVerifyRequest) -> float:
        from gymhall import JudgeError

        raise JudgeError("the judge timed out after 30 s")


async def test_a_judge_error_in_verify_is_the_judge_failed_contract_not_a_500() -> None:
    from gymhall.testing import client_for, make_response

    async with client_for(Judged()) as client:
        answer = await client.verify({**ROW, "response": make_response("4")})
    assert answer["_ng_failure_class"] == "judge_failed"
    assert "timed out" in answer["_ng_failure_judge_error"]
    assert answer["target"] == 3  # the row is echoed, as for any verify


NEMO_GYM_07_NULL_PARAMS = dict.fromkeys(
    ("context_management", "conversation", "moderation", "prompt_cache_key")
    + ("prompt_cache_retention", "safety_identifier", "stream_options")
)


async def test_a_nemo_gym_07_verify_body_is_accepted_and_answered_with_the_07_fields() -> None:
    # 0.7 agents send seven new create params as null, and usage details may be null.
    params = {"input": "play", **NEMO_GYM_07_NULL_PARAMS}
    usage = {"input_tokens": 5, "input_tokens_details": {"cached_tokens": None}, "output_tokens": 1}
    usage |= {"output_tokens_details": {"reasoning_tokens": None}, "total_tokens": 6}
    row = {**ROW, "responses_create_params": params}
    async with client(Game()) as c:
        assert (await c.post("/seed_session", json=row)).status_code == 200
        await c.post("/move", json={"step": 3})
        r = await c.post("/verify", json={**row, "response": {**response("done"), "usage": usage}})
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["reward"] == 1.0
    assert (data["mask_sample"], data["failure_kind"], data["failure_reason"]) == (False, None, None)
    assert data["responses_create_params"]["stream_options"] is None  # echoed as sent


async def test_a_judge_failure_carries_the_07_fields_beside_the_04_class() -> None:
    from gymhall.testing import client_for, make_response

    async with client_for(Judged()) as client:
        answer = await client.verify({**ROW, "response": make_response("4")})
    assert answer["mask_sample"] is True and answer["failure_kind"] == "judge_failed"
    assert "timed out" in answer["failure_reason"] and answer["_ng_failure_class"] == "judge_failed"


async def test_close_session_takes_nemo_gym_07s_json_body() -> None:
    env = Game()
    env.closed_states = []
    body = {"resources_session_id": "resources-session-ab12", "episode_id": {"rollout_id": "0-0", "attempt": 0}}
    async with client(env) as c:
        await c.post("/seed_session", json=ROW)
        first = await c.post("/close_session", json=body)  # with the seed's cookie, as 0.7 sends it
        again = await c.post("/close_session", json=body)
        c.cookies.clear()
        unknown = await c.post("/close_session", json={**body, "resources_session_id": "never-seeded"})
        bare = await c.post("/close_session")
    assert first.json() == {"closed": True, "resources_session_id": "resources-session-ab12"}
    assert again.json() == {"closed": False, "resources_session_id": "resources-session-ab12"}
    assert unknown.status_code == 200 and unknown.json() == {"closed": False, "resources_session_id": "never-seeded"}
    assert bare.status_code == 400  # gymhall's own form still needs the handle
    assert len(env.closed_states) == 1


# POST /fork_session (gymhall's extension): seed once, fork N.


def handle_of(answer: httpx.Response) -> str:
    return str(answer.json()["session"])


async def position(c: httpx.AsyncClient, handle: str) -> Any:
    return (await c.post("/move", json={"step": 0}, headers={SESSION_HEADER: handle})).json()["position"]


async def test_forks_copy_the_state_at_that_moment_and_stay_apart_from_each_other_and_the_parent() -> None:
    async with client(Game()) as c:
        parent = handle_of(await c.post("/seed_session", json=ROW))
        await c.post("/move", json={"step": 2}, headers={SESSION_HEADER: parent})
        forked = await c.post("/fork_session", json={"n": 3}, headers={SESSION_HEADER: parent})
        assert forked.status_code == 200, forked.text
        children = forked.json()["sessions"]
        assert len(set(children)) == 3 and parent not in children
        for step, child in enumerate(children, start=1):
            await c.post("/move", json={"step": step}, headers={SESSION_HEADER: child})
        assert [await position(c, child) for child in children] == [3, 4, 5]
        assert await position(c, parent) == 2  # the parent saw none of its forks' moves
        await c.post("/move", json={"step": 1}, headers={SESSION_HEADER: parent})
        verdict = await c.post("/verify", json={**ROW, "response": response("done")}, headers={SESSION_HEADER: parent})
        assert verdict.json()["reward"] == 1.0 and await position(c, children[0]) == 3
        for child in children:  # each fork is a session of its own: closed on its own
            closed = await c.post("/close_session", headers={SESSION_HEADER: child})
            assert closed.json() == {"closed": True}
        assert (await c.post("/move", json={"step": 1}, headers={SESSION_HEADER: parent})).status_code == 200


class Connected(Game):
    """Its state holds an open SQLite connection, which deepcopy cannot copy."""

    async def seed_session(self, row: Row) -> Any:
        import sqlite3

        return sqlite3.connect(":memory:")

    async def on_session_close(self, state: Any) -> None:
        state.close()


class CopiesItsDatabase(Connected):
    forks = 0

    async def fork(self, state: Any) -> Any:
        import sqlite3

        type(self).forks += 1
        copy = sqlite3.connect(":memory:")
        state.backup(copy)
        return copy


async def test_a_state_deepcopy_cannot_copy_is_a_501_naming_the_override_and_an_override_forks_it() -> None:
    async with client(Connected()) as c:
        parent = handle_of(await c.post("/seed_session", json=ROW))
        refused = await c.post("/fork_session", json={"n": 2}, headers={SESSION_HEADER: parent})
        assert refused.status_code == 501 and refused.json()["error"] == "fork_unsupported"
        assert "Override Connected.fork(self, state)" in refused.json()["detail"]
        assert (await c.post("/move", json={"step": 0}, headers={SESSION_HEADER: parent})).status_code == 500
    async with client(CopiesItsDatabase()) as c:
        parent = handle_of(await c.post("/seed_session", json=ROW))
        forked = await c.post("/fork_session", json={"n": 2}, headers={SESSION_HEADER: parent})
        assert forked.status_code == 200 and len(forked.json()["sessions"]) == 2 and CopiesItsDatabase.forks == 2


@pytest.mark.parametrize("body", [{"n": 0}, {"n": 257}, {"m": 2}, {}])
async def test_a_bad_fork_count_is_a_422_naming_n(body: dict[str, int]) -> None:
    async with client(Game()) as c:
        parent = handle_of(await c.post("/seed_session", json=ROW))
        refused = await c.post("/fork_session", json=body, headers={SESSION_HEADER: parent})
        assert (refused.status_code, refused.json()["error"]) == (422, "validation_error")
        assert "POST /fork_session" in refused.json()["message"]


async def test_forking_needs_a_live_session() -> None:
    async with client(Game()) as c:
        assert (await c.post("/fork_session", json={"n": 1})).status_code == 400
        forged = await c.post("/fork_session", json={"n": 1}, headers={SESSION_HEADER: "x.AAAAAAAAAAAAAAAAAAAAAA"})
        assert forged.status_code == 403
        parent = handle_of(await c.post("/seed_session", json=ROW))
        await c.post("/close_session", headers={SESSION_HEADER: parent})
        assert (await c.post("/fork_session", json={"n": 1}, headers={SESSION_HEADER: parent})).status_code == 404


async def test_a_fork_past_max_sessions_is_a_503_and_leaves_no_fork_behind() -> None:
    env = Game(Game.config_class(name="game", max_sessions=4))
    app = build_app(env)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as c:
        parent = handle_of(await c.post("/seed_session", json=ROW))
        refused = await c.post("/fork_session", json={"n": 5}, headers={SESSION_HEADER: parent})
        assert refused.status_code == 503 and "Retry-After" in refused.headers
        assert len(app.store) == 1  # the three forks made before the store filled were closed again
        assert (await c.post("/fork_session", json={"n": 3}, headers={SESSION_HEADER: parent})).status_code == 200


class SlowMove(Game):
    @tool
    async def slow_move(self, state: Board, step: int) -> int:
        """Move by `step`, slowly."""
        import asyncio

        await asyncio.sleep(0.2)
        state.moves.append(step)
        return sum(state.moves)


async def test_a_fork_waits_for_the_parent_s_running_tool_call() -> None:
    import asyncio

    async with client(SlowMove()) as c:
        parent = handle_of(await c.post("/seed_session", json=ROW))
        moving = asyncio.create_task(c.post("/slow_move", json={"step": 5}, headers={SESSION_HEADER: parent}))
        await asyncio.sleep(0.05)  # the tool call holds the session
        forked = await c.post("/fork_session", json={"n": 1}, headers={SESSION_HEADER: parent})
        await moving
        (child,) = forked.json()["sessions"]
        assert await position(c, child) == 5  # copied after the move, never halfway through it
