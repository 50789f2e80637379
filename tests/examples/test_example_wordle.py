"""examples/wordle: the game module, the seed's server (in process and as `python server.py`), the rollout."""

import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from gymhall import BaseRunRequest, load_config
from gymhall.testing import client_for, function_call, function_call_output, make_response

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "wordle"
ROWS = [json.loads(line) for line in (EXAMPLE / "data" / "example.jsonl").read_text().splitlines()]
COOKIE = "gymhall-session-wordle"
GUESS_PARAMETERS = {
    "type": "object",
    "properties": {"word": {"type": "string"}},
    "required": ["word"],
    "additionalProperties": False,
}


@pytest.fixture
def wordle(load_example: Any) -> ModuleType:
    return load_example("wordle", "wordle.py")


@pytest.fixture
def server_module(load_example: Any) -> ModuleType:
    return load_example("wordle", "server.py")


@pytest.fixture
def server(server_module: ModuleType) -> Any:
    return server_module.MyResourcesServer(config=server_module.MyConfig(name="wordle"))


def without_descriptions(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: without_descriptions(v) for k, v in schema.items() if k != "description"}
    if isinstance(schema, list):
        return [without_descriptions(v) for v in schema]
    return schema


# --- the game ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "guess", "marks"),
    [
        ("crane", "crane", "GGGGG"),
        ("crane", "plant", "__GG_"),
        ("abbey", "babes", "YYGG_"),  # both b's: one exact, one misplaced
        ("apple", "papal", "YYG_Y"),  # the second a has no unmatched a left
        ("crane", "eerie", "__Y_G"),  # the exact e uses up the secret's only e
        ("speed", "eerie", "YY___"),  # two e's in the secret: only two marks
        ("robot", "boost", "YGY_G"),
        ("lemon", "melon", "YGYGG"),
    ],
)
def test_score_marks_repeated_letters_in_two_passes(wordle: ModuleType, secret: str, guess: str, marks: str) -> None:
    assert wordle.score(secret, guess) == marks


def test_word_list(wordle: ModuleType) -> None:
    assert len(wordle.WORDS) >= 200
    assert len(set(wordle.WORDS)) == len(wordle.WORDS)
    assert all(len(w) == 5 and w.isascii() and w.isalpha() and w.islower() for w in wordle.WORDS)


def test_seeded_secret_is_reproducible(wordle: ModuleType) -> None:
    secrets = [wordle.WordleGame(seed=seed).secret for seed in range(20)]
    assert secrets == [wordle.WordleGame(seed=seed).secret for seed in range(20)]
    assert set(secrets) <= set(wordle.WORDS)
    assert len(set(secrets)) > 1


def test_win(wordle: ModuleType) -> None:
    game = wordle.WordleGame("crane")
    first = game.guess("plant")
    assert first == "Guess 1/6: PLANT -> _ _ G G _. 5 guesses left."
    assert not game.solved
    won = game.guess("CRANE ")
    assert won == "Guess 2/6: CRANE -> G G G G G. You won! The word was CRANE, found in 2 guesses."
    assert game.solved and game.over and game.guesses_left == 0
    assert "You won" not in game.guess("crane")


def test_invalid_guesses_cost_nothing(wordle: ModuleType) -> None:
    game = wordle.WordleGame("crane")
    assert game.guess("cat") == "CAT has 3 letters; guess a 5-letter word. 6 guesses left."
    assert game.guess("") == "The guess has 0 letters; guess a 5-letter word. 6 guesses left."
    assert game.guess("qzxvj") == "QZXVJ is not in the word list; try another English word. 6 guesses left."
    assert game.guesses_left == 6 and game.history == []


def test_game_over(wordle: ModuleType) -> None:
    game = wordle.WordleGame("crane", max_guesses=2)
    assert game.guess("plant") == "Guess 1/2: PLANT -> _ _ G G _. 1 guess left."
    assert game.guess("light") == "Guess 2/2: LIGHT -> _ _ _ _ _. Out of guesses: the word was CRANE."
    assert game.over and not game.solved
    assert game.guess("crane") == "The game is over: the word was CRANE. No more guesses are accepted."
    assert len(game.history) == 2


def test_a_secret_outside_the_list_can_be_guessed(wordle: ModuleType) -> None:
    game = wordle.WordleGame("Zesty")
    assert "You won" in game.guess("zesty")


