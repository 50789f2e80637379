"""How long `import gymhall` takes, and what importing a server's modules costs, in fresh interpreters.

Each figure is the best of several runs, against a bare `python -c pass` in the same run, since
the machine is shared.

    python bench/import_time.py
"""

from __future__ import annotations

import subprocess
import sys
import time

RUNS = 7
STATEMENTS = {
    "python -c pass": "pass",
    "import gymhall": "import gymhall",
    "import gymhall.cli (gymhall --help)": "import gymhall.cli",
    "a server's modules (gymhall.SimpleResourcesServer)": "import gymhall; gymhall.SimpleResourcesServer",
}


def best_of(statement: str) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    floor = best_of("pass")
    for label, statement in STATEMENTS.items():
        seconds = best_of(statement)
        print(f"{label:52} {seconds:6.3f} s  ({seconds - floor:+.3f} s over the bare interpreter)")


if __name__ == "__main__":
    main()
