"""The per-platform adapter lease, against a real Redis."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
import uuid

import pytest

from bridge.lease import AdapterLease, LeaseLost
from core.storage.keys import Keys

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


async def test_one_poller_per_bot_token_across_deployments_that_share_no_prefix(aredis, keys):
    """Two deployments on one Redis with different prefixes but the same bot token: one runs
    the adapter, the other stands by, and takes over when the first lets go; another token
    is a bot of its own. The token is stored nowhere, only a hash of it, with a TTL."""
    token = f"123456:{uuid.uuid4().hex}"
    other_keys = Keys(f"{keys.prefix}other:")
    stop = asyncio.Event()
    first = AdapterLease(aredis, keys, "telegram", "host-a:1:x", ttl=5, token=token)
    second = AdapterLease(aredis, other_keys, "telegram", "host-b:2:y", ttl=5, token=token)
    third = AdapterLease(aredis, other_keys, "discord", "host-b:2:y", ttl=5, token=f"other-{token}")
    try:
        assert await first.acquire(stop)
        assert await asyncio.wait_for(third.acquire(stop), 5)  # another bot: not held up
        waiting = asyncio.ensure_future(second.acquire(stop))
        token_key = Keys.adapter_token_lease("telegram", token)
        assert await aredis.get(token_key) == "host-a:1:x"
        assert 0 < await aredis.pttl(token_key) <= 5000  # never a key without expiry
        assert token not in token_key and token.split(":")[1] not in token_key
        assert not waiting.done()
        assert not await aredis.exists(other_keys.adapter_lease("telegram"))  # nothing taken half-way
        await first.release()
        assert await asyncio.wait_for(waiting, 5)
        assert await aredis.get(token_key) == "host-b:2:y"
        assert await aredis.get(other_keys.adapter_lease("telegram")) == "host-b:2:y"
        assert not await aredis.exists(keys.adapter_lease("telegram"))
    finally:
        stop.set()
        for lease in (first, second, third):
            await lease.release()


async def test_the_token_lease_is_renewed_while_alive_and_taken_over_when_the_holder_dies(aredis, keys):
    """A live holder keeps it past its TTL; when it stops renewing (its process died on
    another host), the stand-by of another deployment takes over within TTL + a poll."""
    token = f"bot-{uuid.uuid4().hex}"
    stop = asyncio.Event()
    first = AdapterLease(aredis, keys, "discord", "host-a:1:x", ttl=1, token=token)
    second = AdapterLease(aredis, Keys(f"{keys.prefix}b:"), "discord", "host-b:2:y", ttl=1, token=token)
    assert await first.acquire(stop)
    keeping = asyncio.ensure_future(first.keep())
    waiting = asyncio.ensure_future(second.acquire(stop))
    try:
        done, _ = await asyncio.wait({waiting}, timeout=2.5)  # 2.5 TTLs: renewed, still first's
        assert not done
        keeping.cancel()  # the holder dies
        died = time.monotonic()
        assert await asyncio.wait_for(waiting, 5)
        assert time.monotonic() - died <= 1 + 1 + 0.5  # TTL + the stand-by's poll + slack
    finally:
        stop.set()
        keeping.cancel()
        await second.release()
