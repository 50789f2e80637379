"""Workload E: both modes and the in-flight test, on tiny bounded runs over loopback."""

import psutil
import pytest

from gymhall.bench.http_stack import run_http
from gymhall.bench.rollout_results import NEMO_GYM_ROLLOUTS_PER_S, RolloutsResult
from gymhall.bench.rollouts import bench_rollouts, run_inprocess

pytestmark = pytest.mark.slow

TIMEOUT_S = 120.0


def _assert_clean(result: RolloutsResult, n: int) -> None:
    assert result.ok == n and result.errors == 0 and result.wrong_rewards == 0, result.error_samples
    assert result.run_s > 0 and result.wall_s >= result.run_s and result.startup_s > 0
    assert result.rollouts_per_s == pytest.approx(n / result.run_s)
    assert result.vs_nemo_gym == pytest.approx(result.rollouts_per_s / NEMO_GYM_ROLLOUTS_PER_S)
    # A tiny run can cost a fast server less than the OS's CPU accounting tick, so only the sum must be positive.
    assert sum(process.cpu_s for process in result.processes) > 0
    for process in result.processes:
        assert process.cpu_s >= 0 and process.total_cpu_s >= process.cpu_s
        assert process.peak_rss_bytes > 10 * 2**20


def _assert_children_gone(result: RolloutsResult) -> None:
    me = psutil.Process()
    children = {child.pid for child in me.children(recursive=True)}
    for process in result.processes:
        if process.pid != me.pid:
            assert process.pid not in children and not psutil.pid_exists(process.pid), process


def test_inprocess_mode_calls_a_model_server_in_another_process_over_http_by_default() -> None:
    result = run_inprocess(20, 8, timeout_s=TIMEOUT_S)
    _assert_clean(result, 20)
    assert result.model_path == "http"
    child, model = result.processes
    assert (child.name, model.name) == ("in-process", "model") and child.pid != model.pid
    # The agent called the backend users run (`--model http://...`) at the model server's loopback URL.
    assert result.model.startswith("OpenAIResponsesModel('fake-model', base_url=['http://127.0.0.1:")
    assert model.total_cpu_s > 0 and model.peak_rss_bytes > 10 * 2**20
    assert result.stack_rss_bytes == child.peak_rss_bytes + model.peak_rss_bytes
    assert 0 < result.startup_s < result.wall_s - result.run_s  # spawn to the first rollout, exit not included
    _assert_children_gone(result)


def test_the_inprocess_fake_model_is_an_option_without_a_model_server() -> None:
    result = run_inprocess(20, 8, model_path="inprocess-fake", timeout_s=TIMEOUT_S)
    _assert_clean(result, 20)
    assert result.model_path == "inprocess-fake" and result.model.startswith("FakeModel")
    assert [p.name for p in result.processes] == ["in-process"]
    _assert_children_gone(result)


def test_http_mode_runs_through_three_servers_and_stops_them() -> None:
    result = run_http(20, 8, timeout_s=TIMEOUT_S)
    _assert_clean(result, 20)
    names = [p.name for p in result.processes]
    assert names == ["agent", "resources", "model", "driver"]
    servers = [p for p in result.processes if p.server]
    assert result.stack_rss_bytes == sum(p.peak_rss_bytes for p in servers)
    assert len({p.pid for p in result.processes}) == 4
    assert result.model_path == "http" and result.model.startswith("http://127.0.0.1:")
    _assert_children_gone(result)


def test_inflight_runs_every_rollout_at_once() -> None:
    [result] = bench_rollouts(inflight=30, timeout_s=TIMEOUT_S)
    assert result.mode == "inflight" and result.n == result.concurrency == 30
    _assert_clean(result, 30)


def test_bad_arguments_are_refused_before_anything_starts() -> None:
    with pytest.raises(ValueError, match="Unknown mode"):
        bench_rollouts(modes=["inprocess", "nope"], ns=[1])
    with pytest.raises(ValueError, match="at least 1"):
        bench_rollouts(ns=[0])
    with pytest.raises(ValueError, match="Unknown model path 'elsewhere'"):
        bench_rollouts(ns=[1], model_path="elsewhere")  # type: ignore[arg-type]