@pytest.mark.parametrize("secret", ["cat", "12345", "crème"])
def test_invalid_secret(wordle: ModuleType, secret: str) -> None:
    with pytest.raises(ValueError, match="5-letter"):
        wordle.WordleGame(secret)


def test_invalid_max_guesses(wordle: ModuleType) -> None:
    with pytest.raises(ValueError, match="max_guesses"):
        wordle.WordleGame("crane", max_guesses=0)


# --- the solver of rollout.py ----------------------------------------------------------------------


def test_rollout_solver_finds_every_word_within_six_guesses(load_example: Any) -> None:
    rollout = load_example("wordle", "rollout.py")
    solver = rollout.Solver(rollout.WORDS)
    worst = 0
    # The solver is deterministic, so its decision tree covers every secret: walk it once.
    pending = [(list(rollout.WORDS), 1)]
    while pending:
        candidates, depth = pending.pop()
        solver.candidates = candidates
        word = solver.next_guess()
        groups: dict[str, list[str]] = {}
        for secret in candidates:
            groups.setdefault(rollout.score(secret, word), []).append(secret)
        for marks, group in groups.items():
            if marks == "GGGGG":
                worst = max(worst, depth)
            else:
                assert depth < 6, f"{group} not found within 6 guesses"
                pending.append((group, depth + 1))
    assert worst <= 6


def test_rollout_help(load_example: Any, capsys: pytest.CaptureFixture[str]) -> None:
    rollout = load_example("wordle", "rollout.py")
    with pytest.raises(SystemExit) as exit_info:
        rollout.main(["--help"])
    assert exit_info.value.code == 0
    assert "--url" in capsys.readouterr().out


# --- dataset and config --------------------------------------------------------------------------


def test_dataset_rows() -> None:
    assert len(ROWS) == 5
    for row in ROWS:
        BaseRunRequest.model_validate(row)
        assert row["ground_truth"] == [{"expected_output": "You won"}]
        (tool,) = row["responses_create_params"]["tools"]
        assert tool["type"] == "function" and tool["name"] == "guess" and tool["strict"] is True
        assert without_descriptions(tool["parameters"]) == GUESS_PARAMETERS


def test_config() -> None:
    config = load_config([EXAMPLE / "configs" / "wordle.yaml"], env_file=None)
    (instance,) = config.of_kind("resources_servers")
    assert instance.settings["domain"] == "games"
    assert instance.settings["description"]
    assert instance.entrypoint_path() == EXAMPLE / "server.py"


# --- the server, in process ----------------------------------------------------------------------


def http_client(server: Any) -> httpx.AsyncClient:
    app = server.setup_webserver()
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://testserver")


def episode(outputs: list[str]) -> dict[str, Any]:
    """A trajectory whose tool results are `outputs` (tool answer bodies, as NeMo Gym's agent keeps them)."""
    items: list[dict[str, Any]] = []
    for turn, text in enumerate(outputs):
        items += [
            function_call("guess", {"word": "?????"}, f"c{turn}"),
            function_call_output(f"c{turn}", text),
        ]
    return make_response("Done.", output=items)


async def test_health_and_tool_listing(server: Any) -> None:
    async with client_for(server) as env:
        assert await env.health()
        tools = await env.list_tools()
    assert tools == [
        {
            "type": "function",
            "name": "guess",
            "description": "",
            "parameters": GUESS_PARAMETERS,
            "strict": True,
        }
    ]
    assert without_descriptions(tools) == without_descriptions(ROWS[0]["responses_create_params"]["tools"])


async def test_seed_sets_the_cookie_and_the_game_starts_lazily(server: Any) -> None:
    async with http_client(server) as http:
        seeded = await http.post("/seed_session", json=ROWS[0])
        assert seeded.status_code == 200
        assert COOKIE in seeded.cookies
        assert server.sessions == {}  # the seed's _sess starts the game on the first guess
        answer = await http.post("/guess", json={"word": "crane"})
        assert answer.status_code == 200
        assert re.fullmatch(r"Guess 1/6: CRANE -> [GY_]( [GY_]){4}\..*", answer.json()["output"])
        (state,) = server.sessions.values()
        assert state["step"] == 1
        refused = await http.post("/guess", json={"word": "cat"})
        assert refused.json()["output"].startswith("CAT has 3 letters")
        assert state["step"] == 2


