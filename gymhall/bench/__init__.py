"""Benchmark support for ``gymhall bench``: load generator, bare-Starlette baseline, server launcher."""
