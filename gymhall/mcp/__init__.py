"""MCP both ways: any environment's tools served over MCP, and any MCP server as an environment.

Server side (below `gymhall.server`, which mounts it when a config says `expose_tools_over_mcp: true`):
`token` (NeMo Gym 0.7's signed `X-NeMo-Gym-Session-Token`), `exposure` (the `/mcp` endpoint and the seed
answer's MCP metadata, over the app's own HTTP routes in process). Environment side (above
`gymhall.server`): `schemas` (MCP input schemas as strict tool schemas), `connection` (one MCP client
session, stdio or HTTP, owned by one task), `environment` (`McpEnvironment`).

The `mcp` SDK is an optional extra (`pip install gymhall[mcp]`), imported only by these modules, and only
when one of them is used: importing gymhall, or serving an environment without MCP, never imports it.

May import: `gymhall.wire`, `gymhall.exceptions`; the environment side also `gymhall.server`,
`gymhall.config`.
"""

__all__: list[str] = []
