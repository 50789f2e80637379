"""Fixtures shared by the model backend tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from gymhall.testing import serve_in_thread


@pytest.fixture
def serve() -> Iterator[Any]:
    """`serve(app)` -> the base URL (with /v1) of `app` served on a loopback port."""
    with ExitStack() as stack:
        yield lambda app: stack.enter_context(serve_in_thread(app)) + "/v1"


@pytest.fixture
def unused_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
