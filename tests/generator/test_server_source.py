"""The written `server.py`: the worked examples served in process pass the conformance checks and return images."""

from __future__ import annotations

import base64
import io
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gymhall.generator.port import port
from gymhall.generator.server_source import camel_case

pytestmark = pytest.mark.usefixtures("isolated_imports")

LoadServer = Callable[[Path, str], Any]


def test_camel_case_names_the_generated_classes() -> None:
    assert [camel_case(n) for n in ("move", "sliding_puzzle", "go__fast_", "x_2d")] == [
        "Move",
        "SlidingPuzzle",
        "GoFast",
        "X2d",
    ]


async def test_a_ported_worked_example_passes_the_conformance_checks_in_process(
    worked: tuple[str, Path], load_server: LoadServer
) -> None:
    from gymhall.checks.conformance import check_environment
    from gymhall.collection.datasets import read_rows
    from gymhall.testing import client_for

    name, project = worked
    server = load_server(project, f"{name}_ported_server")
    env_class = next(v for k, v in vars(server).items() if k.endswith("Environment") and k != "Environment")
    async with client_for(env_class()) as client:
        results = await check_environment(client, read_rows(project / f"{name}_gymhall" / "data" / f"{name}.jsonl"))
    assert [r for r in results if not r.passed] == []


async def test_the_screenshot_is_a_png_in_the_documented_shape(
    tmp_path: Path, port_examples: Path, load_server: LoadServer
) -> None:
    from PIL import Image

    from gymhall.testing import client_for

    shutil.copy(port_examples / "desktop" / "desktop.py", tmp_path)
    _, project, _ = port(str(tmp_path / "desktop.py"))
    server = load_server(project, "desktop_shot_server")
    async with client_for(server.DesktopEnvironment()) as client:
        async with await client.seed_session({"goal_text": "hi"}) as session:
            shot = await session.call("screenshot")
    assert (shot["type"], shot["media_type"]) == ("image", "image/png")
    assert Image.open(io.BytesIO(base64.b64decode(shot["data"]))).size == (320, 200)
