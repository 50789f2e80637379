"""The generator: `gymhall port`, `gymhall init` and `gymhall validate`.

Reads a domain class, writes a served project from `templates/`, and checks it through the validation gates.

May import: `gymhall.checks`, `gymhall.stack` and the layers below them; never `gymhall.cli`.
"""
