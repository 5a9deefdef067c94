"""core/storage/discord.py DiscordState.marked: which linked channels a new gateway
session has anything to catch up or reconcile in, read in pipelined chunks (a
deployment of 10,000 channels read them one by one at start-up: seconds)."""

from __future__ import annotations

from core.storage.discord import DiscordState


async def test_only_channels_with_a_mark_are_named(aredis, keys):
    state = DiscordState(aredis, keys)
    channels = [str(112233445566700000 + i) for i in range(2_500)]
    await state.note_seen(channels[7], "1300000000000000007", ttl=600)
    await aredis.set(keys.discord_last_seen(channels[1_999]), "1300000000000001999", ex=600)
    await aredis.zadd(keys.discord_accepted(channels[2_400]), {"1300000000000002400": 1})
    await aredis.expire(keys.discord_accepted(channels[2_400]), 600)
    assert await state.marked(channels, chunk=1000) == {channels[7], channels[1_999], channels[2_400]}
    assert await state.marked([]) == set()
