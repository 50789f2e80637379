"""`gymhall.bench.ray_rollouts` on a tiny run: one process, then a fresh local Ray cluster of one worker."""

from __future__ import annotations

import pytest

from gymhall.bench.ray_rollouts import bench_ray_rollouts, format_report


def test_the_same_rollouts_run_in_one_process_and_on_ray_and_are_measured() -> None:
    result = bench_ray_rollouts(64, 16, workers=(1,), in_flight=0, model_path="inprocess-fake")
    single, ray_run = result.runs
    assert (single.workers, ray_run.workers) == (0, 1)
    for run in result.runs:
        assert (run.n, run.ok, run.errors) == (64, 64, 0), run.error_samples
        assert run.wall_s > 0 and run.driver_cpu_s > 0
    assert single.workers_cpu_s == 0 and not single.worker_peak_rss
    assert ray_run.workers_cpu_s > 0 and len(ray_run.worker_peak_rss) == 1 and ray_run.worker_peak_rss[0] > 0
    assert set(ray_run.startup_s) == {"cluster", "workers", "first rollout", "total"}
    report = format_report(result)
    assert any(line.startswith("| Ray, 1 worker | 64 | 16 | 64 | 0 |") for line in report), report
    assert any(line.startswith("start-up, Ray, 1 worker: cluster ") for line in report)


def test_an_unknown_model_path_is_refused_before_anything_starts() -> None:
    with pytest.raises(ValueError, match="Unknown model path 'gpu'"):
        bench_ray_rollouts(1, 1, model_path="gpu")  # type: ignore[arg-type]
