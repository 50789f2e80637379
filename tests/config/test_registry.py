"""The registry of bundled environments, and the contracts every one of them keeps."""

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from gymhall.checks.conformance import check_environment
from gymhall.checks.probe import Probe
from gymhall.checks.probes import load_probe_function, probes_for
from gymhall.cli.main import app
from gymhall.collection.datasets import read_rows
from gymhall.collection.runs import CollectOptions, resources_client, run_collect
from gymhall.config.loading import load_config
from gymhall.config.registry import (
    ENVS_DIR,
    _registry,
    get_env,
    list_envs,
    registry_problems,
    resolve_config_arguments,
)
from gymhall.exceptions import ConfigError
from gymhall.grading.judge import JUDGE_EQUAL, JUDGE_NOT_EQUAL
from gymhall.testing import OFFLINE_OVERRIDES, FakeOpenAI, FakeRequest, serve_in_thread

ENV_IDS = [spec.id for spec in list_envs()]
EXPECTED = {
    "weather",
    "mcqa",
    "math",
    "code",
    "wordle",
    "wordle_partial",
    "workplace",
    "structured_outputs",
    "instruction_following",
    "instruction_following_components",
    "judge_qa",
}


def write_env(root: Path, directory: str, env_id: str, settings: str = "") -> Path:
    configs = root / directory / "configs"
    configs.mkdir(parents=True)
    config = configs / f"{env_id}.yaml"
    config.write_text(
        f"{env_id}_resources_server:\n  resources_servers:\n    {env_id}:\n"
        f"      entrypoint: server.py\n      domain: games\n      description: A test.\n{settings}"
    )
    return config


def test_every_bundled_environment_is_registered() -> None:
    assert set(ENV_IDS) >= EXPECTED


def test_ids_come_from_config_files_and_variants_share_a_directory(tmp_path: Path) -> None:
    write_env(tmp_path, "game", "game")
    variant = tmp_path / "game" / "configs" / "game_hard.yaml"
    variant.write_text(
        "game_hard_resources_server:\n  resources_servers:\n    game_hard:\n"
        "      entrypoint: server.py\n      domain: games\n      dataset: data/game.jsonl\n"
    )
    registry = _registry(tmp_path)
    assert list(registry) == ["game", "game_hard"]
    assert registry["game"].dataset == tmp_path / "game" / "data" / "game.jsonl"
    assert registry["game_hard"].dataset == registry["game"].dataset
    assert registry["game"].readme == tmp_path / "game" / "README.md"
    assert registry["game"].domain == "games"
    assert registry["game"].description == "A test."


def test_a_config_that_does_not_define_its_id_is_refused(tmp_path: Path) -> None:
    config = write_env(tmp_path, "game", "game")
    config.rename(config.with_name("other.yaml"))
    with pytest.raises(ConfigError, match="must define the resources server 'other'"):
        _registry(tmp_path)


def test_an_unknown_id_names_the_known_ones() -> None:
    with pytest.raises(
        ConfigError, match=r"no bundled environment 'wether', nor an installed one\. Did you mean 'weather'\?"
    ):
        get_env("wether")


def test_config_arguments_resolve_ids_and_keep_files_and_overrides(tmp_path: Path) -> None:
    existing = tmp_path / "mine.yaml"
    existing.write_text("{}")
    arguments = ["weather", str(existing), "missing.yaml", "a.b=1", "+c=2"]
    resolved = resolve_config_arguments(arguments)
    assert resolved == [str(get_env("weather").config), str(existing), "missing.yaml", "a.b=1", "+c=2"]


