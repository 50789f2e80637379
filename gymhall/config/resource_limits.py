"""The limits of a resources server: its session store, and what one request and one tool answer may hold.

Every limit is a setting of the server's config (`BaseResourcesServerConfig` inherits them), so a YAML
key or a `key=value` override changes it. The defaults fit one 24 GiB machine that also runs a model
server and a collector:

- `max_sessions` (20,000): an idle seeded session of the bundled `workplace` environment costs about
  70 KiB (measured over 20,000 sessions), so a full store holds 20,000 x 70 KiB = 1.3 GiB; at twice
  that while the sessions work (their tool calls' state, allocator slack), 2.7 GiB, about an eighth of
  24 GiB. The old default of 100,000 was 6.7 GiB idle and up to 14 GB in use. A collector rarely keeps
  more than a few thousand rollouts open; a full store answers 503 with `Retry-After`, never grows.
- `max_tool_body_bytes` (1 MiB) bounds what one tool call can add to a session's state, and
  `max_answer_bytes` (1 MiB, about 250,000 tokens: more than any model's context) what one tool answer
  can cost; an answer over it is refused with a 400 `answer_too_large` whose message the model reads.
  An environment bounds its state further by declaring limits on its tools' fields
  (`Field(max_length=...)`), which the server checks (422) before the tool runs.
- `max_body_bytes` (16 MiB) bounds the other bodies: a `/seed_session` row, a `/verify` request with
  its whole episode.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ResourceLimits"]

_MIB = 1024 * 1024


class ResourceLimits(BaseModel):
    """Session-store and size limits of a resources server; the module's docstring explains the defaults."""

    model_config = ConfigDict(defer_build=True)

    session_ttl_seconds: float = Field(default=600.0, gt=0)  # lease, renewed on each use
    max_sessions: int = Field(default=20_000, gt=0)  # 20,000 x ~70 KiB idle = 1.3 GiB (see the docstring)
    reaper_interval_seconds: float = Field(default=5.0, gt=0)
    max_body_bytes: int = Field(default=16 * _MIB, gt=0)  # seed, verify and other non-tool bodies
    max_tool_body_bytes: int = Field(default=_MIB, gt=0)  # one tool call's arguments
    max_answer_bytes: int = Field(default=_MIB, gt=0)  # one tool's answer, as JSON
