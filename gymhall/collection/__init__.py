"""Rollout collection: the agent loop, and running it over datasets at scale.

`agent` (one rollout: seed, model, tools, verify; and `RemoteAgent` for an agent server), `agent_server`
(the agent over HTTP), `pool` (`rollouts()`: bounded concurrency, retries, resume), `runs` (the `collect`
and `reverify` runs as library calls), `datasets` (reading rows, expanding repeats), `metrics` (the
metrics file of a run).

Named `collection`, not `rollouts`: `gymhall.rollouts` is the public function of `pool`, and a subpackage
of that name would replace it on the package once imported.

May import: `gymhall.server` (to run an environment in process), `gymhall.models`, `gymhall.client`,
`gymhall.config`, `gymhall.wire`, `gymhall.exceptions`.
"""
