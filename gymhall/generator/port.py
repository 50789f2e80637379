"""`gymhall port`: serve an existing domain class as a gymhall environment, without copying its logic.

    spec, project, files = port("examples/port/sliding_puzzle/sliding_puzzle.py")

`port` loads the class (`gymhall.generator.domain_import`), reads it into a `DomainSpec`
(`gymhall.generator.inspection`) and writes its project (`gymhall.generator.project`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from gymhall.exceptions import port_error
from gymhall.generator.domain_import import load_domain
from gymhall.generator.inspection import inspect_domain
from gymhall.generator.project import PROJECT_MODULES, write_project
from gymhall.generator.spec import DomainSpec

__all__ = ["port"]


def port(
    target: str,
    *,
    out: Path | None = None,
    dataset: Path | None = None,
    verify_method: str | None = None,
    reward_method: str | None = None,
    exclude: Iterable[str] = (),
    domain: str | None = None,
    force: bool = False,
) -> tuple[DomainSpec, Path, list[Path]]:
    """`gymhall port`: load `target`, read it, write its project; returns the spec, the project and the files.

    The project goes to `out`, by default a `gymhall/` folder beside the domain module.
    """
    from gymhall.collection.datasets import read_rows
    from gymhall.config.settings import Domain

    if domain is not None and domain not in {d.value for d in Domain}:
        allowed = ", ".join(d.value for d in Domain)
        raise port_error(f"--domain {domain}", "not a domain gymhall knows", f"use one of: {allowed}")
    cls, root = load_domain(target)
    spec = inspect_domain(cls, root=root, verify_method=verify_method, reward_method=reward_method, exclude=exclude)
    if spec.env_name in PROJECT_MODULES:
        raise port_error(
            spec.module, f"a domain module named {spec.env_name!r} would clash with the project's own", "rename it"
        )
    if out is None:
        module_file = sys.modules[cls.__module__].__file__
        out = (Path(module_file).resolve().parent if module_file else Path.cwd()) / "gymhall"
    rows = read_rows(dataset) if dataset is not None else None
    flags = [f"--out {out}"]
    if dataset is not None:
        flags.append(f"--dataset {dataset}")
    if verify_method:
        flags.append(f"--verify-method {verify_method}")
    if reward_method:
        flags.append(f"--reward-method {reward_method}")
    flags.extend(f"--exclude {name}" for name in exclude)
    command = f"gymhall port {target} {' '.join(flags)} --force"
    written = write_project(spec, out, rows=rows, domain=domain, force=force, command=command)
    return spec, out.resolve(), written
