"""route → moderate → translate → deliver, as plain functions.

Routing decides which chats see an event; the policy decides how the sender
is shown. Moderation and translation stages join here in later steps, between
routing and delivery (moderation always before translation).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from bridge.keys import DAY, Keys
from bridge.links import LinksConfig
from bridge.models import ChatRef, OutboundPost, PlatformEvent

from .privacy import shown_sender


@dataclass(frozen=True)
class Context:
    """What the pipeline needs besides the event: wired once per worker."""

    config: LinksConfig
    pseudonym_key: str | None = None


def route(event: PlatformEvent, config: LinksConfig) -> list[tuple[str, ChatRef]]:
    """(link id, destination chat) for every chat that should see ``event``.

    An unknown chat routes nowhere; a one-way link carries only its first
    community's messages; a chat never receives its own messages back, and
    receives each message once even when several links join it to the source.
    """
    targets: list[tuple[str, ChatRef]] = []
    reached: set[ChatRef] = set()
    for membership in config.memberships(event.source.chat):
        link = membership.link
        if membership.community.id not in link.speakers():
            continue
        for community_id in link.communities:
            for chat in config.communities[community_id].chats:
                # Several links may reach the same chat: it sees the message once.
                if chat != event.source.chat and chat not in reached:
                    reached.add(chat)
                    targets.append((link.id, chat))
    return targets


def plan(event: PlatformEvent, ctx: Context) -> list[OutboundPost]:
    """The posts ``event`` turns into, one per destination chat."""
    posts = []
    source_community = ctx.config.community_of(event.source.chat)
    if source_community is None:
        return []
    for link_id, destination in route(event, ctx.config):
        link = ctx.config.link(link_id)
        assert link is not None
        policy = link.policy
        posts.append(
            OutboundPost(
                kind=event.kind,
                link_id=link_id,
                destination=destination,
                source=event.source,
                sender=shown_sender(event.author, event.source.platform, policy.sender, link_id, ctx.pseudonym_key),
                community=source_community.name,
                text=event.text,
                reply_to=event.reply_to,
                attachments=event.attachments,
                seq=event.seq,
                retention_days=policy.retention_days,
                allow_mentions=policy.mentions == "allow",
            )
        )
    return posts


_PUBLISH = """
-- Remove the ingress entry and publish the posts, atomically: only the first
-- run of an event publishes (a task run again after a worker died does not).
if ARGV[1] ~= '' and redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then return -1 end
redis.call('DEL', KEYS[2])  -- the in-flight marker: the lanes may stop waiting for it
for i = 3, #KEYS do
  redis.call('XADD', KEYS[i], '*', 'post', ARGV[2 * i - 4])
  redis.call('EXPIRE', KEYS[i], ARGV[2 * i - 3])
end
return #KEYS - 2
"""


def publish(redis, keys: Keys, event: PlatformEvent, posts: list[OutboundPost],
            ingress_id: str | None = None) -> bool:
    """Append each post to its destination platform's outbox and retire the
    ingress entry, atomically. False when this event was already published."""
    stream_keys = [keys.ingress(), keys.in_flight(event.source.chat.key, event.seq)]
    args = [ingress_id or ""]
    for post in posts:
        stream_keys.append(keys.outbox(post.destination.platform))
        args += [json.dumps(post.to_dict(), ensure_ascii=False), post.retention_days * DAY]
    return redis.eval(_PUBLISH, len(stream_keys), *stream_keys, *args) != -1
