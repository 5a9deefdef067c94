"""Looking for a member's traces everywhere: every key of every Redis database and
every message the bridge shows on the stand-ins. Reusable by any test that has to
prove "nothing of X is left" (erasure, redaction, logs of a whole exchange).

A trace is any of the ``needles`` (platform id, username, display name, pseudonym,
text they wrote, …) found, case-insensitively, in a key's name or in its value,
whatever the type (string, hash, list, set, sorted set, stream), including the
base64 bodies of Celery/kombu messages waiting in a queue.
"""

from __future__ import annotations

import re

import base64
import binascii
import json
from urllib.parse import urlsplit, urlunsplit

import redis as redis_lib

DATABASES = range(16)


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _decoded_bodies(text: str) -> list[str]:
    """kombu keeps a task's arguments base64-encoded in the envelope's "body"."""
    found = []
    try:
        envelope = json.loads(text)
    except ValueError:
        return found
    stack = [envelope]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            body = item.get("body")
            if isinstance(body, str):
                try:
                    found.append(base64.b64decode(body, validate=True).decode("utf-8", errors="replace"))
                except (binascii.Error, ValueError):
                    pass
            stack += list(item.values())
        elif isinstance(item, list):
            stack += item
    return found


def _values(client, key: bytes) -> list[str]:
    kind = _text(client.type(key))
    if kind == "string":
        parts = [client.get(key)]
    elif kind == "hash":
        parts = [x for pair in client.hgetall(key).items() for x in pair]
    elif kind == "list":
        parts = client.lrange(key, 0, -1)
    elif kind == "set":
        parts = list(client.smembers(key))
    elif kind == "zset":
        parts = client.zrange(key, 0, -1)
    elif kind == "stream":
        parts = [x for _, fields in client.xrange(key) for pair in (fields or {}).items() for x in pair]
    else:
        parts = []
    texts = [_text(p) for p in parts if p is not None]
    # JSON inside JSON (an outbox entry, a Celery envelope) escapes non-ASCII: read it too.
    texts += [body for t in texts for body in _decoded_bodies(t)]
    texts += [_unescaped(t) for t in texts if "\\u" in t]
    return texts


def _unescaped(text: str) -> str:
    try:
        return text.encode("latin-1", errors="ignore").decode("unicode_escape", errors="ignore")
    except UnicodeDecodeError:
        return text


_TEST_PREFIX = re.compile(r"^tbtest:[0-9a-f]{10}:")


def redis_traces(redis_url: str, needles: list[str], prefix: str | None = None) -> list[str]:
    """ "db/key: needle" for every needle found in any key of databases 0..15 of the
    server at ``redis_url`` (whatever database the URL names). With ``prefix`` (the
    test's), keys under another test's prefix are not looked at: a test running beside
    it, or one killed before its clean-up, is not this test's trace."""
    lowered = [n.lower() for n in needles if n]
    found = []
    parts = urlsplit(redis_url)
    for db in DATABASES:
        client = redis_lib.Redis.from_url(urlunsplit(parts._replace(path=f"/{db}")))
        try:
            for key in client.scan_iter(count=1000):
                name = _text(key)
                if prefix is not None and _TEST_PREFIX.match(name) and not name.startswith(prefix):
                    continue
                haystack = "\n".join([name] + _values(client, key)).lower()
                found += [f"{db}/{name}: {n}" for n in lowered if n in haystack]
        finally:
            client.close()
    return found


def standin_traces(telegram, discord, needles: list[str]) -> list[str]:
    """Every needle found in what the bot (or its webhooks) shows now in any chat of the
    Telegram and Discord stand-ins: groups, channels and private chats."""
    lowered = [n.lower() for n in needles if n]
    found = []
    shown = [("telegram", m) for m in telegram.bot_messages()] + [("discord", m) for m in discord.bridge_messages()]
    for platform, message in shown:
        # A Telegram message carries the chat it is in; a private chat's object names its
        # member by definition (the platform's record of the chat, not something posted).
        content = {k: v for k, v in message.items() if k != "chat"}
        haystack = json.dumps(content, ensure_ascii=False).lower()
        chat = (message.get("chat") or {}).get("id") or message.get("channel_id")
        found += [
            f"{platform}:{chat}:{message.get('message_id') or message.get('id')}: {n}" for n in lowered if n in haystack
        ]
    return found
