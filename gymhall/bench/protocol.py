"""The HTTP protocol every gymhall server runs under, importable by `uvicorn --http`.

`gymhall.server.app.serve_app` and `gymhall serve-model`/`serve-agent` serve with uvicorn's httptools
protocol wrapped by `gymhall.server.connections` (request deadline, connection cap); the benchmarks start
gymhall's servers with the same protocol, so their figures are those of the path users run.
"""

from __future__ import annotations

from gymhall.config.connections import ConnectionSettings
from gymhall.server.connections import protocol_class

__all__ = ["SERVER_PROTOCOL", "SERVER_PROTOCOL_IMPORT"]

SERVER_PROTOCOL = protocol_class(ConnectionSettings())
"""uvicorn's httptools protocol with gymhall's default connection settings."""

SERVER_PROTOCOL_IMPORT = f"{__name__}:SERVER_PROTOCOL"
