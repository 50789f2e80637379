"""Ray is optional: without `--ray`, neither `gymhall collect` nor `import gymhall.collection` loads it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_REPORT = "import atexit, sys; atexit.register(lambda: print('RAY LOADED' if 'ray' in sys.modules else 'NO RAY'))"


def _run(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", f"{_REPORT}\n{code}"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )


def test_collect_without_ray_loads_no_ray(tmp_path: Path) -> None:
    code = (
        "import sys\nfrom gymhall.cli import main\n"
        f"sys.argv = ['gymhall', 'collect', '--env', 'weather', '--model', 'replay', '--limit', '2', "
        f"'-o', {str(tmp_path / 'out.jsonl')!r}]\nmain()"
    )
    result = _run(code, tmp_path)
    assert len((tmp_path / "out.jsonl").read_bytes().splitlines()) == 2, result.stderr
    assert result.stdout.strip().endswith("NO RAY"), result.stdout + result.stderr


def test_importing_collection_and_scale_loads_no_ray(tmp_path: Path) -> None:
    result = _run(
        "import gymhall, gymhall.collection, gymhall.collection.runs, gymhall.scale, gymhall.cli.collect", tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "NO RAY"


def test_only_gymhall_scale_imports_ray() -> None:
    """A source check, as import-linter's would be: `ray` appears in imports under gymhall/scale/ only."""
    importers = set()
    for path in (ROOT / "gymhall").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            if any(name == "ray" or name.startswith("ray.") for name in names):
                importers.add(path.relative_to(ROOT).parent.as_posix())
    assert importers == {"gymhall/scale"}
