from pathlib import Path

import pytest

from gymhall.collection.datasets import expand_rows, iter_jsonl, read_rows
from gymhall.exceptions import DatasetError


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_rows_are_read_and_checked(tmp_path: Path) -> None:
    path = write(
        tmp_path / "d.jsonl",
        '{"responses_create_params": {"input": "a"}, "x": 1}\n\n{"responses_create_params": {"input": []}}\n',
    )
    assert [row.get("x") for row in read_rows(path)] == [1, None]
    assert len(read_rows(path, limit=1)) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"responses_create_params": {"input": "a"}}\n{oops\n', r"d\.jsonl:2: not valid JSON"),
        ("[1, 2]\n", r"d\.jsonl:1: a line must be a JSON object"),
        ('{"question": "2+2"}\n', r"d\.jsonl:1: the row has no responses_create_params\.input"),
    ],
)
def test_bad_rows_name_the_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        read_rows(write(tmp_path / "d.jsonl", text))


def test_missing_file_names_the_flag(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="--input"):
        read_rows(tmp_path / "nope.jsonl")


def test_torn_tail_is_tolerated_only_when_asked(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", '{"a": 1}\n{"a": 2')
    assert [row for _, row in iter_jsonl(path, tolerate_torn_tail=True)] == [{"a": 1}]
    with pytest.raises(DatasetError, match=":2:"):
        list(iter_jsonl(path))


def test_expand_repeats_each_row_with_task_and_rollout_indices() -> None:
    rows = [{"id": "a"}, {"id": "b", "_ng_task_index": 40}]
    expanded = expand_rows(rows, 2)
    assert [(r["id"], r["_ng_task_index"], r["_ng_rollout_index"]) for r in expanded] == [
        ("a", 0, 0),
        ("a", 0, 1),
        ("b", 40, 0),
        ("b", 40, 1),
    ]
    with pytest.raises(ValueError):
        expand_rows(rows, 0)


def test_latest_lines_keeps_the_newer_line_of_each_rollout() -> None:
    from gymhall.collection.datasets import latest_lines

    old = {"_ng_task_index": 0, "_ng_rollout_index": 0, "status": "failed"}
    other = {"_ng_task_index": 0, "_ng_rollout_index": 1, "status": "ok"}
    new = {"_ng_task_index": 0, "_ng_rollout_index": 0, "status": "ok"}
    loose = {"reward": 1.0}  # no indices: a rollout of its own, never merged
    assert latest_lines([old, other, loose, new, loose]) == [other, loose, new, loose]
