"""The resources server: the "world" of an environment, served over HTTP.

`sessions` (signed handles, the bounded store, the reaper), `tools` (the `@tool` spec), `route` (the short
request path: session lookup, validation, the endpoint call, serialization), `endpoint_plan` (how a route
calls its endpoint), `request_body` (reading a body within the size limit), `json_response` (sending JSON
answers and errors), `app` (`GymApp`, the standard routes, serving it), `environment` (the decorator
style), `simple` (the seed documents' `SimpleResourcesServer`), `entrypoints` (loading a server named by
a config into this process).

May import: `gymhall.wire`, `gymhall.config`, `gymhall.exceptions`. Never `gymhall.client` or
`gymhall.collection`: a server does not call out.
"""
