"""Rollouts: the agent loop and collection at scale.

`agent` (one rollout: seed, model, tools, verify; and `RemoteAgent` for an agent server), `agent_server`
(the agent over HTTP), `pool` (bounded concurrency, retries, resume), `collection` (the `collect` and
`reverify` runs as library calls), `datasets` (reading rows, expanding repeats), `metrics` (the metrics
file of a run).

May import: `gymhall.server` (to run an environment in process), `gymhall.models`, `gymhall.client`,
`gymhall.config`, `gymhall.wire`, `gymhall.exceptions`.
"""
