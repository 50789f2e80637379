"""`gymhall.cli.options`: every command that takes an environment takes the same options and gives the same errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gymhall.cli.main import app
from gymhall.cli.options import missing_environment

ROOT = Path(__file__).resolve().parents[2]
DATA = str(ROOT / "examples" / "counter" / "data" / "example.jsonl")
COMMANDS = ["collect", "reverify", "check", "serve-agent"]


def _args(command: str, tmp_path: Path) -> list[str]:
    """The command with everything but the environment."""
    if command == "collect":
        return ["collect", "-i", DATA, "-o", str(tmp_path / "out.jsonl")]
    if command == "reverify":
        return ["reverify", DATA]
    if command == "serve-agent":
        return ["serve-agent", "--model", "fake:counter"]
    return ["check", "--input", DATA]


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_takes_the_same_environment_options(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for option in ("--env", "--config", "--resources-url", "--name"):
        assert option in result.output, f"{command} has no {option}"


@pytest.mark.parametrize("command", COMMANDS)
def test_no_environment_gets_one_error_naming_only_options_the_command_has(command: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, _args(command, tmp_path))
    assert result.exit_code == 2
    expected = missing_environment(agent_url=command == "collect")
    assert f"gymhall: error: {expected}" in result.output
    assert "--env ENV" in expected and "--config FILE" in expected and "--resources-url URL" in expected
    assert ("--agent-url" in result.output) == (command == "collect")


def test_an_unknown_environment_gets_the_same_error_from_every_command(tmp_path: Path) -> None:
    errors = set()
    for command in COMMANDS:
        result = CliRunner().invoke(app, [*_args(command, tmp_path), "--env", "wordel"])
        assert result.exit_code == 2, result.output
        errors.add(result.output.strip())
    (error,) = errors
    assert "There is no bundled environment 'wordel'" in error and "wordle" in error


def test_reverify_takes_a_bundled_environment(tmp_path: Path) -> None:
    out = tmp_path / "wordle.jsonl"
    collected = CliRunner().invoke(app, ["collect", "--env", "wordle", "-o", str(out), "--limit", "3"])
    assert collected.exit_code == 0, collected.output
    result = CliRunner().invoke(app, ["reverify", str(out), "--env", "wordle"])
    assert result.exit_code == 0, result.output
    assert "reverified 3 rollouts (0 failed); 0 rewards changed" in result.output


def test_check_takes_env_as_an_option_or_an_argument_but_not_two() -> None:
    as_option = CliRunner().invoke(app, ["check", "--env", "weather", "--limit", "2"])
    as_argument = CliRunner().invoke(app, ["check", "weather", "--limit", "2"])
    assert as_option.exit_code == as_argument.exit_code == 0, as_option.output
    assert as_option.output.splitlines()[-1] == as_argument.output.splitlines()[-1]
    both = CliRunner().invoke(app, ["check", "weather", "--env", "wordle"])
    assert both.exit_code == 2 and "two environments given" in both.output
