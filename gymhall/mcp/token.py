"""NeMo Gym 0.7's MCP session token: `{"sid", "tools"}` signed as itsdangerous' `URLSafeSerializer` signs.

NeMo Gym signs with secret `"<Class>___<instance>"` and salt `"nemo-gym-mcp-session-token"`; the format is
itsdangerous' (compact JSON, zlib-compressed when shorter and then prefixed with "."; URL-safe base64
without padding; HMAC-SHA1 under the key `sha1(salt + "signer" + secret)`). It is written here rather than
imported, so serving MCP needs no itsdangerous. That secret is public (class and instance names), so the
token only names a session: the `sid` inside is gymhall's own signed session handle, which nobody can forge.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import zlib
from dataclasses import dataclass
from typing import Any

from gymhall.exceptions import InvalidSessionHandle

__all__ = ["MCP_SESSION_HEADER", "TOKEN_SALT", "SessionToken", "TokenSigner"]

MCP_SESSION_HEADER = "X-NeMo-Gym-Session-Token"
"""The header an MCP client sends its session token in (NeMo Gym 0.7's name)."""

TOKEN_SALT = "nemo-gym-mcp-session-token"


@dataclass(frozen=True)
class SessionToken:
    """What a token carries: the session (`sid`, a gymhall session handle) and the tools it may call."""

    sid: str
    tools: tuple[str, ...] | None = None  # None: every tool


def _b64encode(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _b64decode(data: bytes) -> bytes:
    return base64.urlsafe_b64decode(data + b"=" * (-len(data) % 4))


class TokenSigner:
    """Signs `SessionToken`s and reads them back, byte for byte as NeMo Gym 0.7 does."""

    def __init__(self, class_name: str, instance_name: str) -> None:
        secret = f"{class_name}___{instance_name}".encode()
        self._key = hashlib.sha1(TOKEN_SALT.encode() + b"signer" + secret).digest()

    def _signature(self, value: bytes) -> bytes:
        return _b64encode(hmac.new(self._key, value, hashlib.sha1).digest())

    def sign(self, token: SessionToken) -> str:
        """The header value for `token`."""
        payload: dict[str, Any] = {"sid": token.sid, "tools": list(token.tools) if token.tools is not None else None}
        data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        compressed = zlib.compress(data)
        body = b"." + _b64encode(compressed) if len(compressed) < len(data) - 1 else _b64encode(data)
        return (body + b"." + self._signature(body)).decode()

    def unsign(self, text: str) -> SessionToken:
        """The token inside header value `text`; raises `InvalidSessionHandle` when it was not signed here."""
        raw = text.encode()
        body, dot, signature = raw.rpartition(b".")
        if not dot or not body or not hmac.compare_digest(signature, self._signature(body)):
            raise InvalidSessionHandle(
                f"The {MCP_SESSION_HEADER} header holds a token this server did not sign. Send the token "
                "from this server's /seed_session answer (its `mcp` metadata) unchanged."
            )
        try:
            data = zlib.decompress(_b64decode(body[1:])) if body.startswith(b".") else _b64decode(body)
            payload = json.loads(data)
            sid = payload["sid"]
            tools = payload.get("tools")
        except (ValueError, KeyError, TypeError, zlib.error):
            raise InvalidSessionHandle(
                f"The {MCP_SESSION_HEADER} token is signed but its payload is not "
                '{"sid", "tools"}. Seed a new session.'
            ) from None
        if not isinstance(sid, str) or not (tools is None or isinstance(tools, list)):
            raise InvalidSessionHandle(f'The {MCP_SESSION_HEADER} token\'s payload is not {{"sid", "tools"}}.')
        return SessionToken(sid, tuple(str(t) for t in tools) if tools is not None else None)
