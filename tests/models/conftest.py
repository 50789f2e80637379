"""Fixtures shared by the model backend tests."""

from __future__ import annotations

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
