"""Structured outputs: JSON (or YAML, TOML, CSV) answers graded against the row's JSON Schema."""
