"""Clients of a resources server, and the HTTP pool every async hot path uses.

`resources` (`AsyncResourcesClient`, `ResourcesClient`), `sessions` (a rollout's session as a client holds
it: handle and cookies), `messages` (what a client sends and reads), `transports` (calling an ASGI app in
process, without a port), `http` (`HttpPool`: which HTTP stack serves a URL, and why), `lean_pool` (the
httptools client for plain http).

May import: `gymhall.wire`, `gymhall.exceptions`. Never FastAPI: a client runs where no server does.
"""
