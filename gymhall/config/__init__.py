"""Configs: typed models, one loader, the registry of bundled environments.

`settings` (the typed config models and `GymConfig`), `loading` (YAML files, includes and overrides into one
`GymConfig`), `yaml_file` (one YAML file read as OmegaConf would), `env_file` (finding and reading
``env.yaml``), `registry` (bundled environments by id).

May import: `gymhall.exceptions` only.
"""
