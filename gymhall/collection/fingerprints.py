"""The fingerprint of a run's input rows, kept beside its rollouts file: `<stem>_inputs.json`.

`gymhall collect` writes it before the first rollout: the `--input` path, a short hash of each row
by its task index, and the names of the rows' fields. `--resume` reads it back and refuses an input
whose rows differ from the ones the output was collected from (old lines are matched to rows by
index, so another file would silently mix two datasets). Rows only the new input has (a larger
`--limit`) are fine. The metrics read the field names: a field of the rows (a seed, an id) is an
input, never a metric.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from gymhall.exceptions import DatasetError
from gymhall.wire.lines import TASK_KEY

__all__ = ["check_fingerprint", "fingerprint_path", "input_fields", "write_fingerprint"]


def fingerprint_path(output: Path) -> Path:
    """Where the fingerprint of a rollouts file's input goes: beside it, `<stem>_inputs.json`."""
    return output.with_name(output.stem + "_inputs.json")


def _row_hashes(rows: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    hashes = {}
    for position, row in enumerate(rows):
        encoded = orjson.dumps(row, option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY)
        hashes[str(row.get(TASK_KEY, position))] = hashlib.sha256(encoded).hexdigest()[:16]
    return hashes


def _read(output: Path) -> dict[str, Any] | None:
    path = fingerprint_path(output)
    try:
        value = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except orjson.JSONDecodeError as exc:
        raise DatasetError(f"{path} is not valid JSON ({exc}). Delete it to resume without the input check.") from None
    return value if isinstance(value, dict) else None


def check_fingerprint(output: Path, input: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    """Raise `DatasetError` when `rows` (read from `input`) differ from the rows `output` was collected from.

    An output without a fingerprint (written by an older gymhall, or by NeMo Gym) is not checked.
    """
    recorded = _read(output)
    if recorded is None or not isinstance(recorded.get("rows"), dict):
        return
    old: dict[str, str] = recorded["rows"]
    differing = [task for task, digest in _row_hashes(rows).items() if task in old and old[task] != digest]
    if not differing:
        return
    more = f" (and {len(differing) - 1} more)" if len(differing) > 1 else ""
    raise DatasetError(
        f"--resume: the rows of --input {input} differ from those {output} was collected from "
        f"({recorded.get('input')}, recorded in {fingerprint_path(output)}), first at task {differing[0]}{more}. "
        f"Resume with --input {recorded.get('input')}, or start again with --overwrite or another --output."
    )


def write_fingerprint(output: Path, input: Path, rows: Sequence[Mapping[str, Any]], *, merge: bool) -> None:
    """Record `rows` (read from `input`) beside `output`; with `merge`, keep the rows recorded before (a resume)."""
    recorded = _read(output) if merge else None
    hashes: dict[str, str] = dict(recorded["rows"]) if recorded and isinstance(recorded.get("rows"), dict) else {}
    fields = set(recorded.get("fields") or ()) if recorded else set()
    hashes.update(_row_hashes(rows))
    fields.update(key for row in rows for key in row)
    path = fingerprint_path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    record = {"input": str(input), "fields": sorted(fields), "rows": hashes}
    temporary.write_bytes(orjson.dumps(record) + b"\n")
    os.replace(temporary, path)  # never a half-written fingerprint, even when killed


def input_fields(output: Path) -> frozenset[str] | None:
    """The field names of the rows `output` was collected from, or None when it has no fingerprint."""
    try:
        recorded = _read(output)
    except DatasetError:
        return None
    fields = recorded.get("fields") if recorded else None
    return frozenset(str(name) for name in fields) if isinstance(fields, list) else None
