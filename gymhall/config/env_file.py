"""``env.yaml``: the file of endpoints and secrets beside a checkout (NeMo Gym's), found and read in one place.

`find_env_file` decides which file counts: ``"auto"`` means ``./env.yaml`` if it exists, or the file a
``dotenv_path`` override names; `read_env_file` reads it into a mapping. `load_config` merges it above
the YAML files, `gymhall serve` names it to its children, and ``gymhall collect --model policy``
reads the policy endpoint from it, so all three agree on the file and on how it is parsed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from gymhall.config.settings import config_error
from gymhall.config.yaml_file import read_yaml_file

__all__ = ["ENV_FILE_NAME", "find_env_file", "read_env_file"]

#: The name looked for in the current directory when the env file is ``"auto"``.
ENV_FILE_NAME = "env.yaml"


def find_env_file(
    env_file: str | Path | None | Literal["auto"] = "auto", *, dotenv_path: str | None = None
) -> Path | None:
    """The absolute path of the env file to load, or None when there is none.

    `env_file` is ``"auto"`` (the file `dotenv_path` names if given, else ``./env.yaml`` if it
    exists), an explicit path (relative to the cwd), or None for no env file. A file named
    explicitly, or by `dotenv_path`, must exist: `ConfigError` otherwise.
    """
    if env_file is None:
        return None
    if env_file == "auto":
        if dotenv_path is None:
            auto = Path.cwd() / ENV_FILE_NAME
            return auto.resolve() if auto.is_file() else None
        env_file = dotenv_path
    path = Path(env_file).expanduser()
    path = path if path.is_absolute() else Path.cwd() / path
    if not path.is_file():
        fix = "create it, correct the path, or pass env_file=None to load none"
        raise config_error(f"env file {str(env_file)!r} not found (looked for {path})", fix)
    return path.resolve()


def read_env_file(path: Path) -> dict[Any, Any]:
    """The env file's values: a mapping of names to values; `ConfigError` naming the file if it is not one."""
    return read_yaml_file(path, mapping_fix="write it as key: value lines, e.g. policy_base_url: http://HOST:PORT/v1")
