"""Secrets in configs: which keys hold them, and copies of values safe to print."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr

__all__ = ["is_secret_key", "redact"]

_SECRET_WORDS = ("api_key", "apikey", "secret", "password", "passwd")


def is_secret_key(key: object) -> bool:
    """Whether a config key holds a secret (api keys, secrets, passwords, ``*token``)."""
    lowered = str(key).lower()
    # "token" only as a suffix so that max_tokens or token_id_capture stay visible.
    return any(word in lowered for word in _SECRET_WORDS) or lowered.endswith("token")


def redact(value: Any) -> Any:
    """Deep copy of `value` with every secret-looking key's value replaced by ``"***"``."""
    if isinstance(value, Mapping):
        return {k: "***" if is_secret_key(k) and v is not None else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, SecretStr):
        return "***"
    return copy.deepcopy(value)
