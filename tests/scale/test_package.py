"""Ray is optional: without `--ray`, `gymhall collect`, `gymhall serve` and `import gymhall.collection` load none."""

from __future__ import annotations

import ast
import signal
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


def test_serve_without_ray_loads_no_ray(tmp_path: Path) -> None:
    """A plain `gymhall serve` (its config has no `ray` block) runs its servers and stops on Ctrl-C, Ray unloaded."""
    config = ROOT / "examples" / "counter" / "configs" / "counter.yaml"
    argv = ["gymhall", "serve", str(config), "--no-head-server"]
    code = f"import sys\nfrom gymhall.cli import main\nsys.argv = {argv!r}\nmain()"
    process = subprocess.Popen(
        [sys.executable, "-c", f"{_REPORT}\n{code}"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "ready (Ctrl-C to stop)" in line:
                break
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    output = "".join(lines) + rest
    assert "ready (Ctrl-C to stop)" in output and process.returncode == 0, output
    assert output.strip().endswith("NO RAY"), output


def test_importing_collection_and_scale_loads_no_ray(tmp_path: Path) -> None:
    result = _run(
        "import gymhall, gymhall.collection, gymhall.collection.runs, gymhall.scale, gymhall.cli.collect, "
        "gymhall.cli.serve, gymhall.scale.serving, gymhall.scale.served, gymhall.scale.router, gymhall.scale.replica",
        tmp_path,
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
