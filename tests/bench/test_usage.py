"""Process usage: RSS of a server and its children, peak RSS, CPU seconds."""

from __future__ import annotations

import os
import sys

import psutil
import pytest

from gymhall.bench.process import ServerProcess
from gymhall.bench.usage import RssSampler, cpu_s, server_rss_bytes, vm_hwm_bytes


@pytest.mark.slow
def test_server_rss_is_reported(baseline_server: ServerProcess) -> None:
    assert 5 * 2**20 < server_rss_bytes(baseline_server.pid) < 2**30


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM is Linux's")
def test_peak_rss_is_at_least_the_current_rss() -> None:
    me = psutil.Process()
    rss = me.memory_info().rss
    with RssSampler([me]) as sampler:
        pass
    assert vm_hwm_bytes(os.getpid()) >= rss > 0
    assert sampler.peak(me.pid) >= rss


def test_cpu_seconds_are_user_plus_system() -> None:
    me = psutil.Process()
    times = me.cpu_times()
    assert cpu_s(me) >= times.user + times.system > 0
