"""A whole stack from one config: every server instance as its own process, started and stopped together.

`plan` (one `ServerPlan` per instance: command, working directory, address), `ports` (configured ports
checked, free ones picked), `launcher` (the child processes: started, relayed, watched, stopped),
`instances` (the agent and model server entrypoints a config names), `head` (NeMo Gym's head server: the
config and process list collectors read).

May import: every layer below the CLI except `gymhall.checks` and `gymhall.generator`.
"""
