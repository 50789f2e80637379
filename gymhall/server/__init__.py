"""The resources server: the "world" of an environment, served over HTTP.

`sessions` (signed handles, the bounded store, the reaper), `tools` (the `@tool` spec), `routing` (the
short request path: session lookup, validation, serialization), `app` (the app with its standard routes,
serving it), `environment` (the decorator style), `simple` (the seed documents' `SimpleResourcesServer`),
`entrypoints` (loading a server named by a config into this process).

May import: `gymhall.wire`, `gymhall.config`, `gymhall.exceptions`. Never `gymhall.client` or
`gymhall.collection`: a server does not call out.
"""
