"""Rollouts beyond one machine: `gymhall collect --ray`, and the same for trainers, on a Ray cluster.

`worker` (`RolloutWorker`: one Ray actor's agent, environment and model, built on the worker),
`runner` (`RayRunner`: a `Runner` that sends rows in batches to the least busy actors and takes lines back in batches;
`ray_rollouts`, the library call; `ray_runner_factory`, what `--ray` hands `run_collect`); and for
`gymhall serve --ray`: `served` (the config's `ray` block, each instance's replicas and their secrets),
`replica` (`ServerReplica`: the actor running one server on its node), `router` (`ReplicaRouter`: one
address per instance, routing each session to the replica whose secret signed its handle), `serving`
(`RayServing`: starts, watches and stops every replica).

The driver alone writes the output (through `gymhall.collection.pool.collect`), so append-only
output, `--resume` and "no row lost, none duplicated" hold as on one machine. Ray (the `ray` extra)
is imported only inside the functions that start or reach a cluster: `import gymhall.scale` loads
nothing of Ray, and no other subpackage imports `ray` (`tests/scale/test_package.py`).

May import: `gymhall.collection`, `gymhall.models`, `gymhall.client`, `gymhall.server`, `gymhall.mcp.connection`,
`gymhall.config`, `gymhall.wire`, `gymhall.exceptions`, and `ray`.
"""

from __future__ import annotations

from gymhall.scale.runner import RayRunner, ray_rollouts, ray_runner_factory
from gymhall.scale.worker import RolloutWorker, WorkerSpec

__all__ = ["RayRunner", "RolloutWorker", "WorkerSpec", "ray_rollouts", "ray_runner_factory"]