def test_gymhall_envs_lists_every_environment() -> None:
    result = CliRunner().invoke(app, ["envs"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for env_id in EXPECTED:
        assert env_id in result.output


def test_gymhall_check_prints_each_check_and_exits_0() -> None:
    result = CliRunner().invoke(app, ["check", "weather", "--limit", "3"])
    assert result.exit_code == 0, result.output
    assert result.output.count("pass ") == 10
    assert "10 of 10 checks passed" in result.output


def test_gymhall_check_exits_1_when_a_check_fails(tmp_path: Path) -> None:
    spec = get_env("weather")
    broken = tmp_path / "rows.jsonl"
    lines = spec.dataset.read_text().splitlines()[:2]
    broken.write_text("\n".join(line.replace('"reference_solution"', '"solution"') for line in lines) + "\n")
    result = CliRunner().invoke(app, ["check", "weather", "--input", str(broken)])
    assert result.exit_code == 1
    assert "FAIL" in result.output and "fix: add reference_solution" in result.output


def test_gymhall_check_of_an_unknown_env_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["check", "nope"])
    assert result.exit_code == 2
    assert "no bundled environment 'nope'" in result.output


def test_every_environment_has_a_readme_and_50_rows() -> None:
    for spec in list_envs():
        assert spec.readme.is_file(), spec.id
        text = spec.readme.read_text()
        for word in ("reward", "tool", "dataset"):
            assert word in text.lower(), (spec.id, word)
        assert len(read_rows(spec.dataset)) >= 50, spec.id
        assert spec.config.is_relative_to(ENVS_DIR)


def sample(rows: list[dict[str, Any]], size: int = 40) -> list[dict[str, Any]]:
    """A fixed spread of about `size` rows (every k-th): the datasets hold 500+ rows, and each checked row
    is a dozen rollouts (the reward probes). `gymhall check ENV` plays them all; each environment's own
    tests play every reference and probe its rows."""
    return rows[:: max(1, len(rows) // size)]


@contextlib.contextmanager
def competent_judge(env_id: str, rows: list[dict[str, Any]], own: Any) -> Iterator[list[str]]:
    """For judge_qa, a fake judge over loopback that accepts exactly what a careful grader accepts (the
    reference and its harmless variants) and the override pointing the environment at it."""
    if env_id != "judge_qa":
        yield []
        return
    right = {
        (row["question"], probe.solution(row["reference_solution"])["answer"])
        for row in rows
        for probe in [Probe("reference", expect="same"), *probes_for(row, own(row))]
        if probe.expect == "same"
    }

    def pair(request: FakeRequest) -> tuple[str, str]:  # the built-in prompt: question, Answer A, Answer B
        text = request.user_text()
        return text.removeprefix("Question:\n").split("\n\nAnswer A:\n", 1)[0], text.split("\n\nAnswer B:\n", 1)[1]

    judge = FakeOpenAI(lambda request: JUDGE_EQUAL if pair(request) in right else JUDGE_NOT_EQUAL, model="judge")
    with serve_in_thread(judge) as url:
        yield [f"judge_qa_resources_server.resources_servers.judge_qa.judge_model={url}/v1#judge"]


@pytest.mark.slow
@pytest.mark.parametrize("env_id", ENV_IDS)
async def test_every_environment_passes_the_conformance_check(env_id: str) -> None:
    spec = get_env(env_id)
    rows = sample(read_rows(spec.dataset))
    spec_probes = (
        load_config([str(spec.config)], OFFLINE_OVERRIDES.get(env_id, [])).resources_server().settings.get("probes")
    )
    own = load_probe_function(spec_probes) if spec_probes else None
    with competent_judge(env_id, rows, own) as judge:
        async with resources_client(configs=[str(spec.config)], overrides=judge) as client:
            results = await check_environment(client, rows, probes=own)
    failed = [result for result in results if not result.passed]
    assert failed == []


@pytest.mark.slow
@pytest.mark.parametrize("env_id", ENV_IDS)
async def test_collect_with_the_replay_model_scores_1_over_every_dataset(env_id: str, tmp_path: Path) -> None:
    spec = get_env(env_id)
    output = tmp_path / "out.jsonl"
    data = tmp_path / "rows.jsonl"
    rows = sample(read_rows(spec.dataset), size=100)
    data.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    overrides = OFFLINE_OVERRIDES.get(env_id, [])
    options = CollectOptions(input=data, output=output, configs=[str(spec.config)], overrides=overrides, model="replay")
    stats = await run_collect(options)
    assert stats.failed == 0
    assert stats.ok == len(rows)
    assert stats.mean_reward == 1.0


def test_collect_env_defaults_its_dataset(tmp_path: Path) -> None:
    output = tmp_path / "weather.jsonl"
    result = CliRunner().invoke(app, ["collect", "--env", "weather", "--output", str(output), "--limit", "3"])
    assert result.exit_code == 0, result.output
    assert len(output.read_text().splitlines()) == 3
    assert (tmp_path / "weather_metrics.json").is_file()


# Installed environments: a `*.dist-info` with an `entry_points.txt` on `sys.path` is what `pip install`
# writes, and what `importlib.metadata` reads; the tests build one in a temporary folder.

SHOUT_SERVER = '''
import re

from gymhall import BaseVerifyRequest, Environment, tool


class ShoutRequest(BaseVerifyRequest):
    expected_answer: str


class Shout(Environment):
    @tool
    async def shout(self, text: str) -> str:
        """The text in capitals."""
        return text.upper()

    async def verify(self, state: None, body: ShoutRequest) -> float:
        shouted = any(getattr(item, "name", None) == "shout" for item in body.response.output)
        return float(shouted and body.expected_answer in re.findall(r"\\w+", body.response.output_text))
'''


def shout_row(word: str) -> str:
    row = {
        "responses_create_params": {"input": [{"role": "user", "content": f"Shout {word} with the shout tool."}]},
        "expected_answer": word.upper(),
        "reference_solution": {"tool_calls": [{"name": "shout", "arguments": {"text": word}}], "answer": word.upper()},
    }
    return orjson.dumps(row).decode() + "\n"


def install(site: Path, dist: str, entries: dict[str, str]) -> None:
    """Write the `*.dist-info` an install of `dist` would, with these `gymhall.environments` entries."""
    info = site / f"{dist}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    lines = "".join(f"{name} = {value}\n" for name, value in entries.items())
    (info / "entry_points.txt").write_text(f"[gymhall.environments]\n{lines}")


def shout_package(site: Path, package: str, env_ids: tuple[str, ...] = ("shout",)) -> Path:
    folder = site / package
    (folder / "configs").mkdir(parents=True)
    (folder / "data").mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "server.py").write_text(SHOUT_SERVER)
    for env_id in env_ids:
        (folder / "configs" / f"{env_id}.yaml").write_text(
            f"{env_id}_resources_server:\n  resources_servers:\n    {env_id}:\n"
            f"      entrypoint: {package}.server:Shout\n      domain: games\n"
            f"      description: Shout a word.\n      probes: null\n"
        )
        (folder / "data" / f"{env_id}.jsonl").write_text("".join(shout_row(w) for w in ("hi", "gym", "hall")))
    return folder


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on `sys.path` (and on the children's PYTHONPATH), as site-packages is."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    return folder


def test_an_installed_package_adds_its_environments(site: Path) -> None:
    folder = shout_package(site, "shout_env", ("shout", "shout_loud"))
    (folder / "__init__.py").write_text("raise RuntimeError('listing environments must not import the package')\n")
    install(site, "shout-env", {"shout": "shout_env"})
    spec = get_env("shout")
    assert spec.config == folder / "configs" / "shout.yaml"
    assert spec.dataset == folder / "data" / "shout.jsonl"
    assert spec.domain == "games" and spec.description == "Shout a word."
    assert "shout-env 0.1" in spec.source
    ids = [env.id for env in list_envs()]
    assert ids[: len(ENV_IDS)] == ENV_IDS and ids[len(ENV_IDS) :] == ["shout", "shout_loud"]
    assert resolve_config_arguments(["shout_loud"]) == [str(folder / "configs" / "shout_loud.yaml")]
    assert registry_problems() == []
    assert "shout_env" not in sys.modules  # found by find_spec: its __init__ would have raised


def test_broken_entry_points_are_reported_by_name_and_hide_nothing(site: Path) -> None:
    shout_package(site, "shout_env")
    shout_package(site, "clash_env", ("weather", "clash_ok"))
    shout_package(site, "twin_env", ("shout",))
    (site / "flat_env.py").write_text("")
    (site / "empty_env").mkdir()
    (site / "empty_env" / "__init__.py").write_text("")
    install(site, "shout-env", {"shout": "shout_env"})
    install(
        site,
        "broken-env",
        {
            "gone": "no_such_module",
            "clash": "clash_env",
            "flat": "flat_env",
            "empty": "empty_env",
            "attr": "shout_env:Shout",
            "twin": "twin_env",
        },
    )
    problems = registry_problems()
    by_entry = {problem.split("'")[1]: problem for problem in problems}
    assert set(by_entry) == {"gone", "clash", "flat", "empty", "attr", "twin"}, problems
    assert all("broken-env 0.1" in problem for problem in problems)
    assert "'no_such_module' is not importable" in by_entry["gone"]
    assert "environment 'weather' skipped: a bundled environment has that id" in by_entry["clash"]
    assert "is a module, not a package" in by_entry["flat"]
    assert "has no configs/*.yaml" in by_entry["empty"]
    assert "must name a package, not an attribute" in by_entry["attr"]
    assert "environment 'shout' skipped" in by_entry["twin"] and "shout-env" in by_entry["twin"]
    assert get_env("weather").source == "bundled"  # the clash never shadows the bundled one
    assert get_env("shout").config.parent.parent.name == "shout_env"
    assert get_env("clash_ok").config.parent.parent.name == "clash_env"  # its other environment still loads

    result = CliRunner().invoke(app, ["envs"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert "shout" in result.output and "clash_ok" in result.output and "weather" in result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 6 and any("'gone'" in line for line in warnings)


def test_an_installed_environment_works_with_collect_check_and_reverify(site: Path, tmp_path: Path) -> None:
    shout_package(site, "shout_env")
    install(site, "shout-env", {"shout": "shout_env"})
    output = tmp_path / "rollouts.jsonl"
    result = CliRunner().invoke(app, ["collect", "--env", "shout", "--model", "replay", "--output", str(output)])
    assert result.exit_code == 0, result.output
    lines = [orjson.loads(line) for line in output.read_text().splitlines()]
    assert [line["reward"] for line in lines] == [1.0, 1.0, 1.0]
    result = CliRunner().invoke(app, ["check", "shout"])
    assert result.exit_code == 0, result.output
    assert "checks passed" in result.output
    result = CliRunner().invoke(
        app, ["reverify", str(output), "--env", "shout", "--output", str(tmp_path / "re.jsonl")]
    )
    assert result.exit_code == 0, result.output
