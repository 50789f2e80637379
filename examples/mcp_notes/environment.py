"""The notes environment: the MCP notes server (`server.py`) played through `McpEnvironment`.

Its configuration (`configs/mcp_notes.yaml`) names the server's command and the verify callable; this
file only places them: relative paths in the command resolve from this directory.

    python environment.py --config configs/mcp_notes.yaml      # serve it over HTTP
"""

from __future__ import annotations

from gymhall.mcp.environment import McpEnvironment


class NotesEnvironment(McpEnvironment):
    """A notes store over MCP: add, list, read, tag, append to and delete notes."""

    domain = "agent"


if __name__ == "__main__":
    NotesEnvironment.run_webserver()
