"""What the client sends and reads: tool names and arguments checked, refusals as `ServerError` messages."""

from __future__ import annotations

import pytest

from gymhall import ServerError
from gymhall.client.resources import AsyncResourcesClient


async def test_server_error_names_method_path_status_and_detail(client: AsyncResourcesClient) -> None:
    async with await client.seed_session() as session:
        with pytest.raises(ServerError) as caught:
            await session.call("increment", by="two")
        error = caught.value
        assert error.status_code == 422
        assert error.body["error"] == "validation_error"
        assert "POST /increment failed with status 422" in str(error)
        assert "field 'by'" in str(error)

        with pytest.raises(ServerError) as caught:
            await session.call("no_such_tool", {})
        assert caught.value.status_code == 404
        assert "POST /no_such_tool failed with status 404: Not Found" in str(caught.value)
        assert "no tool 'no_such_tool'" in str(caught.value)

    with pytest.raises(ServerError, match=r"POST /seed_session failed with status 422: .*initial_count"):
        await client.seed_session({"initial_count": "many"})


async def test_call_refuses_non_tools_and_mixed_arguments(client: AsyncResourcesClient) -> None:
    async with await client.seed_session() as session:
        with pytest.raises(ValueError, match=r"session\.verify\(\)"):
            await session.call("verify", {})
        with pytest.raises(ValueError, match="not a tool name"):
            await session.call("../seed_session")
        with pytest.raises(TypeError, match="not both"):
            await session.call("increment", '{"by": 1}', by=2)