async def test_a_won_game_verifies_to_one(server: Any) -> None:
    async with client_for(server) as env:
        async with await env.seed_session(ROWS[1]) as session:
            texts = [await session.call_text("guess", {"word": "plant"})]
            (state,) = server.sessions.values()
            secret = state["game"].secret  # peeked, so the test needs no solver
            texts.append(await session.call_text("guess", {"word": secret}))
            assert "You won" in texts[-1]
            result = await session.verify(episode(texts))
    assert result["reward"] == 1.0
    assert result["ground_truth"] == [{"expected_output": "You won"}]


async def test_an_unfinished_game_verifies_to_zero(server: Any) -> None:
    async with client_for(server) as env:
        async with await env.seed_session(ROWS[2]) as session:
            text = await session.call_text("guess", {"word": "plant"})
            (state,) = server.sessions.values()
            if state["game"].solved:  # one chance in the word list's length
                pytest.skip("the random secret was PLANT")
            assert (await session.verify(episode([text])))["reward"] == 0.0
            assert (await session.verify(make_response("I give up.")))["reward"] == 0.0


async def test_a_win_claimed_in_a_message_does_not_count(server: Any) -> None:
    async with client_for(server) as env:
        async with await env.seed_session(ROWS[3]) as session:
            result = await session.verify(make_response("You won! The word was CRANE."))
    assert result["reward"] == 0.0


@pytest.mark.parametrize(
    ("cookies", "status"),
    [({}, 400), ({COOKIE: "not-a-handle"}, 403), ({COOKIE: "abc.forgedsignature"}, 403)],
    ids=["no-session", "malformed", "forged"],
)
async def test_guess_refuses_a_missing_or_unknown_session(server: Any, cookies: dict[str, str], status: int) -> None:
    async with http_client(server) as http:
        http.cookies.update(cookies)
        answer = await http.post("/guess", json={"word": "crane"})
    assert answer.status_code == status
    assert server.sessions == {}


async def test_guess_refuses_a_closed_session(server: Any) -> None:
    async with http_client(server) as http:
        (await http.post("/seed_session", json=ROWS[0])).raise_for_status()
        assert (await http.post("/close_session")).json() == {"closed": True}
        assert (await http.post("/guess", json={"word": "crane"})).status_code == 404


async def test_guess_validates_its_body(server: Any) -> None:
    async with http_client(server) as http:
        (await http.post("/seed_session", json={})).raise_for_status()
        answer = await http.post("/guess", json={"wrod": "crane"})
    assert answer.status_code == 422
    assert "word" in answer.text


# --- the real thing: python server.py, python rollout.py -------------------------------------------


@pytest.mark.slow
def test_python_server_py_serves_the_seed_round_trip(example_server: Any) -> None:
    # The seed's rollout flow: one cookie-keeping client (requests.Session there, httpx.Client here).
    with (
        example_server("wordle", "server.py", "--config", "configs/wordle.yaml") as served,
        httpx.Client(base_url=served.url, timeout=10.0) as http,
    ):
        assert http.get("/").json() == {"status": "ok"}
        assert [t["name"] for t in http.get("/tools").json()] == ["guess"]
        http.post("/seed_session", json=ROWS[0]).raise_for_status()
        # The cookie is named for the config's instance.
        assert list(http.cookies) == ["gymhall-session-wordle_resources_server"]
        feedback = http.post("/guess", json={"word": "crane"}).json()["output"]
        assert feedback.startswith("Guess 1/6: CRANE -> ")
        response = episode([json.dumps({"output": feedback})])
        verified = http.post("/verify", json={**ROWS[0], "response": response})
        assert verified.status_code == 200, verified.text
        assert verified.json()["reward"] == (1.0 if "You won" in feedback else 0.0)
        http.cookies.clear()
        assert http.post("/guess", json={"word": "crane"}).status_code == 400


@pytest.mark.slow
def test_rollout_py_wins_against_python_server_py(example_server: Any, example_script: Any) -> None:
    with example_server("wordle", "server.py") as served:
        for row in ("0", "4"):
            out = example_script("wordle", "rollout.py", "--url", served.url, "--row", row)
            assert "You won!" in out, out
            assert out.rstrip().endswith("reward: 1.0"), out


@pytest.mark.slow
def test_rollout_py_honours_max_turns(example_server: Any, example_script: Any) -> None:
    with example_server("wordle", "server.py") as served:
        out = example_script("wordle", "rollout.py", "--url", served.url, MAX_TURNS="1")
    turns = [line for line in out.splitlines() if line.startswith("turn ")]
    assert len(turns) == 1, out
    assert out.rstrip().endswith("reward: 1.0" if "You won" in out else "reward: 0.0"), out
