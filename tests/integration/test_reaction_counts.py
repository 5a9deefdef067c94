"""The reaction counts' scripts against a real Redis (core/storage/reactions.py): a burst
schedules one refresh, counts never go below zero, a copy's absolute totals replace its
own counts only, a refresh that raced a reaction stays scheduled, and every key expires."""

from __future__ import annotations

import time

from core.models import ChatRef, MessageRef
from core.storage.reactions import Reactions

ORIGINAL = MessageRef("telegram", "-1001", "42")
DISCORD_COPY = ChatRef("discord", "112233445566778899")
MASAYA_COPY = ChatRef("telegram", "-1003")


async def test_a_burst_schedules_one_refresh_and_counts_stay_at_or_above_zero(aredis, keys):
    reactions = Reactions(aredis, keys)
    now = time.time()
    for i in range(10):
        await reactions.change(
            ORIGINAL, DISCORD_COPY, {"👍" if i < 7 else "❤️": 1}, absolute=False, retention_days=7, delay=3, now=now + i
        )
    due = await aredis.zrange(keys.reactions_due("telegram"), 0, -1, withscores=True)
    assert due == [(ORIGINAL.key, now + 3)]  # the first reaction's schedule stands
    # A removal of a reaction the bridge never saw counts nothing.
    assert not await reactions.change(ORIGINAL, DISCORD_COPY, {"🎉": -1}, absolute=False, retention_days=7, delay=3)
    counts = await reactions.counts(ORIGINAL)
    assert counts.by_chat == {DISCORD_COPY.key: {"👍": 7, "❤️": 3}} and counts.version == "10"
    assert 0 < await aredis.ttl(keys.reactions(ORIGINAL.key)) <= 7 * 86400
    assert 0 < await aredis.ttl(keys.reactions_due("telegram")) <= 86400

    # Nothing is due before its time; then it is claimed once (leased).
    assert await reactions.claim_due("telegram", 60, now=now + 1) == []
    assert await reactions.claim_due("telegram", 60, now=now + 4) == [ORIGINAL]
    assert await reactions.claim_due("telegram", 60, now=now + 5) == []


async def test_absolute_counts_replace_one_copys_counts_and_a_raced_refresh_stays_scheduled(aredis, keys):
    reactions = Reactions(aredis, keys)
    await reactions.change(ORIGINAL, DISCORD_COPY, {"👍": 1}, absolute=False, retention_days=7, delay=0)
    await reactions.change(ORIGINAL, MASAYA_COPY, {"🔥": 4, "👍": 2}, absolute=True, retention_days=7, delay=0)
    await reactions.change(ORIGINAL, MASAYA_COPY, {"🔥": 5}, absolute=True, retention_days=7, delay=0)
    [claimed] = await reactions.claim_due("telegram", 60)
    counts = await reactions.counts(claimed)
    assert counts.by_chat == {DISCORD_COPY.key: {"👍": 1}, MASAYA_COPY.key: {"🔥": 5}}
    assert counts.totals() == {"👍": 1, "🔥": 5}
    # A reaction arrives while the refresh shows ``counts``: the refresh is not done.
    await reactions.change(ORIGINAL, DISCORD_COPY, {"👍": -1}, absolute=False, retention_days=7, delay=3)
    assert not await reactions.done(ORIGINAL, counts.version, next_due_in=3)
    [again] = await reactions.claim_due("telegram", 60, now=time.time() + 4)
    latest = await reactions.counts(again)
    assert latest.by_chat == {MASAYA_COPY.key: {"🔥": 5}}
    assert await reactions.done(ORIGINAL, latest.version, next_due_in=3)
    assert await aredis.zcard(keys.reactions_due("telegram")) == 0
