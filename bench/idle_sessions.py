"""Memory held per live idle session, and whether the reaper frees it.

Seeds N sessions of the short-style counter in-process (the whole HTTP path over an ASGI
transport), measures traced memory before and after, then lets the leases run out and reaps.
Prints bytes per session: the target is at most 4 KB of framework overhead each.

    python bench/idle_sessions.py [N]
"""

from __future__ import annotations

import asyncio
import gc
import sys
import time
import tracemalloc

import httpx

from gymhall.bench.counters import short_style_app

ROW = b'{"responses_create_params": {"input": "count"}, "initial_count": 0}'


async def main(n: int) -> None:
    app = short_style_app()
    app.store.ttl_seconds = 2.0
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://bench") as client:
        await client.post("/seed_session", content=ROW)  # warm caches before measuring
        client.cookies.clear()
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(n):
            response = await client.post("/seed_session", content=ROW)
            assert response.status_code == 200
            client.cookies.clear()
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
        live = len(app.store)
        time.sleep(2.1)
        freed = app.store.reap()
        await app.store.flush_closed()
        gc.collect()
        after_reap = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
    print(f"live sessions:            {live}")
    print(f"memory held:              {held / 1024:.0f} KiB ({held / n:.0f} bytes per session; target <= 4096)")
    print(f"reaped after expiry:      {freed}")
    print(f"memory left after reaping: {after_reap / 1024:.0f} KiB")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000))
