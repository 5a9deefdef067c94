"""The per-platform adapter lease, against a real Redis."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys

import pytest

from bridge.lease import AdapterLease, LeaseLost

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


async def test_one_holder_the_other_stands_by_until_released(aredis, keys):
    stop = asyncio.Event()
    first = AdapterLease(aredis, keys, "telegram", "host-a:1:x", ttl=2)
    second = AdapterLease(aredis, keys, "telegram", "host-b:2:y", ttl=2)
    assert await first.acquire(stop)
    waiting = asyncio.ensure_future(second.acquire(stop))
    await asyncio.sleep(0.5)
    assert not waiting.done()
    assert await aredis.pttl(keys.adapter_lease("telegram")) > 0  # never a key without expiry
    await first.release()
    assert await asyncio.wait_for(waiting, 5)
    assert await aredis.get(keys.adapter_lease("telegram")) == "host-b:2:y"


async def test_a_holder_that_stops_renewing_is_taken_over_and_learns_it(aredis, keys):
    stop = asyncio.Event()
    first = AdapterLease(aredis, keys, "discord", "host-a:1:x", ttl=1)
    second = AdapterLease(aredis, keys, "discord", "host-b:2:y", ttl=1)
    assert await first.acquire(stop)
    assert await asyncio.wait_for(second.acquire(stop), 5)  # first never renewed: expired
    with pytest.raises(LeaseLost):
        await asyncio.wait_for(first.keep(), 5)


async def test_a_dead_process_of_this_host_is_not_waited_for(aredis, keys):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    dead = f"{socket.gethostname()}:{proc.pid}:zz"
    await aredis.set(keys.adapter_lease("telegram"), dead, px=60_000)
    lease = AdapterLease(aredis, keys, "telegram", f"{socket.gethostname()}:1:me", ttl=60)
    assert await asyncio.wait_for(lease.acquire(asyncio.Event()), 5)
