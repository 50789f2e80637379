"""Seed once, fork N: the rollouts of one task share one seeding (`gymhall collect --repeats N --fork`).

GRPO-style training runs each row N times; where seeding is costly (a world to build, a repository to
check out) the N seedings dominate. `SessionForks` seeds a task's first rollout, asks the server for
`POST /fork_session` copies of that session for the task's other rollouts, and closes the parent:
every rollout still gets a session of its own, independent of the others, starting from the same
state. A retried rollout (its group already handed out) is seeded afresh, and so is every rollout
where the server cannot fork (501, NeMo Gym servers): forking is an optimisation, never a
requirement.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from gymhall.client.resources import AsyncResourcesClient, AsyncResourcesSession
from gymhall.exceptions import ServerError
from gymhall.wire.lines import TASK_KEY

__all__ = ["SessionForks"]

logger = logging.getLogger("gymhall.collection")


class SessionForks:
    """Hands out sessions for rollouts, one seeding per task: call `expect(rows)` with the rows about to run.

    `seed_session(row)` then seeds the first rollout of a task that has several to run, forks the
    rest from it, and hands each later rollout of the task one of those forks.
    """

    def __init__(self, resources: AsyncResourcesClient) -> None:
        self.resources = resources
        self.seeded = 0
        """Sessions seeded through `POST /seed_session` (forks are not counted)."""
        self.forked = 0
        """Sessions made by `POST /fork_session`."""
        self._left: Counter[Any] = Counter()
        self._groups: dict[Any, asyncio.Future[list[AsyncResourcesSession]]] = {}
        self._unsupported = False

    def expect(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Count the rollouts of each task about to run (each is one `seed_session` call)."""
        self._left = Counter(row.get(TASK_KEY) for row in rows)

    async def seed_session(self, row: Mapping[str, Any], *, deadline: float | None = None) -> AsyncResourcesSession:
        """A session for a rollout of `row`: a fork of its task's seeding where one is left, else a new one.

        `deadline` is the rollout's (see `AsyncResourcesClient.seed_session`); a fork gets it too.
        """
        key = row.get(TASK_KEY)
        left = self._left[key]
        self._left[key] = max(0, left - 1)
        group = self._groups.get(key)
        if group is None and left > 1 and not self._unsupported:
            group = self._groups[key] = asyncio.ensure_future(self._seed_group(row, left))
        if group is not None:
            try:
                children = await asyncio.shield(group)
            except (ServerError, httpx.HTTPError):
                children = []  # the group's seeding failed: this rollout seeds (and fails) on its own
            if children:
                child = children.pop()
                child.deadline = deadline
                if not children:
                    self._groups.pop(key, None)
                return child
            self._groups.pop(key, None)
        self.seeded += 1
        return await self.resources.seed_session(dict(row), deadline=deadline)

    async def _seed_group(self, row: Mapping[str, Any], size: int) -> list[AsyncResourcesSession]:
        """Seed `row` once and fork it `size` times; the parent is closed (each rollout plays a fork)."""
        self.seeded += 1
        parent = await self.resources.seed_session(dict(row))
        try:
            children = await parent.fork(size)
        except ServerError as exc:
            if exc.status_code != 501:
                raise
            self._unsupported = True
            logger.warning("the resources server cannot fork sessions (%s); seeding every rollout instead", exc)
            return []
        finally:
            await parent.close()
        self.forked += len(children)
        return children
