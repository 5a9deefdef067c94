"""The "🧵 name" line a thread's (or forum topic's) message starts with when it crosses
(bridge/discord/convert.py, bridge/telegram/convert.py). It goes through moderation and
translation with the text; a destination that puts the copy into the twin thread or topic
drops it again, and names a new twin after it (the moderated, translated name)."""

from __future__ import annotations

from dataclasses import replace

from . import formatting as fmt
from .models import OutboundPost

MARK = "🧵"
NAME_LIMIT = 100  # Discord's thread names; Telegram's topics take 128


def head_of(text: str) -> str:
    """The thread's name from the text's first line, "" when it has none."""
    first, _, _ = text.partition("\n")
    if not first.startswith(MARK):
        return ""
    return first[len(MARK) :].strip()[:NAME_LIMIT].strip()


def _cut(text: str, spans: fmt.Spans) -> tuple[str, fmt.Spans]:
    if not text.startswith(MARK):
        return text, spans
    first, newline, rest = text.partition("\n")
    if not newline:
        return text, spans  # the name alone: nothing else to show, keep it
    cut = len(first) + 1
    return rest, fmt.clip(spans, cut, len(text))


def without_head(post: OutboundPost) -> OutboundPost:
    """The post as shown inside its twin thread or topic: without the "🧵 name" line (of
    the text and of the original shown under a translation)."""
    text, formatting = _cut(post.text, post.formatting)
    original, original_formatting = _cut(post.original, post.original_formatting)
    return replace(post, text=text, formatting=formatting, original=original, original_formatting=original_formatting)
