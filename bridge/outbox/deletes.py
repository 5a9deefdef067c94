"""Deletes in batches: where the platform deletes many messages of a chat in one request
(Telegram's deleteMessages; a Discord webhook deletes its messages one by one), a lane
sends consecutive deletes (erasure queues one per message) together."""

from __future__ import annotations

import asyncio
import logging

from core.models import EventKind, OutboundPost

from ..adapter import DeliveryError
from .delivery import MAX_RATE_LIMITED, Delivery

log = logging.getLogger(__name__)

DELETE_BATCH = 100  # consecutive deletes of a lane taken together


def deletes_in_batches(delivery: Delivery) -> bool:
    """Whether the platform deletes many messages of a chat in one request."""
    return hasattr(delivery.sender, "delete_many")


async def deliver_deletes(delivery: Delivery, batch: list[tuple[object, OutboundPost]]) -> None:
    """Delete the copies of several posts in one destination with one request per
    ``DELETE_BATCH`` copies (an erasure queues one delete per message: 1,000 copies
    in a group are 10 requests, not 1,000 paced at the group's 20 per minute). Each
    post's bookkeeping is then what :meth:`Delivery.deliver` does for a delete. Whatever
    goes wrong with a batch (a copy too old to delete, the chat gone), its posts are
    delivered one by one instead, which handles each case as usual."""
    platform = delivery.platform
    found = []
    for entry_id, post in batch:
        copies = await delivery.copies_of(post)
        if copies:
            found.append((entry_id, post, copies))
            continue
        await delivery.stats.incr(f"{platform}.skipped.{post.kind.value}_without_copy")
        await delivery.finish(post, entry_id)
    ids = [copy_id for _, _, copies in found for copy_id in copies]
    chunks = [ids[i : i + DELETE_BATCH] for i in range(0, len(ids), DELETE_BATCH)]
    done = 0
    attempt = 0
    while done < len(chunks):
        first = found[0][1]
        await delivery.pace(first)
        try:
            await delivery.sender.delete_many(first.destination, chunks[done])
        except DeliveryError as exc:
            attempt += 1
            if exc.retry_after is not None and not exc.permanent and attempt <= MAX_RATE_LIMITED:
                await delivery.stats.incr(f"{platform}.delivery.rate_limited")
                await delivery.pause_destination(first, exc.retry_after, shared=exc.shared)
                await asyncio.sleep(exc.retry_after)
                continue
            log.info("a batch of deletes in %s failed (%s); deleting one by one", first.destination.key, exc.reason)
            await delivery.stats.incr(f"{platform}.delete_batch.fell_back")
            for entry_id, post, _ in found:
                await delivery.deliver(post, entry_id)
            return
        done += 1
    if chunks:
        await delivery.stats.incr(f"{platform}.delete_batch.requests", len(chunks))
    for entry_id, post, copies in found:
        forget = delivery.book.copies_gone(post, copies)
        await delivery.after_send(
            lambda post=post, entry_id=entry_id, forget=forget: delivery.finish(post, entry_id, forget, delivered=True)
        )


def take_deletes_after(queue: list, first: OutboundPost) -> list[tuple[object, OutboundPost]]:
    """The deletes waiting at the head of ``queue`` (a lane's posts without a position
    of ``first``'s source chat, as (entry id, post, time taken)), taken out to go with
    the delete ``first``: only consecutive ones, so nothing overtakes a post queued
    between them, and not the deletes of private notices (their copies are in another chat)
    nor of a member's message itself (/delete: rare, and a refusal is counted one by one)."""
    taken = []
    while queue and len(taken) < DELETE_BATCH - 1:
        _, post, _ = queue[0]
        if post.kind != EventKind.DELETE or post.private_to or post.itself or post.destination != first.destination:
            break
        entry_id, post, _ = queue.pop(0)
        taken.append((entry_id, post))
    return taken


def take_positioned_deletes_after(by_seq: dict, first: OutboundPost) -> list[tuple[object, OutboundPost]]:
    """The deletes held at the positions right after ``first``'s (``by_seq``: a lane's posts
    of ``first``'s source chat, position -> [(entry id, post, time taken)]), one per
    position and consecutive, taken out to go with the delete ``first``: a Discord bulk
    delete's events follow one another, and nothing was written between them."""
    taken = []
    seq = first.seq
    while len(taken) < DELETE_BATCH - 1:
        items = by_seq.get(seq + 1)
        if not items or len(items) != 1:
            break
        _, post, _ = items[0]
        if post.kind != EventKind.DELETE or post.private_to or post.itself or post.destination != first.destination:
            break
        entry_id, post, _ = items.pop()
        del by_seq[seq + 1]
        taken.append((entry_id, post))
        seq += 1
    return taken
