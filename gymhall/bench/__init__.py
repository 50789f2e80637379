"""`gymhall bench`: workload R (a resources server under load) and workload E (whole rollouts).

Computes and returns figures and writes JSON; printing belongs to `gymhall.cli.bench`.

May import: every layer below the CLI.
"""
