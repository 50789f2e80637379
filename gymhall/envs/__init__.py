"""The bundled environments: one directory each; `gymhall envs` lists them (see gymhall/config/registry.py)."""
