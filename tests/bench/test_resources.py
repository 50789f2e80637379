"""Workload R: the orchestration of `bench_resources`, on tiny bounded runs over loopback."""

import pytest

from gymhall.bench.resources import BASELINE, bench_resources

pytestmark = pytest.mark.slow


def test_targets_are_measured_and_compared_with_the_floor() -> None:
    rows = bench_resources(targets=[BASELINE, "gymhall-short-style"], concurrencies=[4], tool_calls=2, duration_s=1.5)
    assert [(r.target, r.concurrency) for r in rows] == [(BASELINE, 4), ("gymhall-short-style", 4)]
    for row in rows:
        assert row.result.errors == 0 and row.result.wrong_rewards == 0
        assert row.result.episodes > 0 and row.rss_bytes is not None and row.rss_bytes > 10 * 2**20
    assert rows[0].ratio == 1.0
    assert rows[1].ratio == pytest.approx(rows[1].result.episodes_per_s / rows[0].result.episodes_per_s)


def test_unknown_target_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown bench target"):
        bench_resources(targets=["nope"], concurrencies=[1])
