"""`gymhall.collection.fingerprints`: the input rows' fingerprint beside a rollouts file."""

from pathlib import Path

import pytest

from gymhall.collection.fingerprints import check_fingerprint, fingerprint_path, input_fields, write_fingerprint
from gymhall.exceptions import DatasetError

ROWS = [{"responses_create_params": {"input": f"task {i}"}, "world_seed": i} for i in range(4)]


def test_the_fingerprint_lies_beside_the_output_and_names_the_input_and_fields(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    write_fingerprint(out, Path("data.jsonl"), ROWS, merge=False)
    assert fingerprint_path(out) == tmp_path / "out_inputs.json"
    assert input_fields(out) == {"responses_create_params", "world_seed"}
    check_fingerprint(out, Path("data.jsonl"), ROWS)  # the same rows: no error


def test_changed_rows_are_refused_and_new_rows_are_not(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    write_fingerprint(out, Path("a.jsonl"), ROWS[:2], merge=False)
    check_fingerprint(out, Path("a.jsonl"), ROWS)  # rows 2 and 3 are new (a larger --limit): fine
    changed = [ROWS[0], {**ROWS[1], "world_seed": 7}, *ROWS[2:]]
    with pytest.raises(DatasetError, match=r"--input b.jsonl differ .* \(a.jsonl, recorded in .*out_inputs.json\)"):
        check_fingerprint(out, Path("b.jsonl"), changed)


def test_merge_keeps_the_rows_recorded_before(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    write_fingerprint(out, Path("a.jsonl"), ROWS[:2], merge=False)
    write_fingerprint(out, Path("a.jsonl"), ROWS[2:3], merge=True)
    with pytest.raises(DatasetError, match="first at task 0"):
        check_fingerprint(out, Path("a.jsonl"), [{**ROWS[0], "world_seed": 9}])
    assert input_fields(tmp_path / "none.jsonl") is None
