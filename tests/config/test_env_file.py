from __future__ import annotations

from pathlib import Path

import pytest

from gymhall.config.env_file import find_env_file, read_env_file
from gymhall.exceptions import ConfigError


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_auto_is_env_yaml_of_the_cwd_when_it_exists(cwd: Path) -> None:
    assert find_env_file() is None
    assert find_env_file("auto") is None
    (cwd / "env.yaml").write_text("x: 1\n")
    assert find_env_file("auto") == cwd.resolve() / "env.yaml"


def test_none_means_no_env_file(cwd: Path) -> None:
    (cwd / "env.yaml").write_text("x: 1\n")
    assert find_env_file(None) is None
    assert find_env_file(None, dotenv_path="env.yaml") is None


def test_dotenv_path_replaces_auto_and_explicit_paths_resolve_against_the_cwd(cwd: Path) -> None:
    (cwd / "env.yaml").write_text("x: default\n")
    (cwd / "env.dev.yaml").write_text("x: dev\n")
    dev = cwd.resolve() / "env.dev.yaml"
    assert find_env_file("auto", dotenv_path="env.dev.yaml") == dev
    assert find_env_file("env.dev.yaml") == dev
    assert find_env_file(cwd / "env.dev.yaml") == dev


@pytest.mark.parametrize(("env_file", "dotenv_path"), [("env.prod.yaml", None), ("auto", "env.prod.yaml")])
def test_a_named_file_must_exist(cwd: Path, env_file: str, dotenv_path: str | None) -> None:
    with pytest.raises(ConfigError) as info:
        find_env_file(env_file, dotenv_path=dotenv_path)
    message = str(info.value)
    assert "env file 'env.prod.yaml' not found" in message
    assert str(cwd / "env.prod.yaml") in message
    assert "env_file=None" in message


def test_read_env_file_is_a_mapping(cwd: Path) -> None:
    path = cwd / "env.yaml"
    path.write_text("policy_base_url: http://127.0.0.1:8000/v1\npolicy_model_name: m\n")
    assert read_env_file(path) == {"policy_base_url": "http://127.0.0.1:8000/v1", "policy_model_name": "m"}
    path.write_text("")
    assert read_env_file(path) == {}


def test_read_env_file_that_is_not_a_mapping_names_file_and_fix(cwd: Path) -> None:
    path = cwd / "env.yaml"
    path.write_text("- policy_base_url\n")
    with pytest.raises(ConfigError) as info:
        read_env_file(path)
    message = str(info.value)
    assert str(path) in message
    assert "top level must be a mapping of keys to values, not a list" in message
    assert "Fix: write it as key: value lines" in message
