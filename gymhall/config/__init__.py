"""Configs: typed models, one loader, the registry of bundled environments.

`settings` (the typed config models and `GymConfig`), `loading` (YAML files, includes and overrides into one
`GymConfig`), `registry` (bundled environments by id).

May import: `gymhall.exceptions` only.
"""
