"""Grading helpers for `verify()`: an LLM judge, and a sandbox for code the model wrote.

`judge` (verdict labels, cache, concurrency limit, NeMo Gym's judge-failure contract), `sandbox` (the
`Sandbox` API and its pool), `isolation` (how a sandboxed child is cut off: namespaces, cgroups, rlimits).

May import: `gymhall.models` (a judge is a model), `gymhall.wire`, `gymhall.exceptions`.
"""
