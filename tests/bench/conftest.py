"""Fixtures shared by the bench tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gymhall.bench.process import ServerProcess, start_server


@pytest.fixture(scope="module")
def baseline_server() -> Iterator[ServerProcess]:
    """The bare Starlette counter app in a uvicorn child on loopback, for the tests of one module."""
    with start_server("gymhall.bench.baseline:app") as server:
        yield server
