"""What a benchmarked process uses: resident memory now and at its peak, and CPU seconds."""

from __future__ import annotations

import threading
from collections.abc import Iterable

import psutil

__all__ = ["RssSampler", "cpu_s", "server_rss_bytes", "vm_hwm_bytes"]

_RSS_SAMPLE_INTERVAL_S = 0.02
_JOIN_WAIT_S = 5.0


def server_rss_bytes(pid: int) -> int:
    """Resident memory of process ``pid`` plus all its descendants, in bytes."""
    proc = psutil.Process(pid)
    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        try:
            total += child.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue  # a child that exited between listing and reading holds no memory
    return total


def vm_hwm_bytes(pid: int) -> int:
    """The kernel's record of a process's peak RSS (Linux `VmHWM`), or 0 where unavailable."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


class RssSampler:
    """Samples the RSS of some processes every 20 ms in a thread; `peak(pid)` adds the kernel's VmHWM."""

    def __init__(self, processes: Iterable[psutil.Process]) -> None:
        self._processes = list(processes)
        self._peaks = {p.pid: 0 for p in self._processes}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="gymhall-bench-rss", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(_RSS_SAMPLE_INTERVAL_S):
            for proc in self._processes:
                try:
                    rss = proc.memory_info().rss
                except psutil.Error:
                    continue  # exited: its last sample stands
                if rss > self._peaks[proc.pid]:
                    self._peaks[proc.pid] = rss

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(_JOIN_WAIT_S)

    def peak(self, pid: int) -> int:
        """The highest RSS of process `pid` seen by the samples or recorded by the kernel, in bytes."""
        return max(self._peaks.get(pid, 0), vm_hwm_bytes(pid))


def cpu_s(proc: psutil.Process) -> float:
    """User plus system CPU seconds of `proc` so far."""
    times = proc.cpu_times()
    return float(times.user + times.system)
