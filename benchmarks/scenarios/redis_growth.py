"""10. Redis memory per relayed message kept, and its TTL-driven plateau.

What a relayed message leaves in Redis once it has crossed (the real pipeline's keys:
``seen:`` its deduplication marker, ``idmap:`` source → copies, ``origin:`` copy →
source, ``delivered:`` the delivery marker; the per-chat order counters and cursors and
the per-link counters stay constant in number), written by the storage layer itself, in a
loop, without the rest of the pipeline: for each message `IngressStore.begin` (the seen
marker and the chat's position, as the adapters accept it; the marker then holds its final
value) and `DeliveryBook.finish` with `DeliveryBook.copies` (the id map, the origin, the
delivery marker, the counters and the order cursor, as the destination adapter's outbox
ends a post). Messages go round-robin over ``CHATS`` Telegram groups, each linked to one
Discord channel, under the `community` policy's 30-day retention.

Into a **private redis-server** (no persistence, started for this scenario and stopped
after it; nothing is written to the shared one): ``INFO memory`` ``used_memory`` before
and at 10^4, 10^5 and 10^6 messages (10^4 and 10^5 with --quick) gives bytes per message;
``MEMORY USAGE`` and ``TTL`` of 500 sampled keys per family give the breakdown. Nothing
expires during the run, so the plateau is computed: each family's bytes × its TTL ×
messages per day (the keys outlive nothing else: every one has a TTL).
"""

from __future__ import annotations

import asyncio
import random
import time

import redis.asyncio as aioredis

from core.models import ChatRef, EventKind, MessageRef, OutboundPost
from core.storage.deliveries import DeliveryBook
from core.storage.ingress import IngressStore
from core.storage.keys import DAY, Keys
from core.storage.outbox import OutboxStream

from . import Context
from .rediscost import private_redis

CHECKPOINTS = (10_000, 100_000, 1_000_000)
CHATS = 1_000
RETENTION_DAYS = 30  # the community policy's
BATCH = 400  # messages written concurrently
SAMPLE = 500
PREFIX = "tbbench:growth:"
FAMILIES = ("seen", "idmap", "origin", "delivered", "seq", "cursor", "stats")


def _message(n: int) -> tuple[str, OutboundPost]:
    chat = n % CHATS
    source = MessageRef("telegram", str(-1002000000000 - chat), str(1000 + n // CHATS))
    destination = ChatRef("discord", str(112233445566700000 + chat))
    post = OutboundPost(
        kind=EventKind.NEW,
        link_id=f"pair-{chat}",
        destination=destination,
        source=source,
        sender="Anna",
        community="Town",
        seq=n // CHATS + 1,
        retention_days=RETENTION_DAYS,
    )
    return f"{source.key}:new:0", post


async def _relay(ingress: IngressStore, book: DeliveryBook, n: int) -> None:
    dedup, post = _message(n)
    ttl = RETENTION_DAYS * DAY
    await ingress.begin(dedup, post.source.chat.key, "1", 7 * DAY, ttl)  # seen: as the stored marker, "1"
    copy_id = str(1300000000000000000 + n)
    await book.finish(post, None, book.copies(post, [copy_id]), delivered=True)


async def _used(redis) -> int:
    return int((await redis.info("memory"))["used_memory"])


async def _families(redis) -> dict:
    """Per key family: how many keys, their mean MEMORY USAGE and TTL (of a sample)."""
    out = {}
    for family in FAMILIES:
        names = []
        async for key in redis.scan_iter(
            match=f"{PREFIX}{family}:*" if family != "stats" else f"{PREFIX}stats", count=5000
        ):
            names.append(key)
        if not names:
            continue
        sample = random.Random(7).sample(names, min(SAMPLE, len(names)))
        sizes = [await redis.memory_usage(k, samples=0) or 0 for k in sample]
        ttls = [await redis.ttl(k) for k in sample]
        out[family] = {
            "keys": len(names),
            "mean_bytes": sum(sizes) / len(sizes),
            "mean_ttl_days": sum(max(t, 0) for t in ttls) / len(ttls) / DAY,
            "without_ttl": sum(1 for t in ttls if t < 0),
        }
    return out


async def run(ctx: Context) -> dict:
    checkpoints = CHECKPOINTS[:2] if ctx.quick else CHECKPOINTS
    keys = Keys(PREFIX)
    points = []
    async with private_redis() as url:
        redis = aioredis.Redis.from_url(url, decode_responses=True, max_connections=BATCH + 8)
        try:
            ingress = IngressStore(redis, keys)
            book = DeliveryBook(redis, keys, OutboxStream(redis, keys, "discord"), "discord")
            base = await _used(redis)
            done = 0
            started = time.perf_counter()
            for checkpoint in checkpoints:
                while done < checkpoint:
                    batch = range(done, min(checkpoint, done + BATCH))
                    await asyncio.gather(*(_relay(ingress, book, n) for n in batch))
                    done = batch[-1] + 1
                used = await _used(redis)
                points.append(
                    {
                        "messages": done,
                        "used_memory": used,
                        "added_bytes": used - base,
                        "bytes_per_message": (used - base) / done,
                        "seconds": time.perf_counter() - started,
                    }
                )
                ctx.say(
                    f"redis growth: {done:,} messages: +{(used - base) / 2**20:.1f} MiB, "
                    f"{(used - base) / done:.0f} B/message ({time.perf_counter() - started:.0f}s)"
                )
            families = await _families(redis)
            dbsize = await redis.dbsize()
        finally:
            await redis.aclose()
    per_message = points[-1]["bytes_per_message"]
    per_day_kept = sum(
        f["mean_bytes"] * f["mean_ttl_days"] * (f["keys"] / points[-1]["messages"])
        for name, f in families.items()
        if name in ("seen", "idmap", "origin", "delivered")
    )
    return {
        "setup": {
            "checkpoints": list(checkpoints),
            "chats": CHATS,
            "retention_days": RETENTION_DAYS,
            "server": "private redis-server, no persistence",
        },
        "points": points,
        "families": families,
        "keys_in_db": dbsize,
        "bytes_per_message": per_message,
        "mb_per_million": per_message * 1e6 / 2**20,
        # A steady rate of 1,000 relayed messages a day keeps this much once the oldest expire.
        "plateau_mb_per_1000_per_day": per_day_kept * 1000 / 2**20,
    }
