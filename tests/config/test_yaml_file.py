from __future__ import annotations

from pathlib import Path

import pytest

from gymhall.config.yaml_file import read_yaml_file
from gymhall.exceptions import ConfigError


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        read_yaml_file(path)
    return str(info.value)


def test_yaml_scalars_follow_omegaconf(tmp_path: Path) -> None:
    values = read_yaml_file(write(tmp_path / "a.yaml", "day: 2024-01-01\nlr: 1e-5\nflag: yes\n"))
    assert values["day"] == "2024-01-01"
    assert values["lr"] == pytest.approx(1e-5)
    assert values["flag"] is True


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.yaml", "a: 1\nb: [1, 2\nc: 3\n")
    message = error_of(path)
    assert f"{path}:" in message
    assert "invalid YAML near line" in message


def test_duplicate_yaml_key_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "dup.yaml", "a: 1\nb: 2\na: 3\n")
    message = error_of(path)
    assert f"{path}:3" in message
    assert "duplicate key 'a'" in message


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n"])
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str) -> None:
    path = write(tmp_path / "list.yaml", text)
    message = error_of(path)
    assert str(path) in message
    assert "top level must be a mapping" in message
    assert "Fix: start the file with blocks such as 'my_env: ...'" in message


def test_empty_file_is_an_empty_mapping(tmp_path: Path) -> None:
    assert read_yaml_file(write(tmp_path / "empty.yaml", "")) == {}


def test_unreadable_file_names_it(tmp_path: Path) -> None:
    path = write(tmp_path / "latin1.yaml", "")
    path.write_bytes(b"a: \xff\n")
    message = error_of(path)
    assert str(path) in message
    assert "cannot read config file" in message
