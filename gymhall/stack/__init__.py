"""A whole stack from one config: every server instance as its own process, started and stopped together.

`launcher` (plans, ports, child processes, readiness), `instances` (the agent and model server entrypoints a
config names).

May import: every layer below the CLI except `gymhall.checks` and `gymhall.generator`.
"""
