"""Mutation testing of the modules that implement gymhall's promises, run by hand before a release.

mutmut (https://github.com/boxed/mutmut) changes one line of a module at a time and runs the tests
that cover it; a change no test notices ("survived") is a promise the suite does not check. It is
in no extra, and CI never installs it; install it by hand into the project's environment:

    pip install mutmut            # 3.x; measured with 3.8.1
    python bench/mutation.py                              # every module below, 10 minutes each
    python bench/mutation.py gymhall/server/sessions.py   # one module
    python bench/mutation.py --minutes 5 --max-children 2 gymhall/collection/agent.py

Each module is mutated in its own temporary copy of the repository (the tracked and untracked,
not ignored files), so mutmut's working files (`mutants/`, its config) never land in the tree.
The tests run are the module's own test files only (MODULES below). A run stops after
`--minutes`; mutants not reached by then are counted as "not checked". Prints, per module, the
counts (killed, survived, timeout, ...) and the surviving mutants; `--show` prints their diffs.
The last score is in bench/README.md, "Mutation testing".
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Each promise-bearing module, and the test files that cover it.
MODULES: dict[str, list[str]] = {
    # tests/server/test_environment.py is left out: one of its tests holds state across mutmut's
    # in-process runs (its clean run fails), so it cannot be in any module's selection.
    "gymhall/server/sessions.py": ["tests/server/test_sessions.py", "tests/server/test_route.py"],
    "gymhall/server/route.py": ["tests/server/test_route.py", "tests/server/test_request_body.py"],
    "gymhall/server/request_body.py": ["tests/server/test_request_body.py", "tests/server/test_route.py"],
    "gymhall/collection/agent.py": ["tests/collection/test_agent.py"],
    "gymhall/collection/pool.py": ["tests/collection/test_pool.py"],
    "gymhall/checks/conformance.py": ["tests/checks/test_conformance.py"],
    "gymhall/generator/validation.py": ["tests/generator/test_validation.py"],
    "gymhall/grading/sandbox.py": ["tests/grading/test_sandbox.py"],
}


def _copy_repository(destination: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for raw in listed:
        if not raw:
            continue
        source = ROOT / os.fsdecode(raw)
        if not source.is_file():
            continue  # deleted in the work tree, or a submodule
        target = destination / os.fsdecode(raw)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def _configure(copy: Path, module: str, tests: list[str]) -> None:
    def toml_list(items: list[str]) -> str:
        return "[" + ", ".join(json.dumps(item) for item in items) + "]"

    with (copy / "pyproject.toml").open("a", encoding="utf-8") as file:
        file.write(
            "\n[tool.mutmut]\n"
            'source_paths = ["gymhall"]\n'
            f"only_mutate = {toml_list([module])}\n"
            f"pytest_add_cli_args_test_selection = {toml_list(tests)}\n"
            'pytest_add_cli_args = ["-q", "-p", "no:cacheprovider", "-x"]\n'
            # mutmut runs the tests in `mutants/`, a copy of `source_paths` and `tests` only; the validation
            # tests port the example projects under examples/, so their clean run failed without them.
            'also_copy = ["examples"]\n'
            "use_git_change_detection = false\n"
        )


def _mutmut(copy: Path, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "mutmut", *args]
    process = subprocess.Popen(
        command, cwd=copy, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGINT)  # mutmut records what it has checked so far
        try:
            output, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
    return subprocess.CompletedProcess(command, process.returncode, output, "")


def _survivors(copy: Path) -> list[tuple[str, str]]:
    listed = _mutmut(copy, "results").stdout
    found: list[tuple[str, str]] = []
    for line in listed.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if name and status:
            found.append((name, status))
    return found


def run_module(module: str, minutes: float, max_children: int, show: bool) -> dict[str, object]:
    tests = MODULES[module]
    with tempfile.TemporaryDirectory(prefix="gymhall-mutation-") as directory:
        copy = Path(directory)
        _copy_repository(copy)
        _configure(copy, module, tests)
        started = _mutmut(copy, "run", "--max-children", str(max_children), timeout=minutes * 60)
        _mutmut(copy, "export-cicd-stats")
        stats_path = copy / "mutants" / "mutmut-cicd-stats.json"
        if not stats_path.exists():
            print(started.stdout[-4000:], file=sys.stderr)
            raise SystemExit(f"mutmut wrote no results for {module}: see its output above")
        stats: dict[str, object] = json.loads(stats_path.read_text())
        if stats["killed"] == stats["survived"] == stats["timeout"] == 0:
            print(started.stdout[-4000:], file=sys.stderr)  # most often: a test failed before any mutation
        survivors = _survivors(copy)
        stats["module"] = module
        stats["tests"] = tests
        stats["not_killed"] = [f"{name}: {status}" for name, status in survivors]
        if show:
            for name, status in survivors:
                if status in ("survived", "timeout", "suspicious"):
                    print(_mutmut(copy, "show", name).stdout)
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", help="modules to mutate (default: all of MODULES)")
    parser.add_argument("--minutes", type=float, default=10.0, help="time limit per module (default 10)")
    parser.add_argument("--max-children", type=int, default=2, help="mutants tested at once (default 2)")
    parser.add_argument("--show", action="store_true", help="print the diff of every surviving mutant")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    options = parser.parse_args()
    modules = options.modules or list(MODULES)
    unknown = [module for module in modules if module not in MODULES]
    if unknown:
        parser.error(f"no test files are listed for {unknown}: add the module and its tests to MODULES")
    if shutil.which("git") is None:
        parser.error("git is needed to list the files to copy: install git")
    try:
        import mutmut  # noqa: F401
    except ImportError:
        parser.error("mutmut is not installed: run `pip install mutmut` in this environment")
    results = []
    for module in modules:
        stats = run_module(module, options.minutes, options.max_children, options.show)
        results.append(stats)
        checked = sum(int(stats[key]) for key in ("killed", "survived", "timeout", "suspicious", "segfault"))  # type: ignore[call-overload]
        print(
            f"{module}: {stats['killed']} killed, {stats['survived']} survived, {stats['timeout']} timeout, "
            f"{stats['suspicious']} suspicious, {stats['no_tests']} no tests, "
            f"{int(stats['total']) - checked - int(stats['no_tests'])} not checked, of {stats['total']}",  # type: ignore[call-overload]
            flush=True,
        )
        for line in stats["not_killed"]:  # type: ignore[attr-defined]
            print(f"    {line}")
    if options.json:
        options.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
