"""The one small interface every platform adapter implements.

An adapter turns its platform's events into :class:`~core.models.PlatformEvent`
and hands them to :class:`~bridge.ingress.Ingress`; it also implements
:class:`Sender`, which :class:`~bridge.outbox.OutboxConsumer` calls to post what
the workers routed to it.
"""

from __future__ import annotations

from typing import Protocol
from collections.abc import Awaitable, Callable, Sequence

from core.intents import DeliveryIntent
from core.models import OutboundPost

# Called by a sender with what each message of a post will show (sender name and
# content, as :meth:`Sender.find_sent` reads them back), right before its first request.
BeforePost = Callable[[Sequence[str]], Awaitable[None]]


class DeliveryError(Exception):
    """A post could not be delivered."""

    def __init__(self, reason: str, *, retry_after: float | None = None, permanent: bool = False, shared: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.permanent = permanent
        # A 429 of a limit every destination shares (Discord's global one): all wait.
        self.shared = shared


class Sender(Protocol):
    platform: str

    async def send(
        self, post: OutboundPost, reply_to: str | None, *, before_post: BeforePost | None = None
    ) -> list[str]:
        """Post a new message; return the destination message ids (several if the
        text had to be split). ``reply_to`` is the destination message to reply to.
        Return as soon as the platform answered (the outbox records the copy then).
        ``before_post`` is awaited once, before the first request (the delivery intent)."""

    async def find_sent(self, intent: DeliveryIntent, post: OutboundPost | None = None) -> list[str | None] | None:
        """After a crash or an error that may have posted: the ids of the messages the
        intent describes that are on the platform (None for a part not found), or None
        when the platform does not let the bot look (Telegram: no history for bots).
        ``post``: the post the intent was recorded for, when known (where it went, e.g. a
        thread)."""

    async def edit(self, post: OutboundPost, message_ids: list[str]) -> list[str]:
        """Show the new text in the copies ``message_ids``; return the ids now showing it."""

    async def delete(self, post: OutboundPost, message_ids: list[str]) -> None:
        """Remove the copies ``message_ids``."""

    async def notify(self, post: OutboundPost) -> list[str]:
        """Post a notice of the bridge's own: to ``post.private_to`` privately when
        set (else, or when the platform refuses, ``post.fallback`` in the
        destination chat as a reply to ``post.source``); with ``post.buttons``."""


class Adapter(Protocol):
    """A platform's connection. The runner builds one per (re)start from the
    platform's entry in :mod:`bridge.platforms`, as
    ``Adapter(settings=..., config=..., redis=..., keys=..., ingress=..., media=...)``."""

    platform: str

    async def start(self) -> None:
        """Connect, start receiving events and sending the outbox; return when connected."""

    async def stop(self) -> None:
        """Stop receiving, finish the post in hand, disconnect."""

    async def wait_closed(self) -> None:
        """Return when the adapter stopped (by request or because its connection died)."""


class AdapterStartError(Exception):
    """The adapter cannot start; the message says why in words for a deployer
    (e.g. which token the platform rejected). Never contains a token.

    ``retryable``: the cause may pass (platform unreachable), so the runner
    tries again with backoff; otherwise (token rejected) it gives up.
    """

    def __init__(self, message: str, *, retryable: bool = False):
        super().__init__(message)
        self.retryable = retryable
