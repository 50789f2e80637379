"""`gymhall view`: a local web page over rollouts files (summary, tasks, trajectories, two runs compared).

`index` (each file read once: byte offsets per line, the newest line per (task, rollout) key, what the
summary and the task table need), `summary` (the run's numbers, through `gymhall.collection.metrics` so
they agree with `gymhall metrics`), `tasks` (the task table), `trajectory` (one line as turns for the page),
`compare` (two runs task by task), `app` (the Starlette app and its JSON), `static/` (the page: plain
HTML, CSS and JavaScript, no build step, nothing fetched at run time).

Nothing below the CLI imports this package. May import: `gymhall.collection`, `gymhall.wire`,
`gymhall.exceptions`, Starlette and uvicorn.
"""
