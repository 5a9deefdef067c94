"""Deletes and edits made in a linked Discord channel while the adapter was away.

A resumed gateway session (RESUMED) gets the events it missed replayed by Discord; a new
one (READY: the adapter restarted, or a session too old to resume) gets none, and the
channel's history shows messages only as they are now: a deleted one is missing, an
edited one carries a later ``edited_timestamp``. So a new session reads the newest
messages of each linked channel (at most ``HISTORY_LIMIT``, newest first, one request per
``PAGE`` through the shared limiter) and compares them with the channel's last accepted
messages (``DiscordState.TRACKED``, core/storage/discord.py). The cog turns what differs
into the same events as the live listeners (a DELETE, an EDIT) and hands them to the
ingress, whose dedup keys make them cross once with the live ones: an edit already
relayed (same revision, same text) or a delete already seen is dropped there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import discord

HISTORY_LIMIT = 300  # messages read per channel when a new session starts
PAGE = 100  # Discord's largest page of history


def compare(accepted: list[int], seen: list[int], edited: set[int], complete: bool) -> tuple[list[int], list[int]]:
    """(deleted, edited) among the ``accepted`` message ids, given the ids ``seen`` in the
    history just read (``edited``: those of them edited since written). ``complete``: the
    read went down past the oldest accepted id (or to the channel's first message);
    otherwise only what it covered is judged, so an accepted message older than the
    oldest seen is never taken for deleted."""
    if not accepted or (not complete and not seen):
        return [], []
    present = set(seen)
    floor = min(accepted) if complete else min(seen)
    deleted = [i for i in accepted if i >= floor and i not in present]
    changed = [i for i in accepted if i in present and i in edited]
    return deleted, changed


async def newest_messages(
    channel: discord.abc.Messageable, oldest: int, book: Callable[[], Awaitable[None]]
) -> tuple[list[discord.Message], bool]:
    """The channel's newest messages down to ``oldest`` (at most HISTORY_LIMIT), newest
    first, and whether the read reached ``oldest`` (or the channel's start). ``book``
    waits for the shared limiter's turn before each page."""
    found: list[discord.Message] = []
    before: discord.abc.Snowflake | None = None
    while len(found) < HISTORY_LIMIT:
        await book()
        page = [m async for m in _page(channel, before)]
        for message in page:
            if message.id < oldest:
                return found, True
            found.append(message)
        if len(page) < PAGE:
            return found, True  # the channel's first message
        before = discord.Object(id=page[-1].id)
    return found, False


def _page(channel: discord.abc.Messageable, before: discord.abc.Snowflake | None) -> AsyncIterator[discord.Message]:
    return channel.history(limit=PAGE, before=before)
