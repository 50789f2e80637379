"""The index: byte offsets that read back each line, the newest line per key, appended and torn lines."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from gymhall.cli.main import app
from gymhall.exceptions import DatasetError
from gymhall.view.index import ANSWER_KEY, RolloutIndex, detect_answer_key, prompt_text


def test_every_entry_reads_back_its_own_line(runs: Any) -> None:
    index = RolloutIndex(runs.mixed)
    assert index.refresh() == 37  # 36 rollouts and task 0's superseded failure
    raw = runs.mixed.read_bytes().splitlines()
    assert len(index.entries) == 36 and len(index.tasks) == 12
    for entry in index.entries:
        read_entry, line = index.read(entry.id)
        assert read_entry is entry
        assert line == orjson.loads(raw[entry.line_number - 1])
        assert (line["_ng_task_index"], line["_ng_rollout_index"]) == (entry.task, entry.rollout)


def test_the_newest_line_of_a_key_wins_and_keeps_its_place(runs: Any) -> None:
    index = RolloutIndex(runs.mixed)
    index.refresh()
    first = index.find(0, 0)
    assert first is not None and first.ok and first.reward == 1.0 and first.id == 0 and first.line_number > 1
    failed = [e for e in index.entries if not e.ok]
    assert {e.task for e in failed} == {9, 10, 11} and {e.stage for e in failed} == {"seed"}
    assert all(e.message and e.message.startswith("ServerUnreachable") for e in failed)


def test_nemo_gym_lines_without_keys_are_each_a_task(runs: Any) -> None:
    index = RolloutIndex(runs.nemo)
    index.refresh()
    assert len(index.entries) == len(index.tasks) == 6
    assert all(e.ok and e.timings is None for e in index.entries)
    assert index.entries[0].fields["input_tokens"] == 100.0  # usage counts as a field, as in gymhall metrics
    assert "get_weather tool" in index.tasks["line 1"].prompt  # the user message, not the developer one


def test_refresh_reads_only_appended_lines_and_waits_for_a_torn_tail(tmp_path: Path, runs: Any) -> None:
    lines = runs.mixed.read_bytes().splitlines(keepends=True)
    path = tmp_path / "growing.jsonl"
    path.write_bytes(b"".join(lines[:5]) + lines[5][:40])  # a writer mid-line
    index = RolloutIndex(path)
    assert index.refresh() == 5 and index.bytes_read == sum(len(line) for line in lines[:5])
    version = index.version
    assert index.refresh() == 0 and index.version == version
    with path.open("ab") as handle:
        handle.write(lines[5][40:] + b"".join(lines[6:10]))
    assert index.refresh() == 5 and index.version == version + 1


def test_a_rewritten_file_is_read_afresh(tmp_path: Path, runs: Any) -> None:
    lines = runs.mixed.read_bytes().splitlines(keepends=True)
    path = tmp_path / "rewritten.jsonl"
    path.write_bytes(b"".join(lines[:20]))
    index = RolloutIndex(path)
    index.refresh()
    path.write_bytes(b"".join(lines[:3]))
    index.refresh()
    assert len(index.entries) == 2  # task 0 rollout 0 (its failure superseded) and rollout 1
    assert [e.line_number for e in index.entries] == [2, 3]


def test_lines_that_are_not_objects_are_skipped_and_counted(tmp_path: Path, runs: Any) -> None:
    lines = runs.mixed.read_bytes().splitlines(keepends=True)
    path = tmp_path / "bad.jsonl"
    path.write_bytes(lines[1] + b"not json\n" + b"[1, 2]\n" + b"\n" + lines[2])
    index = RolloutIndex(path)
    assert index.refresh() == 2
    assert index.bad_lines == [2, 3]
    assert index.read(1)[1] == orjson.loads(lines[2])


def test_a_missing_file_is_named() -> None:
    with pytest.raises(DatasetError, match="nowhere.jsonl does not exist"):
        RolloutIndex("nowhere.jsonl")


def test_the_answer_key_is_found_in_runs_that_extract_answers(runs: Any) -> None:
    assert detect_answer_key(runs.answers) == ANSWER_KEY
    assert detect_answer_key(runs.mixed) is None


def test_prompt_text_reads_user_messages_of_either_shape() -> None:
    assert prompt_text({"responses_create_params": {"input": "plain"}}) == "plain"
    given = [
        {"role": "system", "content": "rules"},
        {"role": "user", "content": [{"type": "input_text", "text": "hi"}]},
    ]
    assert prompt_text({"responses_create_params": {"input": given}}) == "hi"


def test_follow_picks_up_lines_while_collect_writes(tmp_path: Path) -> None:
    # A model that takes 20 ms an answer, so that the run lasts long enough to be seen half written.
    server = [sys.executable, "-m", "gymhall.models.fake_openai", "--policy", "echo", "--delay-s", "0.02"]
    model = subprocess.Popen(server, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = tmp_path / "live.jsonl"
    out.write_bytes(b"")
    index = RolloutIndex(out)
    seen: list[int] = []
    done = threading.Event()

    def follow() -> None:
        while not done.is_set():
            index.refresh()
            seen.append(len(index.entries))
            time.sleep(0.005)

    thread = threading.Thread(target=follow)
    try:
        assert model.stdout is not None
        url = next(word for word in model.stdout.readline().split() if word.startswith("http://"))
        thread.start()
        args = ["collect", "--env", "weather", "--limit", "10", "--repeats", "3", "--concurrency", "2"]
        result = CliRunner().invoke(app, [*args, "--model", f"{url}#fake-model", "--overwrite", "-o", str(out)])
        assert result.exit_code == 0, result.output
    finally:
        done.set()
        if thread.is_alive():
            thread.join(10)
        model.kill()
        model.wait(10)
    index.refresh()
    assert len(index.entries) == 30 and all(entry.ok for entry in index.entries)
    assert any(0 < count < 30 for count in seen), "the index never saw a partly written file"
